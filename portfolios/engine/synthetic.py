"""Seeded synthetic intraday market data and order flow, calibrated on real daily prices.

Pure numpy: every function takes an explicit ``numpy.random.Generator`` and the same seed
gives the same output, bit for bit. Nothing here knows about Django or the database; the demo
loader (``portfolios.demo``) turns the results into ingestion rows.

Conventions (docs/demo-data.md):
- Timestamps are integers: microseconds since the Unix epoch, UTC.
- Daily volatility is the standard deviation of daily log returns (not annualised).
- Prices are per share in the instrument's currency; quotes and limits sit on the tick grid.
- Quantities are whole shares. Order sides are ``"buy"``/``"sell"``.
- An order's events follow the shared model: ``new`` first; ``replace`` carries the new total
  quantity and limit; ``partial_fill``/``fill`` carry the filled amount and price; ``fill``,
  ``cancel`` and ``reject`` are terminal. ``cancel`` carries the quantity left unfilled.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# December is winter time in New York: the regular session 09:30–16:00 ET is 14:30–21:00 UTC.
SESSION_OPEN_UTC = time(14, 30)
SESSION_CLOSE_UTC = time(21, 0)

# Spread calibration: target quoted spread in bps per 1% of daily volatility, within bounds.
# A large cap moving 1.5%/day targets about 2 bps and a 4%/day name about 5 bps; rounding bid
# and ask outward onto the tick grid adds up to a tick, so a $30 stock is never under ~3 bps
# (one cent). That is the order of magnitude of US consolidated spreads for such names.
SPREAD_BPS_PER_VOL_PCT = 1.2
SPREAD_BPS_MIN = 1.0
SPREAD_BPS_MAX = 25.0

# A marketable order takes at most this many price levels per quote update (its impact).
SWEEP_LEVELS = 5

TERMINAL_EVENTS = frozenset({"fill", "cancel", "reject"})
FILL_EVENTS = frozenset({"partial_fill", "fill"})


# ---------------------------------------------------------------------------- seeding and time


def stream_rng(seed: int, *parts: object) -> np.random.Generator:
    """An independent generator per purpose, e.g. ``stream_rng(seed, "quotes", "AAPL", day)``.

    Streams are keyed by names, not drawn one after the other, so adding an instrument or a
    day never changes what is generated for the others (a re-run with other options finds
    the same natural keys). CRC-32 is a stable hash across processes, unlike ``hash()``.
    """
    return np.random.default_rng([seed, *(zlib.crc32(str(p).encode()) for p in parts)])


def iso_utc(ts_us: IntArray | list[int]) -> list[str]:
    """µs since the epoch -> ISO 8601 UTC strings with microseconds and a ``Z``."""
    stamps = np.asarray(ts_us, dtype=np.int64).astype("datetime64[us]")
    return [s + "Z" for s in np.datetime_as_string(stamps, unit="us").tolist()]


# ---------------------------------------------------------------------------- calibration


def realised_volatility(closes: FloatArray, window: int = 60) -> float:
    """Daily volatility: std (ddof=1) of the last ``window`` daily log returns of ``closes``.

    Only prices up to the day before the simulated day should be passed, so the calibration
    never looks ahead.
    """
    prices = np.asarray(closes, dtype=np.float64)[-(window + 1) :]
    if prices.size < 3:
        raise ValueError("need at least three prices to estimate volatility")
    returns = np.diff(np.log(prices))
    return float(np.std(returns, ddof=1))


def calibrated_spread_bps(daily_vol: float) -> float:
    """Quoted spread (bps of mid) for a name with this daily volatility; wider when more volatile."""
    return float(np.clip(SPREAD_BPS_PER_VOL_PCT * 100.0 * daily_vol, SPREAD_BPS_MIN, SPREAD_BPS_MAX))


def session_bounds_us(day: date) -> tuple[int, int]:
    """Epoch µs of the regular US session open and close (UTC, winter time) on ``day``."""
    start = datetime.combine(day, SESSION_OPEN_UTC, tzinfo=UTC)
    end = datetime.combine(day, SESSION_CLOSE_UTC, tzinfo=UTC)
    return int(start.timestamp()) * 1_000_000, int(end.timestamp()) * 1_000_000


def black_scholes_price(*, spot: float, strike: float, years: float, vol: float, rate: float, right: str) -> float:
    """Black–Scholes value of a European option per unit of underlying (no dividends)."""
    if years <= 0 or vol <= 0:
        return max(0.0, spot - strike) if right == "call" else max(0.0, strike - spot)
    sd = vol * math.sqrt(years)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * years) / sd
    d2 = d1 - sd

    def cdf(x: float) -> float:
        return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))

    discount = math.exp(-rate * years)
    if right == "call":
        return spot * cdf(d1) - strike * discount * cdf(d2)
    if right == "put":
        return strike * discount * cdf(-d2) - spot * cdf(-d1)
    raise ValueError(f"unknown option right {right!r}")


# ---------------------------------------------------------------------------- prices


def session_times(rng: np.random.Generator, open_us: int, close_us: int, n: int) -> IntArray:
    """``n`` distinct sorted µs timestamps strictly inside (open_us, close_us)."""
    span = close_us - open_us - 1
    if n > span:
        raise ValueError("more events than microseconds in the session")
    picks = rng.choice(span, size=n, replace=False).astype(np.int64)
    return np.sort(picks) + open_us + 1


def brownian_bridge(
    rng: np.random.Generator,
    *,
    start: float,
    end: float,
    t: FloatArray,
    sigma: float,
    jump_at: float | None = None,
    jump_share: float = 0.6,
) -> FloatArray:
    """Prices on the day fractions ``t`` (0 = open, 1 = close) moving from ``start`` to ``end``.

    The log price is a Brownian bridge with volatility ``sigma`` per day: the path's
    quadratic variation over the day is about sigma², and it hits ``start`` and ``end``
    exactly. With ``jump_at`` a share ``jump_share`` of the day's move happens at once at that
    fraction of the day (news), the rest is spread evenly.
    """
    t = np.asarray(t, dtype=np.float64)
    if t[0] != 0.0 or t[-1] != 1.0 or np.any(np.diff(t) <= 0):
        raise ValueError("t must increase strictly from 0 to 1")
    steps = rng.standard_normal(t.size - 1) * np.sqrt(np.diff(t))
    walk = np.concatenate(([0.0], np.cumsum(steps)))
    bridge = walk - t * walk[-1]
    drift = t
    if jump_at is not None:
        drift = (1.0 - jump_share) * t + jump_share * (t >= jump_at)
    log_path = math.log(start) + (math.log(end) - math.log(start)) * drift + sigma * bridge
    path: FloatArray = np.exp(log_path)
    path[0], path[-1] = start, end
    return path


@dataclass(frozen=True)
class QuotePath:
    """One instrument-day of top-of-book quotes. ``mid`` is the unrounded bridge value."""

    ts_us: IntArray
    mid: FloatArray
    bid: FloatArray
    ask: FloatArray
    bid_size: IntArray
    ask_size: IntArray

    def at(self, ts_us: int) -> int:
        """Index of the quote in force at ``ts_us`` (the first one before the session's first quote)."""
        return max(0, int(np.searchsorted(self.ts_us, ts_us, side="right")) - 1)


def quote_day(
    rng: np.random.Generator,
    *,
    prev_close: float,
    close: float,
    daily_vol: float,
    open_us: int,
    close_us: int,
    n_quotes: int,
    tick: float = 0.01,
    lot: int = 100,
    jump_at: float | None = None,
) -> QuotePath:
    """Quotes whose mid runs from ``prev_close`` at the open to ``close`` at the close.

    The first quote is at the open, the last at the close; the others at random distinct µs.
    Bid and ask are the mid ∓ half the calibrated spread (±30% noise) pushed outward onto the
    tick grid, so bid ≤ mid ≤ ask and the spread is at least one tick. Sizes are whole lots.
    """
    if n_quotes < 2:
        raise ValueError("a quote day needs at least the opening and closing quote")
    ts = np.concatenate(([open_us], session_times(rng, open_us, close_us, n_quotes - 2), [close_us])).astype(np.int64)
    frac = (ts - open_us) / (close_us - open_us)
    mid = brownian_bridge(rng, start=prev_close, end=close, t=frac, sigma=daily_vol, jump_at=jump_at)
    half = mid * calibrated_spread_bps(daily_vol) / 2e4 * rng.uniform(0.7, 1.3, n_quotes)
    # The small epsilon keeps a mid already on the grid from being floored a tick too far.
    bid_ticks = np.floor((mid - half) / tick + 1e-9)
    ask_ticks = np.ceil((mid + half) / tick - 1e-9)
    bid_ticks = np.maximum(bid_ticks, 1.0)
    ask_ticks = np.maximum(ask_ticks, bid_ticks + 1.0)
    bid = np.round(bid_ticks * tick, 8)
    ask = np.round(ask_ticks * tick, 8)
    bid_size = (lot * rng.geometric(0.25, n_quotes)).astype(np.int64)
    ask_size = (lot * rng.geometric(0.25, n_quotes)).astype(np.int64)
    return QuotePath(ts_us=ts, mid=mid, bid=bid, ask=ask, bid_size=bid_size, ask_size=ask_size)


@dataclass(frozen=True)
class TapePath:
    """One instrument-day of prints on the public tape."""

    ts_us: IntArray
    price: FloatArray
    quantity: IntArray


def tape_day(rng: np.random.Generator, quotes: QuotePath, *, n_prints: int, lot: int = 100) -> TapePath:
    """Prints around the prevailing quote: 45% at the ask (buyer-initiated), 45% at the bid,
    10% at the midpoint (rounded to half a cent). Sizes are log-normal around two lots, with
    odd lots, as on a real tape."""
    open_us, close_us = int(quotes.ts_us[0]), int(quotes.ts_us[-1])
    ts = session_times(rng, open_us, close_us, n_prints)
    idx = np.searchsorted(quotes.ts_us, ts, side="right") - 1
    bid, ask = quotes.bid[idx], quotes.ask[idx]
    u = rng.uniform(size=n_prints)
    price = np.where(u < 0.45, ask, np.where(u < 0.9, bid, np.round((bid + ask) / 2.0, 3)))
    quantity = np.maximum(1, np.round(rng.lognormal(math.log(2 * lot), 1.0, n_prints))).astype(np.int64)
    return TapePath(ts_us=ts, price=price, quantity=quantity)


# ---------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class SimEvent:
    """One step of an order's life (see the module docstring for what price/quantity mean)."""

    event_type: str
    ts_us: int
    price: float | None = None
    quantity: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class SimOrder:
    """An order with its event history. Only orders with ``executes`` have executions (trades):
    a parent's fill events mirror its children's fills so its history reads on its own."""

    order_id: str
    side: str
    order_type: str
    limit_price: float | None
    quantity: int
    arrival_us: int
    venue: str = ""
    time_in_force: str = "day"
    parent_id: str | None = None
    executes: bool = True
    events: tuple[SimEvent, ...] = field(default_factory=tuple)

    @property
    def filled_quantity(self) -> int:
        return sum(e.quantity or 0 for e in self.events if e.event_type in FILL_EVENTS)


Fill = tuple[int, float, int]  # (ts_us, price, quantity)


def _execute(
    rng: np.random.Generator,
    quotes: QuotePath,
    tape: TapePath,
    *,
    side: str,
    limit: float | None,
    quantity: int,
    start_us: int,
    end_us: int,
    tick: float = 0.01,
    lot: int = 100,
) -> list[Fill]:
    """Fills of an order working in [start_us, end_us).

    While it is marketable the order sweeps the book at the quote in force: the touch shows
    its displayed size, each level one tick further a random number of lots; it takes at most
    ``SWEEP_LEVELS`` levels per quote (impact) and waits for the next quote for more. A limit
    order stops at its limit and then rests: it is filled at its limit, print by print, by
    prints on the tape at or through it (queue position is ignored).
    """
    buy = side == "buy"
    step = tick if buy else -tick
    fills: list[Fill] = []
    remaining = quantity
    last = start_us
    arrived = start_us + int(rng.integers(200, 2_000))  # gateway-to-venue latency
    t = arrived
    i = quotes.at(t)
    blocked = False
    while remaining > 0 and not blocked and t < end_us and i < quotes.ts_us.size:
        touch = float(quotes.ask[i] if buy else quotes.bid[i])
        for level in range(SWEEP_LEVELS):
            price = round(touch + level * step, 8)
            ts = max(t, last + 1)
            if ts >= end_us or price <= 0 or (limit is not None and (price > limit if buy else price < limit)):
                blocked = True
                break
            shown = (
                int(quotes.ask_size[i] if buy else quotes.bid_size[i]) if level == 0 else lot * int(rng.geometric(0.25))
            )
            take = min(remaining, shown)
            last = ts
            fills.append((last, price, take))
            remaining -= take
            if remaining == 0:
                break
        i += 1
        if i < quotes.ts_us.size:
            t = max(int(quotes.ts_us[i]) + int(rng.integers(50, 500)), last + 1)
    if remaining > 0 and limit is not None:
        lo = int(np.searchsorted(tape.ts_us, max(last, arrived), side="right"))
        hi = int(np.searchsorted(tape.ts_us, end_us, side="left"))
        prices = tape.price[lo:hi]
        through = np.flatnonzero(prices <= limit if buy else prices >= limit)
        for j in through + lo:
            ts = max(int(tape.ts_us[j]) + int(rng.integers(1, 300)), last + 1)
            if ts >= end_us:
                break
            take = min(remaining, int(tape.quantity[j]))
            fills.append((ts, limit, take))
            last = ts
            remaining -= take
            if remaining == 0:
                break
    return fills


def _fill_events(fills: list[Fill], filled_before: int, quantity: int) -> list[SimEvent]:
    events = []
    filled = filled_before
    for ts, price, qty in fills:
        filled += qty
        kind = "fill" if filled == quantity else "partial_fill"
        events.append(SimEvent(kind, ts, price, qty))
    return events


def simulate_order(
    rng: np.random.Generator,
    quotes: QuotePath,
    tape: TapePath,
    *,
    order_id: str,
    side: str,
    quantity: int,
    arrival_us: int,
    end_us: int,
    limit_price: float | None = None,
    venue: str = "",
    parent_id: str | None = None,
    reject_reason: str | None = None,
    replace_at_us: int | None = None,
    cancel_reason: str = "expired at end of day",
) -> SimOrder:
    """One order from arrival to a terminal state or ``end_us`` (then cancelled).

    ``limit_price`` None makes a market order. ``reject_reason`` makes the venue refuse it.
    ``replace_at_us`` re-prices a still-working limit order to the far touch (it chases the
    market), keeping its total quantity.
    """
    order_type = "market" if limit_price is None else "limit"
    events = [SimEvent("new", arrival_us, limit_price, quantity)]
    order = SimOrder(order_id, side, order_type, limit_price, quantity, arrival_us, venue, parent_id=parent_id)
    if reject_reason is not None:
        events.append(SimEvent("reject", arrival_us + int(rng.integers(100, 900)), reason=reject_reason))
        return _with_events(order, events)
    will_replace = replace_at_us is not None and limit_price is not None and arrival_us < replace_at_us < end_us
    first_end = replace_at_us if will_replace and replace_at_us is not None else end_us
    fills = _execute(
        rng, quotes, tape, side=side, limit=limit_price, quantity=quantity, start_us=arrival_us, end_us=first_end
    )
    events += _fill_events(fills, 0, quantity)
    filled = sum(q for _, _, q in fills)
    last = events[-1].ts_us
    if will_replace and filled < quantity and replace_at_us is not None:
        i = quotes.at(replace_at_us)
        new_limit = float(quotes.ask[i] if side == "buy" else quotes.bid[i])
        ts = max(replace_at_us, last + 1)
        events.append(SimEvent("replace", ts, new_limit, quantity, reason="re-priced to the far touch"))
        more = _execute(
            rng, quotes, tape, side=side, limit=new_limit, quantity=quantity - filled, start_us=ts, end_us=end_us
        )
        events += _fill_events(more, filled, quantity)
        filled += sum(q for _, _, q in more)
        last = events[-1].ts_us
    if filled < quantity:
        events.append(SimEvent("cancel", max(end_us, last + 1), quantity=quantity - filled, reason=cancel_reason))
    return _with_events(order, events)


def _with_events(order: SimOrder, events: list[SimEvent]) -> SimOrder:
    return replace(order, events=tuple(events))


def simulate_parent_order(
    rng: np.random.Generator,
    quotes: QuotePath,
    tape: TapePath,
    *,
    order_id: str,
    side: str,
    quantity: int,
    arrival_us: int,
    end_us: int,
    n_children: int,
    venues: tuple[str, ...],
    lot: int = 100,
    aggressive_share: float = 0.35,
) -> list[SimOrder]:
    """A market parent order worked as a TWAP: ``n_children`` slices over [arrival, end).

    Each child aims at the schedule's cumulative target (catching up what earlier slices
    missed), rests at the near touch (or crosses the spread with probability
    ``aggressive_share``) and is cancelled when the next slice starts. The parent's events
    mirror the children's fills; what is left at the end is cancelled. Returns the parent
    first, then the children in time order.
    """
    bounds = np.linspace(arrival_us, end_us, n_children + 1).astype(np.int64)
    children: list[SimOrder] = []
    parent_events = [SimEvent("new", arrival_us, None, quantity)]
    filled = 0
    for k in range(n_children):
        start = int(bounds[k]) + int(rng.integers(1_000, 2_000_000))
        stop = int(bounds[k + 1])
        target = quantity if k == n_children - 1 else round(quantity * (k + 1) / n_children / lot) * lot
        child_qty = target - filled
        if child_qty <= 0 or start >= stop:
            continue
        i = quotes.at(start)
        if rng.uniform() < aggressive_share:
            limit = None if rng.uniform() < 0.5 else float(quotes.ask[i] if side == "buy" else quotes.bid[i])
        else:
            limit = float(quotes.bid[i] if side == "buy" else quotes.ask[i])
        child = simulate_order(
            rng,
            quotes,
            tape,
            order_id=f"{order_id}.{len(children) + 1}",
            side=side,
            quantity=child_qty,
            arrival_us=start,
            end_us=stop,
            limit_price=limit,
            venue=str(venues[int(rng.integers(len(venues)))]),
            parent_id=order_id,
            cancel_reason="slice ended",
        )
        child_fills = [(e.ts_us, e.price or 0.0, e.quantity or 0) for e in child.events if e.event_type in FILL_EVENTS]
        parent_events += _fill_events(child_fills, filled, quantity)
        filled += child.filled_quantity
        children.append(child)
    if filled < quantity:
        last = parent_events[-1].ts_us
        parent_events.append(
            SimEvent("cancel", max(end_us + 1_000, last + 1), quantity=quantity - filled, reason="schedule ended")
        )
    parent = SimOrder(order_id, side, "market", None, quantity, arrival_us, executes=False)
    return [_with_events(parent, parent_events), *children]


def simulate_market_maker(
    rng: np.random.Generator,
    quotes: QuotePath,
    tape: TapePath,
    *,
    id_prefix: str,
    n_orders: int,
    venue: str,
    lot: int = 100,
    mean_life_s: float = 4.0,
) -> list[SimOrder]:
    """A market maker's quoting: ``n_orders`` limit orders at the near touch, alternately bids
    and offers, each living an exponential time (mean ``mean_life_s``) before being cancelled
    for a refresh, unless prints at its price fill it first. Most end cancelled, as they do."""
    open_us, close_us = int(quotes.ts_us[0]), int(quotes.ts_us[-1])
    times = session_times(rng, open_us, close_us - 60_000_000, n_orders)
    lives = rng.exponential(mean_life_s * 1e6, n_orders).astype(np.int64) + 1_000
    first_side = int(rng.integers(2))
    orders = []
    for k, (arrival, life) in enumerate(zip(times.tolist(), lives.tolist(), strict=True)):
        side = "buy" if (k + first_side) % 2 == 0 else "sell"
        i = quotes.at(arrival)
        limit = float(quotes.bid[i] if side == "buy" else quotes.ask[i])
        orders.append(
            simulate_order(
                rng,
                quotes,
                tape,
                order_id=f"{id_prefix}-{k + 1:05d}",
                side=side,
                quantity=lot * int(rng.integers(1, 6)),
                arrival_us=arrival,
                end_us=min(arrival + life, close_us - 1),
                limit_price=limit,
                venue=venue,
                cancel_reason="quote refreshed",
            )
        )
    return orders


def events_valid(order: SimOrder) -> bool:
    """True when the history is coherent: ``new`` first, strictly increasing times from the
    arrival, fills never above the (possibly replaced) quantity, nothing after a terminal
    event, and a ``fill`` exactly when the order becomes complete."""
    events = order.events
    if not events or events[0].event_type != "new" or events[0].ts_us != order.arrival_us:
        return False
    total, filled, previous = order.quantity, 0, order.arrival_us
    for n, e in enumerate(events):
        if n and (e.ts_us <= previous or events[n - 1].event_type in TERMINAL_EVENTS or e.event_type == "new"):
            return False
        previous = e.ts_us
        if e.event_type == "replace":
            total = e.quantity or 0
            if total < filled:
                return False
        if e.event_type in FILL_EVENTS:
            filled += e.quantity or 0
            if filled > total or (e.event_type == "fill") != (filled == total):
                return False
    return True
