"""Innocent order flow for the scenario generator, vectorised per instrument.

Who trades and how (rates per instrument and session at activity 1, see
``scenario_background``):
- market makers: a bid and an offer at the touch, a tenth of the time a ladder of three levels
  each side, living seconds and nearly always cancelled; sometimes they take the other side of a
  client's market order internally (an internal cross between unrelated accounts);
- retail clients: small market, marketable and resting limit orders, some re-priced, some
  partly filled; linked family accounts trade independently of each other;
- proprietary traders: active both ways, a third of their aggressive trades unwound minutes
  later, now and then a large resting order cancelled within a minute (a changed mind);
- employees' personal accounts: a few odd-lot trades a day;
- institutional clients: worked blocks that move the price, resting blocks cancelled later,
  heavy buying or selling into the close, and positions built over days then sold.
"""

from __future__ import annotations

import numpy as np

from portfolios.engine.synthetic import stream_rng
from surveillance.engine.scenario_background import (
    CLIENT_ORDERS_PER_DAY,
    MM_PLACEMENTS_PER_DAY,
    PROP_ORDERS_PER_DAY,
    Block,
    Population,
    lifecycle,
    lots,
    random_arrivals,
)
from surveillance.engine.scenario_market import LOT, TICK, Market, OrderBatch, OrderSink
from surveillance.engine.types import US_PER_MINUTE, US_PER_SECOND, Int8Array, IntArray

EMPLOYEE_ORDERS_PER_DAY = 0.4  # per employee, over all instruments
PROP_BIG_CANCELS_PER_DAY = 0.5


def _sides(rng: np.random.Generator, n: int) -> Int8Array:
    return np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)


def _market_maker(rng: np.random.Generator, mk: Market, pop: Population, sink: OrderSink, i: int) -> None:
    n = int(rng.poisson(MM_PLACEMENTS_PER_DAY * mk.activity * mk.n_days))
    t = random_arrivals(rng, mk, n)
    main = pop.market_makers[i % pop.market_makers.size]
    acct = np.where(rng.random(n) < 0.9, main, rng.choice(pop.market_makers, n))
    levels = np.where(rng.random(n) < 0.1, 3, 1)
    life = (rng.exponential(4.0, n) * US_PER_SECOND).astype(np.int64) + 2_000
    per = 2 * levels
    rep = np.repeat(np.arange(n), per)
    k = np.arange(rep.size) - np.repeat(np.cumsum(per) - per, per)
    side = np.where(k % 2 == 0, 1, -1).astype(np.int8)
    level = k // 2
    arrival = t[rep] + level * 37  # a ladder goes out within microseconds
    near, _, _ = mk.touch(i, arrival, side)
    limit = np.round(near - side * TICK * level, 8)
    qty = lots(rng, rep.size, 2.0, 0.5)
    jitter = rng.integers(0, 50_000, rep.size)
    sink.add(
        lifecycle(
            rng,
            mk,
            instrument=i,
            account=acct[rep],
            side=side,
            arrival=arrival,
            qty=qty,
            limit=limit,
            fill_prob=np.where(level == 0, 0.05, 0.01),
            mean_fill_s=2.0,
            life_us=life[rep] + jitter,
        )
    )


