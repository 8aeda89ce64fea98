"""Innocent background for the scenario generator: accounts, prices, quotes, tape and order flow.

Everything here is what a surveillance system sees on an ordinary day, including what makes
false alerts likely: a market maker quoting both sides (and ladders of levels) with very high
cancel rates, institutional clients working large orders that move the price (some left
resting and cancelled), proprietary traders doing round trips all day (so some trade just
before a client's block or an announcement by chance), linked accounts trading independently,
price-sensitive announcements with jumps and volume, volume surges without abuse, heavy
closing activity and clients building a position over days then selling it.

Rates are per instrument and session (``activity`` scales the order rates and the tape). Order
lives are drawn to match the orders of magnitude reported for US equities: market-maker quotes
live seconds, retail limits minutes, institutional parents tens of minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portfolios.engine.synthetic import QuotePath, quote_day, realised_volatility, stream_rng, tape_day
from surveillance.engine.scenario_market import (
    LOT,
    TICK,
    Market,
    OrderBatch,
    OrderSink,
    PriceEffect,
    VolumeSurge,
    quotes_shift,
    window_prints,
)
from surveillance.engine.types import (
    US_PER_DAY,
    US_PER_MINUTE,
    US_PER_SECOND,
    AccountKind,
    Accounts,
    FloatArray,
    Int8Array,
    IntArray,
)

HISTORY_DAYS = 60  # sessions of daily bars before the window: ADV and volatility need them
FIRST_DAY = np.datetime64("2024-01-02")  # the window's first session (a Tuesday)
OPEN_OFFSET_US = (14 * 60 + 30) * US_PER_MINUTE
CLOSE_OFFSET_US = 21 * 60 * US_PER_MINUTE

# Per instrument and session at activity 1.
QUOTES_PER_DAY = 1_500
PRINTS_PER_DAY = 2_500
CLOSE_PRINT_SHARE = 0.12  # extra prints in the last 10 minutes (closing activity)
MEAN_PRINT = LOT * 2 * float(np.exp(0.5))  # tape_day's print size: log-normal around two lots, σ = 1
MM_PLACEMENTS_PER_DAY = 900  # each places a bid and an offer
CLIENT_ORDERS_PER_DAY = 160
PROP_ORDERS_PER_DAY = 220
BLOCKS_PER_DAY = 3.0  # institutional client orders of 0.3%–8% of ADV
ROUTINE_NEWS_PER_DAY = 0.4
SENSITIVE_NEWS_PER_DAY = 0.06
QUIET_SURGES_PER_DAY = 0.03
CLOSE_BUYERS_PER_DAY = 0.4
SWINGS_PER_DAY = 0.05


@dataclass(frozen=True)
class Population:
    """The accounts and their roles; ids are 1-based and dense."""

    accounts: Accounts
    codes: dict[int, str]
    market_makers: IntArray
    prop: IntArray
    institutions: IntArray
    clients: IntArray
    client_weight: FloatArray
    employees: IntArray

    def linked(self, account: int) -> IntArray:
        """Other accounts of ``account``'s group (same owner or linked)."""
        a = self.accounts
        g = a.group[account - 1]
        linked: IntArray = a.account_id[(a.group == g) & (a.account_id != account)]
        return linked


