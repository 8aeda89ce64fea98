"""Stress tests: historical replay, hypothetical shocks, reverse stress test.

Scenario design follows the Basel Committee's *Principles for sound stress testing practices and
supervision* (BCBS 155, 2009): historical and hypothetical scenarios plus reverse stress tests
("identify scenarios that would … challenge the viability of the bank").
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskapp.engine.options import OptionBook
from riskapp.engine.stress import (
    HISTORICAL_SCENARIOS,
    SCENARIO_DESCRIPTIONS,
    apply_shocks,
    replay_historical,
    reverse_stress,
    shock_pnl_by_asset,
)
from riskapp.engine.types import RiskInputError

# --- Historical scenarios ------------------------------------------------------------------------


def test_historical_scenarios_cover_the_required_windows_with_descriptions():
    assert HISTORICAL_SCENARIOS["lehman_2008"] == (date(2008, 9, 1), date(2008, 11, 30))
    assert HISTORICAL_SCENARIOS["covid_2020"] == (date(2020, 2, 19), date(2020, 3, 23))
    assert HISTORICAL_SCENARIOS["rates_2022"] == (date(2022, 1, 3), date(2022, 6, 30))
    assert HISTORICAL_SCENARIOS["us_downgrade_2011"] == (date(2011, 7, 22), date(2011, 8, 31))
    assert HISTORICAL_SCENARIOS["dotcom_2000_2002"] == (date(2000, 3, 24), date(2002, 10, 9))
    assert set(SCENARIO_DESCRIPTIONS) == set(HISTORICAL_SCENARIOS)
    assert all(start < end for start, end in HISTORICAL_SCENARIOS.values())


def _prices() -> pd.DataFrame:
    dates = pd.to_datetime(["2020-02-18", "2020-02-19", "2020-02-20", "2020-02-21", "2020-02-24", "2020-02-25"])
    return pd.DataFrame(
        {
            "AAA": [99.0, 100.0, 110.0, 90.0, 95.0, 50.0],
            "BBB": [50.0, 50.0, 45.0, 40.0, 40.0, 40.0],
            "NEW": [np.nan, np.nan, np.nan, 10.0, 11.0, 12.0],  # listed inside the window
            "IDX": [1000.0, 1000.0, 990.0, 900.0, 800.0, 700.0],
        },
        index=dates,
    )


def test_given_a_window_when_replayed_then_cumulative_returns_hit_todays_values():
    res = replay_historical(_prices(), {"AAA": 1_000.0, "BBB": -500.0}, start="2020-02-19", end="2020-02-24")
    assert res["start"] == date(2020, 2, 19) and res["end"] == date(2020, 2, 24) and res["n_days"] == 4
    assert res["asset_returns"] == pytest.approx({"AAA": -0.05, "BBB": -0.20})
    assert res["contributions"] == pytest.approx({"AAA": -50.0, "BBB": 100.0})
    assert res["pnl"] == pytest.approx(50.0)
    # Path: 0, 100 + 50 = 150, −100 + 100 = 0, −50 + 100 = 50 → worst fall from 150 to 0.
    assert [p for _, p in res["path"]] == pytest.approx([0.0, 150.0, 0.0, 50.0])
    assert res["max_drawdown"] == pytest.approx(150.0)
    assert res["peak_date"] == date(2020, 2, 20) and res["trough_date"] == date(2020, 2, 21)
    assert res["worst_pnl"] == pytest.approx(0.0) and res["worst_date"] == date(2020, 2, 19)
    assert res["proxied"] == [] and res["unshocked"] == []


def test_given_an_asset_without_prices_at_the_start_then_it_moves_with_the_proxy_and_is_flagged():
    res = replay_historical(
        _prices(),
        {"AAA": 1_000.0, "NEW": 200.0, "GONE": 100.0},
        start=date(2020, 2, 19),
        end=date(2020, 2, 25),
        proxy="IDX",
        proxy_betas={"GONE": 1.5},
    )
    assert res["proxied"] == ["NEW", "GONE"]
    assert res["asset_returns"]["NEW"] == pytest.approx(-0.30)
    assert res["asset_returns"]["GONE"] == pytest.approx(-0.45)
    assert res["pnl"] == pytest.approx(1_000 * -0.5 + 200 * -0.3 + 100 * -0.45)


def test_given_no_proxy_then_assets_without_prices_are_left_unshocked_and_flagged():
    res = replay_historical(_prices(), {"AAA": 1_000.0, "NEW": 200.0}, start="2020-02-19", end="2020-02-25")
    assert res["unshocked"] == ["NEW"] and res["contributions"]["NEW"] == 0.0


def test_given_a_proxy_series_and_an_array_of_values_then_replay_aligns_by_column():
    prices = _prices()[["AAA", "BBB"]]
    index = _prices()["IDX"]
    res = replay_historical(prices, np.array([1_000.0, 0.0]), start="2020-02-19", end="2020-02-21", proxy=index)
    assert res["pnl"] == pytest.approx(-100.0)


def test_given_a_start_on_a_non_trading_day_then_the_last_known_price_is_the_base():
    """A start date falling in a gap uses prices carried forward, never prices from the future."""
    prices = _prices().drop(pd.Timestamp("2020-02-19"))
    res = replay_historical(prices, {"AAA": 1_000.0}, start="2020-02-19", end="2020-02-21")
    assert res["start"] == date(2020, 2, 20)
    assert res["asset_returns"]["AAA"] == pytest.approx(90 / 110 - 1)


def test_given_the_covid_window_on_synthetic_history_then_the_named_scenario_replays():
    dates = pd.bdate_range("2020-01-01", "2020-04-30")
    rng = np.random.default_rng(0)
    prices = pd.DataFrame({"SPY": 300 * np.exp(np.cumsum(rng.normal(0, 0.02, len(dates))))}, index=dates)
    start, end = HISTORICAL_SCENARIOS["covid_2020"]
    res = replay_historical(prices, {"SPY": 1_000_000.0}, start=start, end=end)
    expected = prices.loc["2020-03-23", "SPY"] / prices.loc["2020-02-19", "SPY"] - 1
    assert res["pnl"] == pytest.approx(1_000_000.0 * expected)
    assert res["max_drawdown"] >= max(0.0, -res["pnl"]) - 1e-9


def test_given_a_series_that_stopped_long_before_the_window_then_it_is_proxied_not_replayed_flat():
    dates = pd.bdate_range("2020-01-01", "2020-03-31")
    prices = pd.DataFrame({"IDX": np.linspace(100, 70, len(dates)), "OLD": np.nan}, index=dates)
    prices.loc[dates[:10], "OLD"] = 5.0  # stopped trading in mid-January
    res = replay_historical(prices, pd.Series({"OLD": 100.0}), start="2020-02-19", end="2020-03-23", proxy="IDX")
    assert res["proxied"] == ["OLD"] and res["pnl"] < 0


def test_given_a_proxy_series_on_other_dates_then_its_last_known_price_is_used():
    prices = _prices()[["AAA"]]
    proxy = pd.Series([100.0, 80.0], index=pd.to_datetime(["2020-02-18", "2020-02-23"]))
    res = replay_historical(prices, {"NEW": 10.0}, start="2020-02-19", end="2020-02-25", proxy=proxy)
    assert res["asset_returns"]["NEW"] == pytest.approx(-0.20)


@pytest.mark.parametrize(
    ("prices", "values", "kwargs", "message"),
    [
        (_prices(), {"AAA": 1.0}, {"start": "2021-01-01", "end": "2021-02-01"}, "No price history"),
        (_prices(), {"AAA": 1.0}, {"start": "2020-02-01", "end": "2020-02-24"}, "must cover the whole window"),
        (_prices(), {"AAA": 1.0}, {"start": "2020-02-19", "end": "2020-03-31"}, "must cover the whole window"),
        (_prices(), {"AAA": 1.0}, {"start": "2020-02-24", "end": "2020-02-19"}, "before it starts"),
        (_prices(), [1.0, 2.0], {"start": "2020-02-19", "end": "2020-02-24"}, "2 position values for 4"),
        (_prices() * -1, {"AAA": 1.0}, {"start": "2020-02-19", "end": "2020-02-24"}, "positive"),
        (pd.DataFrame(), {"AAA": 1.0}, {"start": "2020-02-19", "end": "2020-02-24"}, "non-empty"),
        (_prices(), {"AAA": float("nan")}, {"start": "2020-02-19", "end": "2020-02-24"}, "finite"),
        (_prices(), {"AAA": 1.0}, {"start": "2020-02-19", "end": "2020-02-24", "proxy": "ZZZ"}, "proxy"),
    ],
)
def test_given_bad_replay_inputs_then_risk_input_error(prices, values, kwargs, message):
    with pytest.raises(RiskInputError, match=message):
        replay_historical(prices, values, **kwargs)


# --- Hypothetical and user-defined shocks --------------------------------------------------------

VALUES = np.array([1_000.0, -500.0, 2_000.0])
SECTORS = ["Technology", "Energy", "Technology"]
COUNTRIES = ["US", "US", "DE"]
CURRENCIES = ["USD", "USD", "EUR"]


def test_given_sector_and_country_shocks_then_moves_add_up_per_asset():
    shocks = {"equity": -0.02, "sector": {"Technology": -0.10}, "country": {"DE": -0.05}}
    pnl = shock_pnl_by_asset(VALUES, sectors=SECTORS, countries=COUNTRIES, shocks=shocks)
    assert pnl == pytest.approx([1_000 * -0.12, -500 * -0.02, 2_000 * -0.17])
    assert apply_shocks(VALUES, sectors=SECTORS, countries=COUNTRIES, shocks=shocks) == pytest.approx(pnl.sum())


def test_given_an_fx_shock_then_it_compounds_with_the_price_move():
    pnl = shock_pnl_by_asset(VALUES, currencies=CURRENCIES, shocks={"equity": -0.10, "fx": {"EUR": -0.08}})
    assert pnl == pytest.approx([-100.0, 50.0, 2_000 * (0.9 * 0.92 - 1)])


def test_given_a_factor_move_then_asset_moves_follow_their_betas():
    betas = np.array([[1.2, 0.1], [0.8, -0.3], [1.0, 0.0]])
    shocks = {"factor": {"MKT": -0.10, "SMB": 0.02}}
    pnl = shock_pnl_by_asset(VALUES, shocks=shocks, betas=betas, factor_names=["MKT", "SMB"])
    assert pnl == pytest.approx(VALUES * (betas @ [-0.10, 0.02]))


def test_given_a_user_defined_asset_shock_then_only_that_name_moves():
    pnl = shock_pnl_by_asset(VALUES, asset_ids=["A", "B", "C"], shocks={"asset": {"B": 0.5}})
    assert pnl == pytest.approx([0.0, -250.0, 0.0])


def _book() -> OptionBook:
    return OptionBook.create(
        spots=[100.0, 50.0, 20.0],
        underlying=[0, 2],
        strike=[100.0, 20.0],
        expiry_years=[0.5, 0.25],
        right=["put", "call"],
        quantity=[10.0, -20.0],
        vols=[0.25, 0.35],
        rate=0.02,
        multiplier=100.0,
    )


def test_given_a_vol_shock_then_only_options_move_by_full_revaluation():
    book = _book()
    pnl = shock_pnl_by_asset(VALUES, shocks={"vol": 1.5}, option_book=book)
    expected = book.pnl(np.zeros((1, 3)), vol_multiplier=1.5)[0]
    assert pnl.sum() == pytest.approx(expected)
    assert pnl[1] == 0.0  # no option on asset 1, and a vol shock does not move equities
    assert pnl[0] > 0 > pnl[2]  # long put gains vega, short call loses it
    assert apply_shocks(VALUES, shocks={"vol": 1.5}) == 0.0


def test_given_options_and_an_fx_move_then_option_values_convert_at_the_shocked_rate():
    book = _book()
    shocks = {"equity": -0.10, "fx": {"EUR": -0.05}}
    pnl = shock_pnl_by_asset(VALUES, shocks=shocks, currencies=CURRENCIES, option_book=book)
    v0 = book.position_values()
    v1 = book.scenario_option_values(np.full((1, 3), -0.10))[0]
    assert pnl[0] == pytest.approx(VALUES[0] * -0.10 + v1[0] - v0[0])
    assert pnl[2] == pytest.approx(VALUES[2] * (0.9 * 0.95 - 1) + v1[1] * 0.95 - v0[1])


@pytest.mark.parametrize(
    ("shocks", "kwargs", "message"),
    [
        ({"equites": -0.1}, {}, "Unknown shock"),
        ({"sector": {"Technology": -0.1}}, {}, "no sector per position"),
        ({"sector": {"Technology": -0.1}}, {"sectors": ["A"]}, "1 sector labels for 3"),
        ({"factor": {"MKT": -0.1}}, {}, "betas"),
        ({"factor": {"HML": -0.1}}, {"betas": np.ones((3, 1)), "factor_names": ["MKT"]}, "HML"),
        ({"equity": -0.8, "sector": {"Energy": -0.5}}, {"sectors": SECTORS}, "below zero"),
        ({"sector": {"Energy": -1.5}}, {"sectors": SECTORS}, "−100%"),
        ({"sector": -0.1}, {"sectors": SECTORS}, "must map names"),
        ({"vol": -1.0}, {}, "vol shock"),
    ],
)
def test_given_bad_shocks_then_risk_input_error(shocks, kwargs, message):
    with pytest.raises(RiskInputError, match=message):
        apply_shocks(VALUES, shocks=shocks, **kwargs)


# --- Reverse stress test -------------------------------------------------------------------------


def test_given_a_long_book_then_the_uniform_move_is_a_fall_of_threshold_over_net_value():
    assert reverse_stress([600_000.0, 400_000.0], loss_threshold=100_000.0) == pytest.approx(-0.10)
    assert reverse_stress([-600_000.0, 100_000.0], loss_threshold=100_000.0) == pytest.approx(0.20)


def test_given_a_hedged_or_too_small_book_then_no_move_breaks_the_threshold():
    assert reverse_stress([500.0, -500.0], loss_threshold=1.0) == math.inf
    # A long book cannot lose more than its value: a fall beyond −100% is impossible.
    assert reverse_stress([1_000.0], loss_threshold=2_000.0) == math.inf


def test_given_a_direction_then_the_multiple_of_it_reproduces_the_threshold():
    direction = np.array([-0.30, 0.10])
    m = reverse_stress([1_000.0, 500.0], direction, loss_threshold=125.0)
    assert m == pytest.approx(125.0 / (300.0 - 50.0))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=8),
    st.floats(min_value=1.0, max_value=1e6),
)
def test_reverse_stress_move_reproduces_the_threshold_on_linear_books(values, threshold):
    v = np.array(values)
    m = reverse_stress(v, loss_threshold=threshold)
    if math.isinf(m):
        # Either the book does not lose in any uniform move, or it would need a move beyond ±100%.
        assert abs(v.sum()) * 1.0 < threshold * (1 + 1e-12)
    else:
        assert -m * v.sum() == pytest.approx(threshold, rel=1e-9)
        assert abs(m) <= 1.0


def test_given_a_short_straddle_then_the_smaller_of_the_two_breaking_moves_is_returned():
    """A short straddle loses both ways; the reverse stress picks the nearer side and the move is the
    first crossing (a smaller move in either direction does not break the threshold)."""
    book = OptionBook.create(
        spots=[100.0],
        underlying=[0, 0],
        strike=[100.0, 100.0],
        expiry_years=[0.25, 0.25],
        right=["call", "put"],
        quantity=[-10.0, -10.0],
        vols=[0.2, 0.2],
        rate=0.05,
        multiplier=100.0,
    )
    m = reverse_stress([0.0], loss_threshold=5_000.0, option_book=book)
    loss = -book.pnl(np.array([[m]]))[0]
    assert loss == pytest.approx(5_000.0, rel=1e-6)
    grid = np.linspace(-abs(m), abs(m), 201)[1:-1]
    assert np.all(-book.pnl(grid[:, None]) < 5_000.0)
    other_side = reverse_stress([0.0], np.array([-np.sign(m)]), loss_threshold=5_000.0, option_book=book)
    assert abs(other_side) >= abs(m)


def test_given_a_long_put_then_a_loss_beyond_the_premium_is_never_reached():
    book = OptionBook.create(
        spots=[100.0],
        underlying=[0],
        strike=[100.0],
        expiry_years=[0.5],
        right=["put"],
        quantity=[1.0],
        vols=[0.2],
        rate=0.0,
    )
    assert reverse_stress([0.0], loss_threshold=100.0, option_book=book) == math.inf


@settings(max_examples=25, deadline=None)
@given(
    st.floats(min_value=-50.0, max_value=50.0),
    st.floats(min_value=-50.0, max_value=50.0),
    st.floats(min_value=-5_000.0, max_value=5_000.0),
    st.floats(min_value=10.0, max_value=3_000.0),
)
def test_reverse_stress_move_reproduces_the_threshold_on_option_books(q_call, q_put, stock, threshold):
    book = OptionBook.create(
        spots=[100.0],
        underlying=[0, 0],
        strike=[110.0, 90.0],
        expiry_years=[0.5, 0.5],
        right=["call", "put"],
        quantity=[q_call, q_put],
        vols=[0.3, 0.3],
        rate=0.02,
        multiplier=10.0,
    )
    m = reverse_stress([stock], loss_threshold=threshold, option_book=book)
    if not math.isinf(m):
        assert -book.pnl(np.array([[m]]), equity_values=[stock])[0] == pytest.approx(threshold, rel=1e-6)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([1.0],), {"loss_threshold": 0.0}, "positive amount"),
        (([1.0], [0.0]), {"loss_threshold": 1.0}, "not all zero"),
        (([1.0, 2.0], [1.0]), {"loss_threshold": 1.0}, "2 finite numbers"),
        (([],), {"loss_threshold": 1.0}, "no positions"),
        (([1.0],), {"loss_threshold": 1.0, "max_move": -1.0}, "max_move"),
    ],
)
def test_given_bad_reverse_stress_inputs_then_risk_input_error(args, kwargs, message):
    with pytest.raises(RiskInputError, match=message):
        reverse_stress(*args, **kwargs)