def _clients(rng: np.random.Generator, mk: Market, pop: Population, sink: OrderSink, i: int) -> None:
    n = int(rng.poisson(CLIENT_ORDERS_PER_DAY * mk.activity * mk.n_days))
    t = random_arrivals(rng, mk, n)
    acct = rng.choice(pop.clients, n, p=pop.client_weight)
    side = _sides(rng, n)
    qty = lots(rng, n, 3.0, 0.9)
    qty = np.where(rng.random(n) < 0.1, rng.integers(1, LOT, n).astype(np.float64), qty)  # odd lots
    near, far, _ = mk.touch(i, t, side)
    u = rng.random(n)
    depth = np.where(rng.random(n) < 0.5, 0, rng.integers(1, 6, n))
    limit = np.where(u < 0.3, np.nan, np.where(u < 0.45, far, np.round(near - side * TICK * depth, 8)))
    limit = np.where(np.isnan(limit), limit, np.maximum(limit, TICK))
    life = (rng.exponential(180.0, n) * US_PER_SECOND).astype(np.int64) + US_PER_SECOND
    fill_prob = np.where(u < 0.45, 0.7, 0.5 * 0.6**depth)
    batch = lifecycle(
        rng,
        mk,
        instrument=i,
        account=acct,
        side=side,
        arrival=t,
        qty=qty,
        limit=limit,
        fill_prob=fill_prob,
        mean_fill_s=90.0,
        life_us=life,
        replace_share=0.1,
        partial_share=0.15,
    )
    # A market maker takes the other side of some small market orders internally.
    cross = (u < 0.3) & (batch.f2_us < 0) & (batch.f1_qty == qty) & (rng.random(n) < 0.05) & (batch.f1_us >= 0)
    idx = np.flatnonzero(cross)
    mm = pop.market_makers[i % pop.market_makers.size]
    batch.f1_cp[idx] = mm
    sink.add(batch)
    mirror = OrderBatch.empty(idx.size)
    mirror.account[:] = mm
    mirror.instrument[:] = i
    mirror.side[:] = -side[idx]
    mirror.arrival[:] = np.maximum(
        batch.f1_us[idx] - rng.integers(1_000, 2 * US_PER_SECOND, idx.size), mk.open_us[mk.day_of(t[idx])] + 1
    )
    mirror.arrival[:] = np.minimum(mirror.arrival, batch.f1_us[idx] - 1)
    mirror.qty[:] = qty[idx]
    mirror.limit[:] = batch.f1_px[idx]
    mirror.f1_us[:] = batch.f1_us[idx]
    mirror.f1_px[:] = batch.f1_px[idx]
    mirror.f1_qty[:] = qty[idx]
    mirror.f1_cp[:] = acct[idx]
    sink.add(mirror)


def _prop(rng: np.random.Generator, mk: Market, pop: Population, sink: OrderSink, i: int) -> None:
    n = int(rng.poisson(PROP_ORDERS_PER_DAY * mk.activity * mk.n_days))
    t = random_arrivals(rng, mk, n, tail_us=5 * US_PER_MINUTE)
    weight = np.linspace(2.0, 0.5, pop.prop.size)
    acct = rng.choice(pop.prop, n, p=weight / weight.sum())
    side = _sides(rng, n)
    qty = lots(rng, n, 5.0, 1.0)
    near, far, _ = mk.touch(i, t, side)
    u = rng.random(n)
    depth = rng.integers(0, 3, n)
    limit = np.where(u < 0.2, np.nan, np.where(u < 0.5, far, np.round(near - side * TICK * depth, 8)))
    life = (rng.exponential(30.0, n) * US_PER_SECOND).astype(np.int64) + 100_000
    sink.add(
        lifecycle(
            rng,
            mk,
            instrument=i,
            account=acct,
            side=side,
            arrival=t,
            qty=qty,
            limit=limit,
            fill_prob=np.where(u < 0.5, 0.8, 0.4 * 0.6**depth),
            mean_fill_s=20.0,
            life_us=life,
            partial_share=0.1,
        )
    )
    # Round trips: a third of the aggressive trades are unwound 1–30 minutes later.
    back = np.flatnonzero((u < 0.5) & (rng.random(n) < 0.33))
    t2 = t[back] + (rng.uniform(1.0, 30.0, back.size) * US_PER_MINUTE).astype(np.int64)
    ok = t2 < mk.close_us[mk.day_of(t[back])] - US_PER_MINUTE
    back, t2 = back[ok], t2[ok]
    sink.add(
        lifecycle(
            rng,
            mk,
            instrument=i,
            account=acct[back],
            side=(-side[back]).astype(np.int8),
            arrival=t2,
            qty=qty[back],
            limit=np.full(back.size, np.nan),
            fill_prob=1.0,
            mean_fill_s=5.0,
            life_us=np.full(back.size, US_PER_MINUTE, dtype=np.int64),
        )
    )
    # A large resting order pulled within a minute, with nothing else going on (a changed mind).
    m = int(rng.poisson(PROP_BIG_CANCELS_PER_DAY * mk.n_days))
    tb = random_arrivals(rng, mk, m, tail_us=5 * US_PER_MINUTE)
    sb = _sides(rng, m)
    nb, _, _ = mk.touch(i, tb, sb)
    qi = mk.quote_index(i, tb)
    touch_size = np.where(sb > 0, mk.q_bid_size[i][qi], mk.q_ask_size[i][qi])
    sink.add(
        lifecycle(
            rng,
            mk,
            instrument=i,
            account=rng.choice(pop.prop, m),
            side=sb,
            arrival=tb,
            qty=np.maximum(LOT, np.round(touch_size * rng.uniform(5.0, 20.0, m) / LOT) * LOT).astype(np.float64),
            limit=np.round(nb - sb * TICK * rng.integers(0, 4, m), 8).astype(np.float64),
            fill_prob=0.0,
            mean_fill_s=1.0,
            life_us=(rng.uniform(2.0, 60.0, m) * US_PER_SECOND).astype(np.int64),
        )
    )