def population_build(seed: int, instruments: int) -> Population:
    """Market makers, proprietary traders (two pairs of linked books, mid-table by activity), institutional clients,
    retail clients (about one in five in a family of linked accounts) and employees' personal
    accounts (some linked to a relative's client account)."""
    rng = stream_rng(seed, "accounts")
    owner: list[int] = []
    kind: list[int] = []
    group: list[int] = []
    employee: list[bool] = []
    codes: dict[int, str] = {}

    def add(code: str, k: int, own: int, grp: int, emp: bool = False) -> int:
        owner.append(own)
        kind.append(k)
        group.append(grp)
        employee.append(emp)
        codes[len(owner)] = code
        return len(owner)

    next_owner = [1]

    def new_owner() -> int:
        next_owner[0] += 1
        return next_owner[0]

    firm = 1  # the firm owns market-making and proprietary books; groups still separate books
    mm = [add(f"MM-{k + 1}", AccountKind.MARKET_MAKER, firm, 1_000 + k) for k in range(2)]
    prop = []
    for k in range(10):
        # Books 5–6 and 7–8 belong to the same two traders: linked, one economic interest each
        # (books are numbered from the most to the least active).
        grp = 2_000 + (k // 2 if 4 <= k < 8 else 10 + k)
        prop.append(add(f"PROP-{k + 1:02d}", AccountKind.PROPRIETARY, firm, grp))
    inst = [add(f"INST-{k + 1:02d}", AccountKind.CLIENT, new_owner(), 3_000 + k) for k in range(12)]
    n_clients = max(150, 25 * instruments)
    clients: list[int] = []
    k = 0
    while len(clients) < n_clients:
        size = int(rng.choice([1, 2, 3], p=[0.8, 0.14, 0.06]))
        own = new_owner()
        grp = 10_000 + k
        for m in range(size):
            same_owner = m == 0 or rng.random() < 0.5
            clients.append(
                add(f"CL-{len(clients) + 1:05d}", AccountKind.CLIENT, own if same_owner else new_owner(), grp)
            )
        k += 1
    employees = []
    for e in range(15):
        if e < 5:  # linked to a relative's client account
            rel = int(rng.choice(clients))
            grp = group[rel - 1]
        else:
            grp = 5_000 + e
        employees.append(add(f"EMP-{e + 1:02d}", AccountKind.CLIENT, new_owner(), grp, True))
    # Renumber groups densely 0..G-1 in order of first appearance.
    _, dense = np.unique(np.asarray(group), return_inverse=True)
    accounts = Accounts(
        account_id=np.arange(1, len(owner) + 1, dtype=np.int64),
        owner=np.asarray(owner, dtype=np.int64),
        kind=np.asarray(kind, dtype=np.int8),
        group=dense.astype(np.int64),
        is_employee=np.asarray(employee, dtype=np.bool_),
    )
    weight = rng.pareto(1.5, len(clients)) + 1.0  # a few very active clients, many quiet ones
    return Population(
        accounts=accounts,
        codes=codes,
        market_makers=np.asarray(mm, dtype=np.int64),
        prop=np.asarray(prop, dtype=np.int64),
        institutions=np.asarray(inst, dtype=np.int64),
        clients=np.asarray(clients, dtype=np.int64),
        client_weight=weight / weight.sum(),
        employees=np.asarray(employees, dtype=np.int64),
    )


def _closes_fallback(rng: np.random.Generator, n_days: int, instruments: int) -> FloatArray:
    vol = rng.uniform(0.01, 0.03, instruments)
    start = rng.uniform(20.0, 300.0, instruments)
    steps = rng.standard_normal((n_days - 1, instruments)) * vol - 0.5 * vol**2
    logp = np.vstack([np.zeros(instruments), np.cumsum(steps, axis=0)])
    return np.asarray(start * np.exp(logp), dtype=np.float64)


def _closes_from(rng: np.random.Generator, closes: FloatArray, n_days: int, instruments: int) -> FloatArray:
    """``instruments`` columns of ``n_days`` consecutive real closes, each from a random stretch
    of a random source column (rescaled when a column is reused, so names stay distinct)."""
    src = np.asarray(closes, dtype=np.float64)
    if src.ndim == 1:
        src = src[:, None]
    out = np.empty((n_days, instruments))
    for i in range(instruments):
        col = src[:, i % src.shape[1]]
        col = col[np.isfinite(col) & (col > 0)]
        if col.size < n_days + 1:
            out[:, i] = _closes_fallback(rng, n_days, 1)[:, 0]
            continue
        start = int(rng.integers(0, col.size - n_days + 1))
        path = col[start : start + n_days]
        scale = 1.0 if i < src.shape[1] else float(rng.uniform(0.5, 2.0))
        out[:, i] = path * scale * max(1.0, 5.0 / float(path.min()))  # keep prices above $5
    return out


def market_plan(*, seed: int, days: int, instruments: int, closes: FloatArray | None, activity: float) -> Market:
    """The calendar (``days`` sessions from 2 January 2024 after ``HISTORY_DAYS`` of history),
    daily closes (real ones when ``closes`` is given, else a geometric random walk) and the
    volatility and average daily volume every later step is scaled on."""
    rng = stream_rng(seed, "closes")
    all_days = np.busday_offset(FIRST_DAY, np.arange(-HISTORY_DAYS, days), roll="forward")
    epoch_days = all_days.astype("datetime64[D]").astype(np.int64)
    n_total = HISTORY_DAYS + days
    path = (
        _closes_fallback(rng, n_total, instruments)
        if closes is None
        else _closes_from(rng, closes, n_total, instruments)
    )
    hist = path[:HISTORY_DAYS].T.copy()
    base = path[HISTORY_DAYS:].T.copy()
    vol = np.array([max(realised_volatility(hist[i]), 0.004) for i in range(instruments)])
    adv = rng.uniform(0.6, 1.6, instruments) * PRINTS_PER_DAY * activity * MEAN_PRINT * (1 + CLOSE_PRINT_SHARE)
    window = epoch_days[HISTORY_DAYS:]
    return Market(
        seed=seed,
        hist_days=epoch_days[:HISTORY_DAYS],
        days=window,
        open_us=window * US_PER_DAY + OPEN_OFFSET_US,
        close_us=window * US_PER_DAY + CLOSE_OFFSET_US,
        hist_close=hist,
        base_close=base,
        vol=vol,
        adv=adv,
        activity=activity,
    )


def _session_time(rng: np.random.Generator, mk: Market, day: int, lo_frac: float = 0.0, hi_frac: float = 1.0) -> int:
    o, c = int(mk.open_us[day]), int(mk.close_us[day])
    return int(o + (c - o) * rng.uniform(lo_frac, hi_frac))


@dataclass(frozen=True)
class Block:
    """An institutional client order: worked over [start_us, end_us], or left resting and
    cancelled when ``worked`` is False."""

    account: int
    instrument: int
    side: int
    qty: float
    start_us: int
    end_us: int
    worked: bool


def block_plan(
    mk: Market, *, account: int, instrument: int, side: int, qty: float, start_us: int, minutes: float
) -> Block:
    """A worked client block and its permanent price impact (square-root law: a move of about
    σ·√(Q/ADV) in the order's direction over its execution, the order of magnitude measured on
    institutional metaorders)."""
    end = start_us + int(minutes * US_PER_MINUTE)
    day = int(mk.day_of(np.array([start_us]))[0])
    end = min(end, int(mk.close_us[day]) - 2 * US_PER_SECOND)
    impact = side * float(mk.vol[instrument]) * np.sqrt(qty / float(mk.adv[instrument]))
    mk.effects.append(PriceEffect(instrument, day, start_us, end, impact, True))
    return Block(account, instrument, side, qty, start_us, end, True)


def background_plan(
    mk: Market, pop: Population
) -> tuple[list[Block], list[tuple[int, int, int, float, float]], list[tuple[int, int, int, int, float]]]:
    """Announcements, volume surges and client blocks (planned before quotes are drawn because
    they move prices). Returns the blocks, the innocent close buyers ``(instrument, day, side,
    window_min, volume_share)`` and swing positions ``(account, instrument, first_day, sell_day,
    adv_share)``."""
    blocks: list[Block] = []
    close_buyers: list[tuple[int, int, int, float, float]] = []
    swings: list[tuple[int, int, int, int, float]] = []
    for i in range(mk.n_instruments):
        rng = stream_rng(mk.seed, "plan", i)
        sigma = float(mk.vol[i])
        for d in range(mk.n_days):
            o, c = int(mk.open_us[d]), int(mk.close_us[d])
            for _ in range(rng.poisson(ROUTINE_NEWS_PER_DAY)):
                mk.news.append((i, int(rng.integers(o - 90 * US_PER_MINUTE, c + 60 * US_PER_MINUTE)), False))
            for _ in range(rng.poisson(SENSITIVE_NEWS_PER_DAY)):
                # A quarter of announcements come before the open: the session opens on the jump.
                t = (
                    o - int(rng.uniform(5, 120) * US_PER_MINUTE)
                    if rng.random() < 0.25
                    else _session_time(rng, mk, d, 0.05, 0.9)
                )
                move = float(rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 4.0) * sigma)
                mk.news.append((i, t, True))
                mk.effects.append(PriceEffect(i, d, t, t, move, True))
                t = max(t, o + 1)
                mk.surges.append(
                    VolumeSurge(i, t, min(t + int(rng.uniform(30, 90) * US_PER_MINUTE), c - 1), rng.uniform(0.1, 0.3))
                )
            for _ in range(rng.poisson(QUIET_SURGES_PER_DAY)):
                t = _session_time(rng, mk, d, 0.0, 0.6)
                end = min(t + int(rng.uniform(60, 180) * US_PER_MINUTE), c - US_PER_MINUTE)
                mk.effects.append(PriceEffect(i, d, t, end, float(rng.normal(0.0, 0.8) * sigma), True))
                mk.surges.append(VolumeSurge(i, t, end, rng.uniform(0.3, 1.5)))
            for _ in range(rng.poisson(BLOCKS_PER_DAY)):
                acct = int(rng.choice(pop.institutions))
                side = int(rng.choice([-1, 1]))
                qty = float(np.clip(rng.lognormal(np.log(0.01), 0.7), 0.003, 0.08) * mk.adv[i])
                qty = max(LOT, round(qty / LOT) * LOT)
                t = _session_time(rng, mk, d, 0.01, 0.9)
                if rng.random() < 0.7:
                    blocks.append(
                        block_plan(
                            mk,
                            account=acct,
                            instrument=i,
                            side=side,
                            qty=qty,
                            start_us=t,
                            minutes=float(rng.uniform(1, 20)),
                        )
                    )
                else:
                    end = min(t + int(rng.uniform(2, 60) * US_PER_MINUTE), c - US_PER_SECOND)
                    blocks.append(Block(acct, i, side, qty, t, end, False))
            for _ in range(rng.poisson(CLOSE_BUYERS_PER_DAY)):
                close_buyers.append(
                    (i, d, int(rng.choice([-1, 1])), float(rng.uniform(2, 10)), float(rng.uniform(0.03, 0.25)))
                )
        for _ in range(rng.poisson(SWINGS_PER_DAY * mk.n_days)):
            if mk.n_days < 3:
                break
            first = int(rng.integers(0, mk.n_days - 2))
            sell = int(rng.integers(first + 2, mk.n_days))
            swings.append((int(rng.choice(pop.clients)), i, first, sell, float(rng.uniform(0.005, 0.04))))
    return blocks, close_buyers, swings


