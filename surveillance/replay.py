"""What happened in the market around an alert, read for the replay chart of the alert page.

Read-only. For an alert on one instrument it gathers, over [window_start − 5 min, window_end + 5 min]:

- the best bid and best ask (across venues: highest bid, lowest ask of each venue's latest quote),
  starting from the quotes in force just before the replay starts;
- the public tape (time, price, quantity);
- the alerted account's orders in the instrument that were alive in the replay (arrived in it, or
  named in the alert's evidence) with their events, and the account's executions.

Every series is capped in rows so a long window (insider dealing spans days) cannot load a
day of ticks into one page; a capped series says so in ``notes``. Times are UTC datetimes with
microseconds; prices and sizes are floats (display only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from portfolios.models import MarketTrade, Order, OrderEvent, Quote, Trade
from surveillance.models import Alert

T = TypeVar("T")
BboRow = tuple[datetime, float | None, float | None]

MARGIN = timedelta(minutes=5)
# Row caps: ~40 bytes a point in the page's figure JSON, so 5,000 quotes ≈ 200 kB.
MAX_QUOTES = 5_000
MAX_TAPE = 5_000
MAX_ORDERS = 300
MAX_TRADES = 1_000
# Venues quoting one instrument: enough to seed every venue's quote in force at the start.
MAX_VENUES = 32


@dataclass(frozen=True)
class OrderStep:
    """One event of one order: ``kind`` is the OrderEvent type; ``price`` the limit in force
    after it (or the fill price for fills)."""

    ts: datetime
    kind: str
    price: float | None
    quantity: float | None


@dataclass(frozen=True)
class OrderPath:
    """An order of the alerted account with its events in sequence."""

    pk: int
    client_order_id: str
    side: str
    order_type: str
    limit_price: float | None
    quantity: float
    arrival_ts: datetime
    steps: tuple[OrderStep, ...]
    in_evidence: bool


@dataclass(frozen=True)
class Execution:
    """An execution of the alerted account (``order_id`` None for trades booked without an order)."""

    pk: int
    trade_id: str
    order_id: int | None
    ts: datetime
    side: str
    price: float
    quantity: float


@dataclass
class Replay:
    """The market around an alert. ``bbo`` rows are (ts, best bid, best ask); either side may be
    None when no venue quotes it. ``tape`` rows are (ts, price, quantity)."""

    start: datetime
    end: datetime
    window_start: datetime
    window_end: datetime
    symbol: str
    bbo: list[BboRow] = field(default_factory=list)
    tape: list[tuple[datetime, float, float]] = field(default_factory=list)
    orders: list[OrderPath] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.bbo or self.tape or self.orders or self.executions)


def _hms(ts: datetime) -> str:
    """HH:MM:SS.mmm (UTC), the resolution the evidence table shows."""
    return f"{ts:%H:%M:%S}.{ts.microsecond // 1000:03d}"


def _ids(values: object) -> set[int]:
    """The integer ids of an evidence list (JSON: anything else is ignored)."""
    if not isinstance(values, list):
        return set()
    return {v for v in values if isinstance(v, int) and not isinstance(v, bool)}


def _capped(rows: list[T], cap: int) -> bool:
    """True when the query (fetched with cap + 1 rows) had more rows than the cap; trims the list."""
    if len(rows) > cap:
        del rows[cap:]
        return True
    return False


def _bbo(instrument_id: int, start: datetime, end: datetime, notes: list[str]) -> list[BboRow]:
    """Consolidated best bid/offer at each quote update of any venue."""
    seed = list(
        Quote.objects.filter(instrument_id=instrument_id, ts__lt=start)
        .order_by("-ts")
        .values_list("venue", "bid", "ask")[: MAX_VENUES * 4]
    )
    book: dict[str, tuple[float, float]] = {}
    for venue, bid, ask in seed:  # newest first: the first row per venue is the one in force
        book.setdefault(venue, (float(bid), float(ask)))
    rows = list(
        Quote.objects.filter(instrument_id=instrument_id, ts__gte=start, ts__lte=end)
        .order_by("ts", "venue")
        .values_list("ts", "venue", "bid", "ask")[: MAX_QUOTES + 1]
    )
    capped = _capped(rows, MAX_QUOTES)
    if capped:
        notes.append(f"Quotes capped at {MAX_QUOTES:,} updates: the bid/ask lines stop at {_hms(rows[-1][0])} UTC.")

    def best() -> tuple[float | None, float | None]:
        if not book:
            return None, None
        return max(b for b, _ in book.values()), min(a for _, a in book.values())

    out: list[BboRow] = []
    if book:
        out.append((start, *best()))
    for ts, venue, bid, ask in rows:
        book[venue] = (float(bid), float(ask))
        bid_, ask_ = best()
        if out and out[-1][0] == ts:
            out[-1] = (ts, bid_, ask_)  # several venues at one instant: keep the state after all
        else:
            out.append((ts, bid_, ask_))
    if out:
        # Extend the last state to the end so the step lines run across the whole replay.
        last = rows[-1][0] if capped else end
        if out[-1][0] < last:
            out.append((last, out[-1][1], out[-1][2]))
    return out


def _tape(instrument_id: int, start: datetime, end: datetime, notes: list[str]) -> list[tuple[datetime, float, float]]:
    rows = list(
        MarketTrade.objects.filter(instrument_id=instrument_id, ts__gte=start, ts__lte=end)
        .order_by("ts", "id")
        .values_list("ts", "price", "quantity")[: MAX_TAPE + 1]
    )
    if _capped(rows, MAX_TAPE):
        notes.append(f"Tape capped at {MAX_TAPE:,} prints (to {_hms(rows[-1][0])} UTC).")
    return [(ts, float(p), float(q)) for ts, p, q in rows]


def _orders(alert: Alert, instrument_id: int, start: datetime, end: datetime, notes: list[str]) -> list[OrderPath]:
    evidence = _ids(alert.order_ids)
    base = Order.objects.filter(account_id=alert.account_id, instrument_id=instrument_id)
    window = base.filter(arrival_ts__gte=start, arrival_ts__lte=end).order_by("arrival_ts", "id")
    orders = list(window[: MAX_ORDERS + 1])
    if _capped(orders, MAX_ORDERS):
        notes.append(f"Orders capped at {MAX_ORDERS:,} (to {_hms(orders[-1].arrival_ts)} UTC).")
    seen = {o.pk for o in orders}
    # Evidence orders that arrived before the replay (a resting order cancelled inside it).
    missing = sorted(evidence - seen)[:MAX_ORDERS]
    if missing:
        orders.extend(base.filter(pk__in=missing))
    steps: dict[int, list[OrderStep]] = {}
    for ev in OrderEvent.objects.filter(order_id__in=[o.pk for o in orders]).order_by("order_id", "sequence"):
        steps.setdefault(ev.order_id, []).append(
            OrderStep(
                ts=ev.ts,
                kind=ev.event_type,
                price=None if ev.price is None else float(ev.price),
                quantity=None if ev.quantity is None else float(ev.quantity),
            )
        )
    return sorted(
        (
            OrderPath(
                pk=o.pk,
                client_order_id=o.client_order_id,
                side=o.side,
                order_type=o.order_type,
                limit_price=None if o.limit_price is None else float(o.limit_price),
                quantity=float(o.quantity),
                arrival_ts=o.arrival_ts,
                steps=tuple(steps.get(o.pk, ())),
                in_evidence=o.pk in evidence,
            )
            for o in orders
        ),
        key=lambda p: (p.arrival_ts, p.pk),
    )


def _executions(alert: Alert, instrument_id: int, start: datetime, end: datetime, notes: list[str]) -> list[Execution]:
    evidence = _ids(alert.trade_ids)
    base = Trade.objects.filter(account_id=alert.account_id, instrument_id=instrument_id)
    trades = list(base.filter(ts__gte=start, ts__lte=end).order_by("ts", "id")[: MAX_TRADES + 1])
    if _capped(trades, MAX_TRADES):
        notes.append(f"Executions capped at {MAX_TRADES:,}.")
    missing = sorted(evidence - {t.pk for t in trades})[:MAX_TRADES]
    if missing:
        trades.extend(base.filter(pk__in=missing))
    return sorted(
        (
            Execution(
                pk=t.pk,
                trade_id=t.trade_id,
                order_id=t.order_id,
                ts=t.ts,
                side=t.side,
                price=float(t.price),
                quantity=float(t.quantity),
            )
            for t in trades
        ),
        key=lambda e: (e.ts, e.pk),
    )


def replay_for(alert: Alert) -> Replay | None:
    """The market replay of ``alert`` (None for an alert without an instrument). The caller has
    already checked that the user may see the alert; the account's rows need no other scoping."""
    instrument_id = alert.instrument_id
    if instrument_id is None:
        return None
    start, end = alert.window_start - MARGIN, alert.window_end + MARGIN
    replay = Replay(
        start=start,
        end=end,
        window_start=alert.window_start,
        window_end=alert.window_end,
        symbol=alert.instrument.symbol if alert.instrument else "",
    )
    replay.bbo = _bbo(instrument_id, start, end, replay.notes)
    replay.tape = _tape(instrument_id, start, end, replay.notes)
    replay.orders = _orders(alert, instrument_id, start, end, replay.notes)
    replay.executions = _executions(alert, instrument_id, start, end, replay.notes)
    return replay