def _employees(mk: Market, pop: Population, sink: OrderSink) -> None:
    rng = stream_rng(mk.seed, "flow", "employees")
    n = int(rng.poisson(EMPLOYEE_ORDERS_PER_DAY * pop.employees.size * mk.n_days))
    inst = rng.integers(0, mk.n_instruments, n)
    t = random_arrivals(rng, mk, n)
    acct = rng.choice(pop.employees, n)
    side = _sides(rng, n)
    qty = np.maximum(1.0, np.round(rng.lognormal(np.log(50.0), 0.8, n)))
    for i in range(mk.n_instruments):
        m = inst == i
        near, _, _ = mk.touch(i, t[m], side[m])
        mkt = rng.random(int(m.sum())) < 0.5
        sink.add(
            lifecycle(
                rng,
                mk,
                instrument=i,
                account=acct[m],
                side=side[m],
                arrival=t[m],
                qty=qty[m],
                limit=np.where(mkt, np.nan, near),
                fill_prob=0.6,
                mean_fill_s=300.0,
                life_us=np.full(int(m.sum()), 30 * US_PER_MINUTE, dtype=np.int64),
            )
        )


def block_orders(rng: np.random.Generator, mk: Market, sink: OrderSink, b: Block) -> int:
    """One institutional block as an order: a worked block takes the touch at once for part
    of it and the rest at the (impacted) far touch when the work ends; a resting block sits
    behind the touch, perhaps partly filled, and is cancelled at ``end_us``."""
    t = np.array([b.start_us], dtype=np.int64)
    side = np.array([b.side], dtype=np.int8)
    near, far, _ = mk.touch(b.instrument, t, side)
    if b.worked:
        _, far_end, _ = mk.touch(b.instrument, np.array([b.end_us]), side)
        first = float(max(LOT, round(b.qty * float(rng.uniform(0.2, 0.5)) / LOT) * LOT))
        limit = round(float(far_end[0]) + b.side * 5 * TICK, 2)
        fills = [(b.start_us + int(rng.integers(200, 2_000)), float(far[0]), first, -1)]
        if b.qty > first:
            fills.append((b.end_us, float(far_end[0]), b.qty - first, -1))
        return sink.add_one(
            account=b.account,
            instrument=b.instrument,
            side=b.side,
            arrival_us=b.start_us,
            qty=b.qty,
            limit=limit,
            fills=fills,
        )
    limit = round(float(near[0]) - b.side * TICK * int(rng.integers(0, 4)), 2)
    fills = []
    if rng.random() < 0.3:
        fills.append(
            (
                b.start_us + int((b.end_us - b.start_us) * rng.uniform(0.1, 0.9)),
                limit,
                max(LOT, round(b.qty * 0.1 / LOT) * LOT),
                -1,
            )
        )
    return sink.add_one(
        account=b.account,
        instrument=b.instrument,
        side=b.side,
        arrival_us=b.start_us,
        qty=b.qty,
        limit=limit,
        fills=fills,
        cancel_us=b.end_us,
    )