def _day_quotes(mk: Market, i: int, d: int, prev: float, shift: float, effects: list[PriceEffect]) -> QuotePath:
    """One session's quotes. A day without price effects is the calibrated bridge to the
    planned close. On a day with effects the bridge holds only up to the first effect: from
    then on the log price is a free random walk (a martingale, nothing pulls it back towards a
    pre-drawn close) with the effects ramped in on top, so an announcement's jump, a block's
    impact or a closing push is still in the close and in the daily bar."""
    rng = stream_rng(mk.seed, "quotes", i, d)
    target = float(mk.base_close[i, d]) * float(np.exp(shift))
    n_quotes = max(10, int(QUOTES_PER_DAY * np.sqrt(mk.activity)))
    q = quote_day(
        rng,
        prev_close=prev,
        close=target,
        daily_vol=float(mk.vol[i]),
        open_us=int(mk.open_us[d]),
        close_us=int(mk.close_us[d]),
        n_quotes=n_quotes,
    )
    if not effects:
        return q
    log_f = np.zeros(q.ts_us.size)
    for e in effects:
        if e.end_us > e.start_us:
            log_f += e.log_move * np.clip((q.ts_us - e.start_us) / (e.end_us - e.start_us), 0.0, 1.0)
        else:
            log_f += e.log_move * (q.ts_us >= e.start_us)
    return quotes_shift(q, np.exp(log_f + _unpinned(rng, q, prev, target, float(mk.vol[i]), effects)))


