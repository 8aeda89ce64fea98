"""Effective / realised spreads, spread capture and off-quote fills on the worked market.

Definitions: the effective and realized spreads of SEC Rule 605 (17 CFR 242.605) disclosures,
originally with the mid 5 minutes after the trade; Bessembinder & Kaufman (1997), "A comparison
of trade execution costs for NYSE and NASDAQ-listed stocks", *JFQA* 32(3); Hasbrouck (2007),
*Empirical Market Microstructure*, ch. 3. Price impact = effective − realised (the same
decomposition). Numbers worked out by hand from ``worked.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from execution_quality.engine.compute import tca_compute
from execution_quality.engine.spreads import effective_spread_bps, realised_spread_bps, spread_capture
from execution_quality.engine.types import Fills, TcaFlag, TcaParams
from tests.execution_quality.engine import worked


def run(fills: Fills | None = None, **params: object):
    tables = worked.market().tables()
    if fills is not None:
        tables["fills"] = fills
    return tca_compute(**tables, params=TcaParams(min_history_days=1, **params)).executions


def test_given_buy_at_the_ask_when_spreads_then_hand_computed_values():
    s = run().spreads
    # Fill 101: buy 100.07 at t=12; prevailing quote t=10 100.03/100.07 (mid 100.05); mid 5 min later 100.15.
    assert s.mid[0] == pytest.approx(100.05)
    assert s.quoted_spread_bps[0] == pytest.approx(0.04 / 100.05 * 1e4, rel=1e-9)
    assert s.effective_spread_bps[0] == pytest.approx(2 * 0.02 / 100.05 * 1e4, rel=1e-9)  # 3.998 bps
    assert s.realised_spread_bps[0] == pytest.approx(2 * (100.07 - 100.15) / 100.05 * 1e4, rel=1e-9)  # −15.99
    assert s.price_impact_bps[0] == pytest.approx(2 * (100.15 - 100.05) / 100.05 * 1e4, rel=1e-9)
    assert s.spread_capture[0] == pytest.approx(0.0, abs=1e-9)  # paid the far touch


def test_given_sell_at_the_bid_when_spreads_then_same_sign_convention_as_a_buy():
    s = run().spreads
    # Fill 103: sell 100.03 at t=20 against 100.03/100.07: a cost of half the spread, twice over.
    assert s.effective_spread_bps[2] == pytest.approx(2 * 0.02 / 100.05 * 1e4, rel=1e-9)
    assert s.spread_capture[2] == pytest.approx(0.0, abs=1e-9)


def test_given_prices_across_the_quote_when_capture_then_zero_half_one_at_far_mid_near():
    bid, ask = np.full(6, 99.0), np.full(6, 101.0)
    price = np.array([101.0, 100.0, 99.0, 99.0, 100.0, 101.0])
    side = np.array([1, 1, 1, -1, -1, -1])
    np.testing.assert_allclose(spread_capture(side, price, bid, ask), [0.0, 0.5, 1.0, 0.0, 0.5, 1.0])
    assert np.isnan(spread_capture(np.array([1]), np.array([100.0]), np.array([100.0]), np.array([100.0])))[0]


def test_given_formulas_when_evaluated_then_effective_and_realised_match_definitions():
    side, price, mid, later = (
        np.array([1, -1]),
        np.array([100.1, 99.9]),
        np.array([100.0, 100.0]),
        np.array([100.3, 99.7]),
    )
    np.testing.assert_allclose(effective_spread_bps(side, price, mid), [20.0, 20.0])
    np.testing.assert_allclose(realised_spread_bps(side, price, mid, later), [-40.0, -40.0])


def test_given_fill_through_the_ask_when_spreads_then_flagged_outside_quote():
    f = worked.fills()
    price = f.price.copy()
    price[0] = 100.09  # above the 100.07 ask
    price[1] = 100.10  # inside 100.08/100.12: not flagged
    e = run(fills=Fills(**{**_cols(f), "price": price}))
    assert e.spreads.outside_quote[0] and e.flags[0] & TcaFlag.OUTSIDE_QUOTE
    assert not e.spreads.outside_quote[1] and not e.flags[1] & TcaFlag.OUTSIDE_QUOTE
    assert e.spreads.spread_capture[1] == pytest.approx(0.5)


def test_given_fill_at_the_same_microsecond_as_a_quote_when_prevailing_then_the_earlier_quote_is_used():
    f = worked.fills()
    ts = f.ts_us.copy()
    ts[2] = worked.at(30)  # order 8's sell, now stamped with the t=30 quote update
    e = run(fills=Fills(**{**_cols(f), "ts_us": ts}))
    assert e.spreads.mid[2] == pytest.approx(100.05)  # t=10 quote, not the t=30 one


def test_given_no_quote_before_fill_when_spreads_then_nan_and_flagged():
    f = worked.fills()
    ts = f.ts_us.copy()
    ts[3] = worked.at(0)  # instrument 2's only quote is at t=0: nothing strictly before
    e = run(fills=Fills(**{**_cols(f), "ts_us": ts}))
    assert np.isnan(e.spreads.effective_spread_bps[3]) and e.flags[3] & TcaFlag.NO_FILL_QUOTE


def _cols(f: Fills) -> dict[str, np.ndarray]:
    return {name: getattr(f, name) for name in f.__dataclass_fields__}