def aggressive_orders(
    rng: np.random.Generator,
    mk: Market,
    sink: OrderSink,
    *,
    account: int,
    instrument: int,
    side: int,
    times: IntArray,
    total_qty: float,
) -> IntArray:
    """Market orders splitting ``total_qty`` (whole lots) over ``times``; their temporary ids."""
    n = times.size
    w = rng.uniform(0.5, 1.5, n)
    qty = np.maximum(LOT, np.round(total_qty * w / w.sum() / LOT) * LOT)
    return sink.add(
        lifecycle(
            rng,
            mk,
            instrument=instrument,
            account=np.full(n, account),
            side=np.full(n, side, dtype=np.int8),
            arrival=np.sort(times),
            qty=qty,
            limit=np.full(n, np.nan),
            fill_prob=1.0,
            mean_fill_s=1.0,
            life_us=np.full(n, US_PER_MINUTE, dtype=np.int64),
        )
    )


def background_orders(
    mk: Market,
    pop: Population,
    sink: OrderSink,
    *,
    blocks: list[Block],
    close_buyers: list[tuple[int, int, int, float, float]],
    swings: list[tuple[int, int, int, int, float]],
) -> None:
    """All innocent orders into ``sink`` (one random stream per instrument and population)."""
    for i in range(mk.n_instruments):
        _market_maker(stream_rng(mk.seed, "flow", "mm", i), mk, pop, sink, i)
        _clients(stream_rng(mk.seed, "flow", "clients", i), mk, pop, sink, i)
        _prop(stream_rng(mk.seed, "flow", "prop", i), mk, pop, sink, i)
    _employees(mk, pop, sink)
    rng = stream_rng(mk.seed, "flow", "blocks")
    for b in blocks:
        block_orders(rng, mk, sink, b)
    for i, d, side, window_min, share in close_buyers:
        c = int(mk.close_us[d])
        start = c - int(window_min * US_PER_MINUTE)
        volume = mk.tape_volume(i, start, c)
        qty = share / (1 - share) * volume
        times = np.sort(rng.integers(start, c - 5 * US_PER_SECOND, int(rng.integers(2, 6))))
        aggressive_orders(
            rng,
            mk,
            sink,
            account=int(rng.choice(pop.institutions)),
            instrument=i,
            side=side,
            times=times,
            total_qty=qty,
        )
    for acct, i, first, sell, share in swings:
        qty = share * float(mk.adv[i])
        buy_days = rng.integers(first, sell, int(rng.integers(2, 5)))
        times = np.array(
            [int(mk.open_us[d] + rng.uniform(0.02, 0.95) * (mk.close_us[d] - mk.open_us[d])) for d in buy_days]
        )
        aggressive_orders(rng, mk, sink, account=acct, instrument=i, side=1, times=times, total_qty=qty)
        sell_t = np.array(
            [
                int(mk.open_us[sell] + rng.uniform(0.02, 0.95) * (mk.close_us[sell] - mk.open_us[sell]))
                for _ in range(int(rng.integers(1, 4)))
            ]
        )
        aggressive_orders(
            rng,
            mk,
            sink,
            account=acct,
            instrument=i,
            side=-1,
            times=sell_t,
            total_qty=qty * float(rng.uniform(0.3, 1.0)),
        )