def _unpinned(
    rng: np.random.Generator, q: QuotePath, prev: float, target: float, sigma: float, effects: list[PriceEffect]
) -> FloatArray:
    """Log change turning the day's bridge into one that is pinned only up to the first effect.

    A Brownian bridge B plus t·Z (Z standard normal, independent) is a Brownian motion W on the
    day. Up to τ (the last quote at or before the first effect) the path is W bridged to the
    planned drift r·τ (r = the day's calibrated log return); after τ it moves by W's free
    increments and the drift stops, so the expected close is the price just after the effects."""
    span = float(q.ts_us[-1] - q.ts_us[0])
    t = (q.ts_us - q.ts_us[0]) / span
    r = float(np.log(target / prev))
    noise = np.log(q.mid) - np.log(prev) - r * t  # σ·B(t), B the bridge quote_day drew
    walk = noise + sigma * t * float(rng.standard_normal())  # σ·W(t)
    first = min(e.start_us for e in effects)
    k = max(int(np.searchsorted(q.ts_us, first, side="right")) - 1, 0)
    tau = float(t[k])
    m = np.minimum(t, tau)
    pinned = walk - (m / tau) * walk[k] if tau > 0 else walk
    new_log = r * m + np.where(t <= tau, pinned, walk - walk[k])
    unpinned: FloatArray = new_log - (r * t + noise)
    return unpinned


