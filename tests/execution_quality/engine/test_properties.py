"""Property tests (hypothesis) of the TCA engine on random synthetic markets.

Properties and where they come from:
- Side symmetry of the cost convention (ARCHITECTURE.md: costs positive = cost to the client
  for buys and sells alike): a sell filled as far below a benchmark as a buy is above it costs
  the same bps; and in a market reflected around K (p → 2K − p, bid ↔ ask, sides flipped) every
  benchmark reflects, every currency cost (slippage × benchmark, Perold's components, effective
  spread × mid, markout × price) is unchanged.
- A volume-weighted average lies within the prices averaged (VWAP, PWP), a time average within
  the mids in force (TWAP); the average of a constant is the constant.
- Perold's (1988) shortfall equals the sum of Kissell's (2013) components.
- Results do not depend on the input rows' order (the engine aggregates in a canonical order).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from execution_quality.engine.compute import tca_compute
from execution_quality.engine.synthetic import TcaMarket, tca_market_generate
from execution_quality.engine.types import DailyBars, Fills, Orders, Quotes, Tape, TcaParams

SETTINGS = settings(max_examples=20, deadline=None)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
PARAMS = TcaParams(min_history_days=5)


def small_market(seed: int) -> TcaMarket:
    return tca_market_generate(seed, 40, 3_000, instruments=3, days=2, history_days=10)


def compute(m: TcaMarket):
    return tca_compute(fills=m.fills, orders=m.orders, quotes=m.quotes, tape=m.tape, bars=m.bars, params=PARAMS)


def cols(table) -> dict[str, np.ndarray]:
    return {name: getattr(table, name) for name in table.__dataclass_fields__}


def reflect(m: TcaMarket, k: float) -> TcaMarket:
    """The mirror-image market: every price p → 2k − p, bid and ask swapped, every side flipped."""
    q, t, f, o, b = cols(m.quotes), cols(m.tape), cols(m.fills), cols(m.orders), cols(m.bars)
    return TcaMarket(
        quotes=Quotes(**{**q, "bid": 2 * k - q["ask"], "ask": 2 * k - q["bid"]}),
        tape=Tape(**{**t, "price": 2 * k - t["price"]}),
        fills=Fills(**{**f, "price": 2 * k - f["price"], "side": -f["side"]}),
        orders=Orders(
            **{
                **o,
                "side": -o["side"],
                "limit_price": 2 * k - o["limit_price"],
                "decision_price": 2 * k - o["decision_price"],
            }
        ),
        bars=DailyBars(**{**b, "open": 2 * k - b["open"], "close": 2 * k - b["close"]}),
    )


@SETTINGS
@given(seed=seeds)
def test_given_buy_and_sell_mirrored_around_the_benchmark_then_same_cost(seed):
    m = small_market(seed)
    r = compute(m)
    o = cols(m.orders)
    f = cols(m.fills)
    for name, bench in (("arrival", r.orders.benchmarks.arrival_price), ("vwap", r.orders.benchmarks.vwap)):
        b_fill = bench[r.executions.order_row]
        mirrored = Fills(
            **{**f, "price": np.where(np.isfinite(b_fill), 2 * b_fill - f["price"], f["price"]), "side": -f["side"]}
        )
        flipped = Orders(**{**o, "side": -o["side"]})
        r2 = tca_compute(fills=mirrored, orders=flipped, quotes=m.quotes, tape=m.tape, bars=m.bars, params=PARAMS)
        assert np.isfinite(r.orders.cost_bps(name)).any()
        np.testing.assert_allclose(
            r2.orders.cost_bps(name), r.orders.cost_bps(name), rtol=1e-9, atol=1e-9, equal_nan=True
        )


@SETTINGS
@given(seed=seeds)
def test_given_reflected_market_then_benchmarks_reflect_and_currency_costs_are_equal(seed):
    m = small_market(seed)
    k = float(max(m.quotes.ask.max(), m.tape.price.max(), m.fills.price.max(), m.bars.close.max(), m.bars.open.max()))
    r, r2 = compute(m), compute(reflect(m, k))
    b, b2 = r.orders.benchmarks, r2.orders.benchmarks
    for name in ("arrival_price", "vwap", "twap", "pwp", "prev_close", "open", "close"):
        np.testing.assert_allclose(getattr(b2, name), 2 * k - getattr(b, name), rtol=1e-12, equal_nan=True)
    prices = np.column_stack((b.arrival_price, b.vwap, b.twap, b.pwp, b.prev_close, b.open, b.close))
    prices2 = np.column_stack((b2.arrival_price, b2.vwap, b2.twap, b2.pwp, b2.prev_close, b2.open, b2.close))
    np.testing.assert_allclose(
        r2.orders.costs_bps * prices2, r.orders.costs_bps * prices, rtol=1e-8, atol=1e-8, equal_nan=True
    )
    s, s2 = r.orders.shortfall, r2.orders.shortfall
    for name in ("delay", "trading", "opportunity", "fees", "total"):
        np.testing.assert_allclose(getattr(s2, name), getattr(s, name), rtol=1e-8, atol=1e-6, equal_nan=True)
    e, e2 = r.executions.spreads, r2.executions.spreads
    np.testing.assert_allclose(
        e2.effective_spread_bps * e2.mid, e.effective_spread_bps * e.mid, rtol=1e-8, atol=1e-8, equal_nan=True
    )
    np.testing.assert_allclose(e2.spread_capture, e.spread_capture, rtol=1e-9, atol=1e-12, equal_nan=True)
    p, p2 = m.fills.price[:, None], 2 * k - m.fills.price[:, None]
    np.testing.assert_allclose(
        r2.executions.markouts_bps * p2, r.executions.markouts_bps * p, rtol=1e-8, atol=1e-8, equal_nan=True
    )


@SETTINGS
@given(seed=seeds)
def test_given_random_market_then_vwap_pwp_and_twap_lie_within_the_prices_they_average(seed):
    m = small_market(seed)
    r = compute(m)
    b = r.orders.benchmarks
    q_mid = (m.quotes.bid + m.quotes.ask) / 2
    checked = 0
    for i in range(len(m.orders)):
        inst, a, e = m.orders.instrument[i], m.orders.arrival_us[i], m.orders.end_us[i]
        prints = m.tape.price[(m.tape.instrument == inst) & (m.tape.ts_us >= a) & (m.tape.ts_us <= e)]
        if prints.size:
            assert prints.min() - 1e-9 <= b.vwap[i] <= prints.max() + 1e-9
            checked += 1
        day_end = (a // 86_400_000_000 + 1) * 86_400_000_000
        later = m.tape.price[(m.tape.instrument == inst) & (m.tape.ts_us >= a) & (m.tape.ts_us < day_end)]
        if np.isfinite(b.pwp[i]):
            assert later.min() - 1e-9 <= b.pwp[i] <= later.max() + 1e-9
        in_force = np.flatnonzero((m.quotes.instrument == inst) & (m.quotes.ts_us <= e))
        if np.isfinite(b.twap[i]):
            first = in_force[m.quotes.ts_us[in_force] <= a][-1]
            mids = q_mid[in_force[in_force >= first]]
            assert mids.min() - 1e-9 <= b.twap[i] <= mids.max() + 1e-9
    assert checked > 0


@SETTINGS
@given(seed=seeds, level=st.floats(min_value=1.0, max_value=5_000.0))
def test_given_constant_prices_then_every_average_is_that_price(seed, level):
    m = small_market(seed)
    half = np.random.default_rng(seed).uniform(0.0, 0.1, len(m.quotes)) * level / 100
    flat = TcaMarket(
        quotes=Quotes(**{**cols(m.quotes), "bid": level - half, "ask": level + half}),
        tape=Tape(**{**cols(m.tape), "price": np.full(len(m.tape), level)}),
        fills=m.fills,
        orders=m.orders,
        bars=m.bars,
    )
    b = compute(flat).orders.benchmarks
    for name in ("arrival_price", "twap", "vwap", "pwp"):
        values = getattr(b, name)
        np.testing.assert_allclose(values[np.isfinite(values)], level, rtol=1e-12)
    assert np.isfinite(b.twap).all()


@SETTINGS
@given(seed=seeds)
def test_given_random_market_then_perold_components_add_up_to_the_total(seed):
    s = compute(small_market(seed)).orders.shortfall
    parts = s.delay + s.trading + s.opportunity + s.fees
    ok = np.isfinite(parts)
    np.testing.assert_allclose(parts[ok], s.total[ok], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(
        (s.delay_bps + s.trading_bps + s.opportunity_bps + s.fees_bps)[ok], s.total_bps[ok], rtol=1e-9, atol=1e-9
    )


@SETTINGS
@given(seed=seeds)
def test_given_rows_in_another_order_then_results_are_identical(seed):
    m = small_market(seed)
    rng = np.random.default_rng(seed)
    po, pf = rng.permutation(len(m.orders)), rng.permutation(len(m.fills))
    r = compute(m)
    r2 = compute(TcaMarket(fills=m.fills.take(pf), orders=m.orders.take(po), quotes=m.quotes, tape=m.tape, bars=m.bars))
    o, o2 = r.orders, r2.orders
    np.testing.assert_array_equal(o2.order_id, o.order_id[po])
    np.testing.assert_array_equal(o2.costs_bps, o.costs_bps[po])
    np.testing.assert_array_equal(o2.flags, o.flags[po])
    np.testing.assert_array_equal(o2.shortfall.total, o.shortfall.total[po])
    np.testing.assert_array_equal(o2.features.venue, o.features.venue[po])
    np.testing.assert_array_equal(o2.pretrade_istar_bps, o.pretrade_istar_bps[po])
    e, e2 = r.executions, r2.executions
    np.testing.assert_array_equal(e2.execution_id, e.execution_id[pf])
    np.testing.assert_array_equal(e2.costs_bps, e.costs_bps[pf])
    np.testing.assert_array_equal(e2.markouts_bps, e.markouts_bps[pf])
    np.testing.assert_array_equal(o2.order_id[e2.order_row], o.order_id[e.order_row][pf])
