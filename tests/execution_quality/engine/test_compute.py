"""``tca_compute`` end to end: cross-checks against the pandas baseline and a brute-force loop,
and the edge cases (no market data, one fill, partial fills, empty inputs, no bars).

The brute-force reference below recomputes the definitions of docs/tca-methodology.md one order
at a time with boolean masks and plain loops, sharing no code with the engine or the baseline.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from execution_quality.engine.baseline_pandas import baseline_compute
from execution_quality.engine.compute import tca_compute
from execution_quality.engine.synthetic import tca_market_generate
from execution_quality.engine.types import Fills, Orders, Quotes, Tape, TcaFlag, TcaParams
from tests.execution_quality.engine import worked
from tests.execution_quality.engine.worked import A


@pytest.fixture(scope="module")
def market():
    return tca_market_generate(11, 300, 40_000, instruments=4, days=2)


@pytest.fixture(scope="module")
def result(market):
    return tca_compute(
        fills=market.fills, orders=market.orders, quotes=market.quotes, tape=market.tape, bars=market.bars
    )


def brute_force(market, i: int, participation: float = 0.10) -> dict[str, float]:
    o, q, t = market.orders, market.quotes, market.tape
    inst, a, e = o.instrument[i], int(o.arrival_us[i]), int(o.end_us[i])
    qs = np.flatnonzero(q.instrument == inst)
    mids = [(q.bid[k] + q.ask[k]) / 2 for k in qs]
    times = [int(q.ts_us[k]) for k in qs]
    before = [k for k, ts in enumerate(times) if ts <= a]
    arrival = mids[before[-1]] if before else math.nan
    if not before:
        twap = math.nan
    elif e == a:
        twap = arrival
    else:
        area, cur, last_t = 0.0, arrival, a
        for ts, m in zip(times, mids, strict=True):
            if a < ts <= e:
                area += cur * (ts - last_t)
                cur, last_t = m, ts
        twap = (area + cur * (e - last_t)) / (e - a)
    ts_t = list(np.flatnonzero(t.instrument == inst))
    inside = [k for k in ts_t if a <= t.ts_us[k] <= e]
    vol = sum(t.quantity[k] for k in inside)
    vwap = sum(t.price[k] * t.quantity[k] for k in inside) / vol if vol > 0 else math.nan
    f = market.fills
    mine = np.flatnonzero(f.order_id == o.order_id[i])
    filled = sum(f.quantity[k] for k in mine)
    want = filled / participation
    day_end = (a // 86_400_000_000 + 1) * 86_400_000_000
    got, acc = 0.0, 0.0
    for k in ts_t:
        if t.ts_us[k] < a or t.ts_us[k] >= day_end or got >= want:
            continue
        take = min(t.quantity[k], want - got)
        acc += t.price[k] * take
        got += take
    pwp = acc / got if got > 0 and filled > 0 else math.nan
    return {"arrival": arrival, "twap": twap, "vwap": vwap, "pwp": pwp}


def test_given_synthetic_market_when_engine_and_pandas_baseline_then_equal_to_1e_9(market, result):
    base = baseline_compute(fills=market.fills, orders=market.orders, quotes=market.quotes, tape=market.tape)
    b = result.orders.benchmarks
    np.testing.assert_array_equal(base["order_id"].to_numpy(), result.orders.order_id)
    for engine, column in ((b.arrival_price, "arrival_price"), (b.vwap, "vwap"), (b.twap, "twap")):
        np.testing.assert_allclose(engine, base[column].to_numpy(), rtol=1e-9, atol=0, equal_nan=True)
    np.testing.assert_allclose(result.orders.avg_price, base["avg_price"].to_numpy(), rtol=1e-9, equal_nan=True)
    for name in ("arrival", "vwap", "twap"):
        np.testing.assert_allclose(
            result.orders.cost_bps(name), base[f"{name}_cost_bps"].to_numpy(), rtol=0, atol=1e-9, equal_nan=True
        )
    assert np.isfinite(b.vwap).mean() > 0.5  # the comparison is not vacuous


def test_given_synthetic_market_when_engine_and_brute_force_loop_then_equal(market, result):
    b = result.orders.benchmarks
    for i in range(0, len(market.orders), 7):
        ref = brute_force(market, i)
        got = {"arrival": b.arrival_price[i], "twap": b.twap[i], "vwap": b.vwap[i], "pwp": b.pwp[i]}
        for name, value in ref.items():
            assert got[name] == pytest.approx(value, rel=1e-10, nan_ok=True), (i, name)


def test_given_synthetic_market_when_execution_spreads_then_equal_to_a_loop(market, result):
    f, q = market.fills, market.quotes
    e = result.executions
    for k in range(0, len(f), 11):
        rows = np.flatnonzero((q.instrument == f.instrument[k]) & (q.ts_us < f.ts_us[k]))
        if rows.size == 0:
            assert e.flags[k] & TcaFlag.NO_FILL_QUOTE
            continue
        mid = (q.bid[rows[-1]] + q.ask[rows[-1]]) / 2
        assert e.spreads.effective_spread_bps[k] == pytest.approx(2 * f.side[k] * (f.price[k] - mid) / mid * 1e4)
        later = np.flatnonzero((q.instrument == f.instrument[k]) & (q.ts_us <= f.ts_us[k] + 60_000_000))
        mid_60 = (q.bid[later[-1]] + q.ask[later[-1]]) / 2
        assert e.markout_bps(60.0)[k] == pytest.approx(f.side[k] * (mid_60 - f.price[k]) / f.price[k] * 1e4)


def test_given_one_fill_order_when_computed_then_order_cost_is_that_fill_cost():
    r = tca_compute(**worked.market().tables())
    one = np.flatnonzero(r.orders.n_fills == 1)
    assert one.size >= 2
    for i in one:
        k = int(np.flatnonzero(r.executions.order_row == i)[0])
        np.testing.assert_allclose(r.orders.costs_bps[i], r.executions.costs_bps[k], rtol=1e-14, equal_nan=True)


def test_given_partial_fill_when_computed_then_flagged_with_opportunity_cost():
    r = tca_compute(**worked.market().tables())
    assert r.orders.flags[A] & TcaFlag.PARTIAL_FILL
    assert r.orders.shortfall.unfilled_quantity[A] == 200.0 and r.orders.shortfall.opportunity[A] > 0
    complete = np.flatnonzero(~(r.orders.flags & TcaFlag.PARTIAL_FILL).astype(bool) & (r.orders.n_fills > 0))
    assert np.all(r.orders.shortfall.unfilled_quantity[complete] == 0)


def test_given_fill_after_the_order_ended_or_overfill_when_computed_then_flagged():
    m = worked.market()
    f = {name: getattr(m.fills, name) for name in m.fills.__dataclass_fields__}
    ts, qty = f["ts_us"].copy(), f["quantity"].copy()
    ts[2] = worked.at(31)  # order 8 ended at t=30
    qty[4] = 150.0  # order 10 was for 100
    r = tca_compute(**{**m.tables(), "fills": Fills(**{**f, "ts_us": ts, "quantity": qty})})
    assert r.orders.flags[1] & TcaFlag.FILL_OUTSIDE_ORDER_LIFE
    assert r.orders.flags[3] & TcaFlag.OVERFILL
    assert r.orders.shortfall.paper_quantity[3] == 150.0


def test_given_no_bars_when_computed_then_day_benchmarks_nan_and_flagged():
    m = worked.market()
    r = tca_compute(fills=m.fills, orders=m.orders, quotes=m.quotes, tape=m.tape)
    assert np.all(np.isnan(r.orders.benchmarks.close)) and np.all(np.isnan(r.orders.features.adv))
    assert np.all(r.orders.flags & TcaFlag.NO_DAILY_BAR) and np.all(r.orders.flags & TcaFlag.NO_PREVIOUS_CLOSE)
    assert np.isfinite(r.orders.cost_bps("vwap")[A])


def test_given_no_market_data_at_all_when_computed_then_everything_nan_and_flagged_without_crashing():
    m = worked.market()
    empty_i, empty_f = np.empty(0, dtype=np.int64), np.empty(0)
    r = tca_compute(
        fills=m.fills,
        orders=m.orders,
        quotes=Quotes(instrument=empty_i, ts_us=empty_i, bid=empty_f, ask=empty_f),
        tape=Tape(instrument=empty_i, ts_us=empty_i, price=empty_f, quantity=empty_f),
    )
    assert np.all(r.orders.flags & TcaFlag.NO_ARRIVAL_QUOTE) and np.all(r.orders.flags & TcaFlag.NO_TAPE)
    assert np.all(np.isnan(r.orders.costs_bps[:, :4]))
    assert np.all(r.executions.flags & TcaFlag.NO_FILL_QUOTE)
    assert np.all(np.isnan(r.executions.markouts_bps))


def test_given_no_orders_and_no_fills_when_computed_then_empty_results():
    m = worked.market()
    r = tca_compute(
        fills=m.fills.take(np.zeros(0, dtype=int)),
        orders=m.orders.take(np.zeros(0, dtype=int)),
        quotes=m.quotes,
        tape=m.tape,
    )
    assert r.orders.order_id.size == 0 and r.orders.costs_bps.shape == (0, 7)
    assert r.executions.execution_id.size == 0 and r.executions.markouts_bps.shape == (0, 4)


def test_given_orders_without_fills_when_computed_then_no_fill_rows_and_order_rows_flagged():
    m = worked.market()
    r = tca_compute(fills=m.fills.take(np.zeros(0, dtype=int)), orders=m.orders, quotes=m.quotes, tape=m.tape)
    assert np.all(r.orders.flags & TcaFlag.NO_FILLS)
    np.testing.assert_allclose(r.orders.shortfall.total, r.orders.shortfall.opportunity, equal_nan=True)


def test_given_stale_arrival_quote_when_computed_then_flagged_but_used():
    m = worked.market()
    o = {name: getattr(m.orders, name) for name in m.orders.__dataclass_fields__}
    arrival = o["arrival_us"].copy()
    arrival[2] = worked.at(400)  # instrument 2's only quote is from t=0
    end = np.maximum(o["end_us"], arrival)
    orders = Orders(**{**o, "arrival_us": arrival, "end_us": end})
    fills = m.fills.take(np.flatnonzero(m.fills.order_id != 9))
    r = tca_compute(fills=fills, orders=orders, quotes=m.quotes, tape=m.tape, params=TcaParams(stale_quote_s=300))
    assert r.orders.flags[2] & TcaFlag.STALE_ARRIVAL_QUOTE
    assert r.orders.benchmarks.arrival_price[2] == pytest.approx(50.05)
    assert not r.orders.flags[0] & TcaFlag.STALE_ARRIVAL_QUOTE