def _day_tape(
    mk: Market, i: int, d: int, q: QuotePath, surges: list[VolumeSurge]
) -> tuple[IntArray, FloatArray, FloatArray]:
    """One session's background prints: the all-day tape, the heavier last ten minutes and the
    planned volume surges, in time order."""
    rng = stream_rng(mk.seed, "tape", i, d)
    c = int(mk.close_us[d])
    prints = int(float(mk.adv[i]) / (MEAN_PRINT * (1 + CLOSE_PRINT_SHARE)))
    tape = tape_day(rng, q, n_prints=max(prints, 10))
    parts = [(tape.ts_us.astype(np.int64), tape.price.astype(np.float64), tape.quantity.astype(np.float64))]
    close_vol = CLOSE_PRINT_SHARE * float(mk.adv[i]) / (1 + CLOSE_PRINT_SHARE)
    parts.append(window_prints(rng, q, c - 10 * US_PER_MINUTE, c - 1, close_vol))
    for s in surges:
        volume = s.extra_share * float(mk.adv[i])
        parts.append(window_prints(rng, q, s.start_us, min(s.end_us, c - 1), volume, int(LOT * s.size_x)))
    ts = np.concatenate([p[0] for p in parts])
    order = np.argsort(ts, kind="stable")
    return ts[order], np.concatenate([p[1] for p in parts])[order], np.concatenate([p[2] for p in parts])[order]


def quotes_tape_build(mk: Market) -> None:
    """Quotes and background prints for every instrument and session, with the planned price
    effects applied and the volume surges printed. Sessions are drawn in order because each
    starts from the previous one's (effect-moved) close."""
    n, nd = mk.n_instruments, mk.n_days
    mk.day_close = np.empty((n, nd))
    effects: dict[tuple[int, int], list[PriceEffect]] = {}
    for e in mk.effects:
        effects.setdefault((e.instrument, e.day), []).append(e)
    surges: dict[tuple[int, int], list[VolumeSurge]] = {}
    for s in mk.surges:
        d = int(mk.day_of(np.array([s.start_us]))[0])
        if mk.open_us[d] <= s.start_us < mk.close_us[d]:
            surges.setdefault((s.instrument, d), []).append(s)
    for i in range(n):
        shift = 0.0  # log gap between the path and the calibrated closes (effects, unpinned walks)
        prev = float(mk.hist_close[i, -1])
        days_q: list[QuotePath] = []
        days_t: list[tuple[IntArray, FloatArray, FloatArray]] = []
        for d in range(nd):
            todays = effects.get((i, d), [])
            q = _day_quotes(mk, i, d, prev, shift, todays)
            prev = float(q.mid[-1])
            if todays:
                # Later sessions follow the calibrated returns from where this one closed, less
                # the moves that fade overnight (a pump's rise).
                fading = sum(e.log_move for e in todays if not e.permanent)
                shift = float(np.log(prev / float(mk.base_close[i, d]))) - fading
            mk.day_close[i, d] = prev
            days_q.append(q)
            days_t.append(_day_tape(mk, i, d, q, surges.get((i, d), [])))
        mk.q_ts.append(np.concatenate([q.ts_us for q in days_q]).astype(np.int64))
        mk.q_bid.append(np.concatenate([q.bid for q in days_q]))
        mk.q_ask.append(np.concatenate([q.ask for q in days_q]))
        mk.q_bid_size.append(np.concatenate([q.bid_size for q in days_q]).astype(np.float64))
        mk.q_ask_size.append(np.concatenate([q.ask_size for q in days_q]).astype(np.float64))
        mk.t_ts.append(np.concatenate([t[0] for t in days_t]))
        mk.t_price.append(np.concatenate([t[1] for t in days_t]))
        mk.t_qty.append(np.concatenate([t[2] for t in days_t]))


def lifecycle(
    rng: np.random.Generator,
    mk: Market,
    *,
    instrument: int,
    account: IntArray,
    side: Int8Array,
    arrival: IntArray,
    qty: FloatArray,
    limit: FloatArray,
    fill_prob: FloatArray | float,
    mean_fill_s: float,
    life_us: IntArray,
    replace_share: float = 0.0,
    partial_share: float = 0.0,
) -> OrderBatch:
    """Vectorised order lives. A marketable order (``limit`` NaN or through the far touch) takes
    the far touch's displayed size at once and the rest a few ticks further (market) or at its
    limit later (limit, with probability ``fill_prob``, else cancelled). A resting order is
    filled at its limit after an exponential wait (probability ``fill_prob``, a share of them
    partly first) or cancelled after ``life_us``; some are re-priced to the touch first.
    Anything still open at the close is cancelled one µs before it."""
    n = arrival.size
    b = OrderBatch.empty(n)
    b.account[:] = account
    b.instrument[:] = instrument
    b.side[:] = side
    b.arrival[:] = arrival
    b.qty[:] = qty
    b.limit[:] = limit
    if n == 0:
        return b
    _, far, far_size = mk.touch(instrument, arrival, side)
    sgn = side.astype(np.float64)
    close = mk.close_us[mk.day_of(arrival)]
    market = np.isnan(limit)
    marketable = market | (sgn * (limit - far) >= -1e-9)
    fp = np.broadcast_to(np.asarray(fill_prob, dtype=np.float64), (n,))
    u = rng.random((6, n))
    wait = (rng.exponential(mean_fill_s, n) * US_PER_SECOND).astype(np.int64) + 1_000
    # Marketable: first fill at the far touch after the gateway latency.
    lat = rng.integers(200, 2_000, n)
    first = np.minimum(qty, np.maximum(far_size, LOT))
    m_f1_us = arrival + lat
    m_rest = qty - first
    m_f2_us = np.where(market, m_f1_us + rng.integers(1_000, 2 * US_PER_SECOND, n), arrival + wait)
    m_f2_px = np.where(market, far + sgn * TICK * rng.integers(1, 4, n), limit)
    m_f2 = (m_rest > 0) & (market | (u[0] < fp))
    # Resting: filled at the limit (partly first) or cancelled.
    p_fill = u[1] < fp
    p_partial = (u[2] < partial_share) & (qty >= 2 * LOT)
    p_part_qty = np.maximum(LOT, np.floor(qty * rng.uniform(0.2, 0.8, n) / LOT) * LOT)
    p_end = np.where(p_fill, arrival + wait, arrival + life_us)
    p_f1_us = np.where(p_partial, arrival + (u[3] * (p_end - arrival)).astype(np.int64), np.where(p_fill, p_end, -1))
    has_replace = (~marketable) & (u[4] < replace_share)
    first_after = np.where(p_f1_us >= 0, p_f1_us, p_end)
    b.replace_us[:] = np.where(has_replace, arrival + 1 + (u[5] * 0.8 * (first_after - arrival)).astype(np.int64), -1)
    rep_near, _, _ = mk.touch(instrument, np.maximum(b.replace_us, arrival), side)
    b.replace_limit[:] = np.where(has_replace, rep_near, np.nan)
    limit_now = np.where(has_replace, rep_near, limit)
    b.f1_us[:] = np.where(marketable, m_f1_us, p_f1_us)
    b.f1_px[:] = np.where(marketable, far, limit_now)
    b.f1_qty[:] = np.where(marketable, first, np.where(p_partial, np.minimum(p_part_qty, qty - LOT), qty))
    rest_after_p = qty - b.f1_qty
    b.f2_us[:] = np.where(marketable, np.where(m_f2, m_f2_us, -1), np.where(p_partial & p_fill, p_end, -1))
    b.f2_px[:] = np.where(marketable, m_f2_px, limit_now)
    b.f2_qty[:] = np.where(marketable, m_rest, rest_after_p)
    b.cancel_us[:] = np.where(marketable, arrival + wait, p_end)
    _clamp(b, close)
    return b


def _clamp(b: OrderBatch, close: IntArray) -> None:
    """Keep every event strictly after the previous one and before the close; drop fills that
    would fall after it; cancel what is left open."""
    limit_t = close - 2
    b.replace_us[:] = np.where(
        (b.replace_us >= 0) & (b.replace_us > b.arrival) & (b.replace_us < limit_t - 2), b.replace_us, -1
    )
    last = np.where(b.replace_us >= 0, b.replace_us, b.arrival)
    f1 = np.where(b.f1_us >= 0, np.maximum(b.f1_us, last + 1), -1)
    f1 = np.where(f1 < limit_t - 1, f1, -1)
    last = np.where(f1 >= 0, f1, last)
    f2 = np.where((b.f2_us >= 0) & (f1 >= 0), np.maximum(b.f2_us, last + 1), -1)
    f2 = np.where(f2 < limit_t, f2, -1)
    last = np.where(f2 >= 0, f2, last)
    b.f1_us[:], b.f2_us[:] = f1, f2
    b.f1_qty[:] = np.where(f1 >= 0, b.f1_qty, 0.0)
    b.f2_qty[:] = np.where(f2 >= 0, b.f2_qty, 0.0)
    open_qty = b.qty - b.f1_qty - b.f2_qty
    cancel = np.where(b.cancel_us >= 0, b.cancel_us, close - 1)
    b.cancel_us[:] = np.where(open_qty > 0, np.minimum(np.maximum(cancel, last + 1), close - 1), -1)


def random_arrivals(rng: np.random.Generator, mk: Market, n: int, *, tail_us: int = US_PER_MINUTE) -> IntArray:
    """``n`` arrival times over the window's sessions (not in the last ``tail_us``), busier after
    the open and before the close: 70% uniform, 15% Beta(1, 6) and 15% Beta(6, 1) over the
    session, the U shape of US equity intraday volume."""
    d = rng.integers(0, mk.n_days, n)
    span = (mk.close_us[d] - mk.open_us[d] - tail_us).astype(np.float64)
    u = rng.random(n)
    frac = np.where(u < 0.7, rng.random(n), np.where(u < 0.85, rng.beta(1.0, 6.0, n), rng.beta(6.0, 1.0, n)))
    return (mk.open_us[d] + 1 + (frac * (span - 2)).astype(np.int64)).astype(np.int64)


def adv_realised(mk: Market, sink: OrderSink) -> FloatArray:
    """Average daily volume per instrument over the window as printed so far: the background
    tape plus the firm's own executions (an internal cross printed once). Episodes are sized on
    it, and the history bars are drawn around it, so "a share of ADV" means what it says."""
    b = sink.all()
    volume = np.array([float(q.sum()) for q in mk.t_qty])
    for ts, qty, cp in ((b.f1_us, b.f1_qty, b.f1_cp), (b.f2_us, b.f2_qty, b.f2_cp)):
        printed = (ts >= 0) & ((cp < 0) | (b.side > 0))
        volume += np.bincount(b.instrument[printed], weights=qty[printed], minlength=mk.n_instruments)
    return np.asarray(volume / mk.n_days, dtype=np.float64)


def lots(rng: np.random.Generator, n: int, median_lots: float, sigma: float = 0.8) -> FloatArray:
    """Order sizes: log-normal around ``median_lots`` round lots, whole lots, at least one."""
    return np.maximum(1.0, np.round(rng.lognormal(np.log(median_lots), sigma, n))) * LOT
