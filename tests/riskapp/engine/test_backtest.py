"""VaR backtesting: Kupiec, Christoffersen, Basel traffic light, rolling backtest, S&P 500 2007–2009.

Sources: Kupiec (1995) "Techniques for verifying the accuracy of risk measurement models",
Journal of Derivatives 3(2); Christoffersen (1998) "Evaluating interval forecasts",
International Economic Review 39(4); Jorion, *Value at Risk* (3rd ed., 2007), Table 6-2
(Kupiec non-rejection regions); Basel Committee on Banking Supervision (1996), *Supervisory
framework for the use of "backtesting"...*, Table 2.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from riskapp.engine import backtest as bt
from riskapp.engine.tail import var_es_from_losses
from riskapp.engine.types import RiskInputError


# --- Kupiec -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("x", "n", "c"), [(10, 250, 0.99), (3, 250, 0.99), (60, 1000, 0.95), (1, 500, 0.975)])
def test_kupiec_lr_equals_the_binomial_likelihood_ratio(x, n, c):
    """Given x exceptions in n days, LR = 2·[ln Bin(x; n, x/n) − ln Bin(x; n, 1−c)] (the binomial
    coefficient cancels), and p = χ²(1) survival function (Kupiec 1995)."""
    lr, p = bt.kupiec_pof(x, n, confidence=c)
    direct = 2.0 * (stats.binom.logpmf(x, n, x / n) - stats.binom.logpmf(x, n, 1.0 - c))
    assert lr == pytest.approx(direct, rel=1e-10)
    assert p == pytest.approx(stats.chi2.sf(direct, 1), rel=1e-10)


@pytest.mark.parametrize(
    ("n", "c", "low", "high"),
    [
        (252, 0.95, 7, 19),  # Jorion Table 6-2: 6 < N < 20
        (510, 0.95, 17, 35),  # 16 < N < 36
        (1000, 0.95, 38, 64),  # 37 < N < 65
        (252, 0.975, 3, 11),  # 2 < N < 12
        (1000, 0.975, 16, 35),  # 15 < N < 36
        (510, 0.99, 2, 10),  # 1 < N < 11
        (1000, 0.99, 5, 16),  # 4 < N < 17
    ],
)
def test_kupiec_non_rejection_regions_match_jorion(n, c, low, high):
    """Given the 5% test level, when counting exceptions not rejected, then they are Jorion's regions."""
    accepted = [x for x in range(n // 5) if bt.kupiec_pof(x, n, confidence=c)[1] > 0.05]
    assert accepted == list(range(low, high + 1))


def test_kupiec_250_days_at_99_percent_rejects_seven_or_more():
    """Jorion Table 6-2 (T = 252, p = 1%): N < 7 is not rejected. The table shows no lower bound;
    the LR test itself does reject 0 exceptions at 5% (LR = −2·252·ln 0.99 = 5.07 > 3.84)."""
    assert bt.kupiec_pof(6, 252, confidence=0.99)[1] > 0.05
    assert bt.kupiec_pof(7, 252, confidence=0.99)[1] < 0.05
    lr0, _ = bt.kupiec_pof(0, 252, confidence=0.99)
    assert lr0 == pytest.approx(-2 * 252 * np.log(0.99))


def test_kupiec_edge_cases_are_finite():
    """Given 0 or n exceptions, when testing, then the 0·ln 0 terms vanish (no NaN)."""
    assert bt.kupiec_pof(0, 100, confidence=0.99)[0] == pytest.approx(-200 * np.log(0.99))
    assert bt.kupiec_pof(100, 100, confidence=0.99)[0] == pytest.approx(-200 * np.log(0.01))
    lr, p = bt.kupiec_pof(1, 100, confidence=0.99)  # exactly the expected rate
    assert lr == pytest.approx(0.0, abs=1e-12)
    assert p == pytest.approx(1.0)


@pytest.mark.parametrize(("x", "n"), [(-1, 10), (11, 10), (1, 0), (1.5, 10)])
def test_kupiec_rejects_impossible_counts(x, n):
    with pytest.raises(RiskInputError):
        bt.kupiec_pof(x, n, confidence=0.99)


# --- Christoffersen ---------------------------------------------------------------------------
def test_christoffersen_independence_by_hand():
    """Given a hit sequence with known transition counts, the LR is Christoffersen's formula."""
    hits = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0], dtype=bool)
    n00, n01, n10, n11 = bt.transition_counts(hits)
    assert (n00, n01, n10, n11) == (6, 3, 3, 3)
    pi01, pi11, pi = 3 / 9, 3 / 6, 6 / 15
    restricted = 9 * np.log(1 - pi) + 6 * np.log(pi)
    unrestricted = 6 * np.log(1 - pi01) + 3 * np.log(pi01) + 3 * np.log(1 - pi11) + 3 * np.log(pi11)
    expected = -2 * restricted + 2 * unrestricted
    lr, p = bt.christoffersen_independence(hits)
    assert lr == pytest.approx(expected, rel=1e-12)
    assert p == pytest.approx(stats.chi2.sf(expected, 1))


@pytest.mark.parametrize(
    "hits",
    [
        np.zeros(250, dtype=bool),  # no exceptions
        np.ones(250, dtype=bool),  # all exceptions
        np.r_[np.zeros(249, dtype=bool), True],  # one exception on the last day: no 1→x transition
        np.array([True, False]),  # the shortest series
    ],
)
def test_christoffersen_edge_cases_are_finite(hits):
    lr, p = bt.christoffersen_independence(hits)
    assert np.isfinite(lr) and lr >= 0.0
    assert 0.0 <= p <= 1.0
    lr_cc, p_cc = bt.conditional_coverage(hits, confidence=0.99)
    assert np.isfinite(lr_cc) and 0.0 <= p_cc <= 1.0


def test_clustered_exceptions_fail_independence_but_scattered_ones_pass():
    clustered = np.zeros(500, dtype=bool)
    clustered[100:105] = True
    scattered = np.zeros(500, dtype=bool)
    scattered[[50, 150, 250, 350, 450]] = True
    assert bt.christoffersen_independence(clustered)[1] < 0.01
    assert bt.christoffersen_independence(scattered)[1] > 0.5


def test_conditional_coverage_is_the_sum_with_two_degrees_of_freedom():
    rng = np.random.default_rng(7)
    hits = rng.random(500) < 0.03
    lr_pof, _ = bt.kupiec_pof(int(hits.sum()), hits.size, confidence=0.99)
    lr_ind, _ = bt.christoffersen_independence(hits)
    lr, p = bt.conditional_coverage(hits, confidence=0.99)
    assert lr == pytest.approx(lr_pof + lr_ind)
    assert p == pytest.approx(stats.chi2.sf(lr_pof + lr_ind, 2))


def test_hits_must_be_boolean():
    with pytest.raises(RiskInputError):
        bt.christoffersen_independence([0, 2, 1])
    with pytest.raises(RiskInputError):
        bt.christoffersen_independence([True])


# --- Basel traffic light ----------------------------------------------------------------------
BASEL_TABLE_2 = {
    0: ("green", 0.0),
    1: ("green", 0.0),
    2: ("green", 0.0),
    3: ("green", 0.0),
    4: ("green", 0.0),
    5: ("yellow", 0.40),
    6: ("yellow", 0.50),
    7: ("yellow", 0.65),
    8: ("yellow", 0.75),
    9: ("yellow", 0.85),
    10: ("red", 1.00),
    11: ("red", 1.00),
    25: ("red", 1.00),
    250: ("red", 1.00),
}


@pytest.mark.parametrize(("x", "expected"), BASEL_TABLE_2.items())
def test_traffic_light_reproduces_basel_table_2(x, expected):
    assert bt.traffic_light(x) == expected


def test_basel_cumulative_probabilities():
    """Basel (1996) Table 2 prints the cumulative probabilities 89.22% (4), 95.88% (5), 99.97% (9)
    and 99.99% (10): the zone boundaries 95% and 99.99% fall between 4/5 and 9/10."""
    cdf = stats.binom.cdf(np.arange(11), 250, 0.01)
    assert [round(100 * cdf[k], 2) for k in (4, 5, 9, 10)] == [89.22, 95.88, 99.97, 99.99]


def test_traffic_light_for_other_sample_sizes_uses_the_same_probabilities():
    """Given 500 days at 99%, then 5 exceptions (the expected number) are green, the zones are
    monotone in the count, and the red zone starts where Bin(500, 1%) reaches 99.99%."""
    zones = [bt.traffic_light(x, 500)[0] for x in range(30)]
    order = {"green": 0, "yellow": 1, "red": 2}
    assert zones[5] == "green"
    assert [order[z] for z in zones] == sorted(order[z] for z in zones)
    first_red = zones.index("red")
    assert stats.binom.cdf(first_red, 500, 0.01) >= 0.9999 > stats.binom.cdf(first_red - 1, 500, 0.01)
    factors = [bt.traffic_light(x, 500)[1] for x in range(30)]
    assert factors == sorted(factors)


# --- exceptions and the rolling backtest ------------------------------------------------------
def test_exception_is_a_loss_strictly_beyond_var():
    var = np.array([1.0, 1.0, 1.0, 1.0])
    pnl = np.array([-0.5, -1.0, -1.5, 2.0])
    assert bt.exceptions(var, pnl).tolist() == [False, False, True, False]
    with pytest.raises(RiskInputError):
        bt.exceptions(var, pnl[:3])
    with pytest.raises(RiskInputError):
        bt.exceptions([np.nan, 1, 1, 1], pnl)


def test_rolling_backtest_matches_a_naive_loop():
    """Given random returns, the vectorised historical and parametric paths equal a day-by-day
    loop using only the window before each day, and a custom method is called the same way."""
    rng = np.random.default_rng(3)
    returns = rng.normal(0, 0.01, size=(330, 3))
    values = np.array([1e6, -4e5, 2.5e5])
    window = 100
    custom = {"half_historical": lambda r, v: 0.5 * var_es_from_losses(-(r @ v), 0.99)[0]}
    paths = bt.rolling_var_backtest(
        returns, values, window=window, methods=("historical", "parametric_normal", "fhs_ewma"), custom=custom
    )
    pnl = returns @ values
    naive_hist = [var_es_from_losses(-pnl[t - window : t], 0.99)[0] for t in range(window, 330)]
    naive_norm = [stats.norm.ppf(0.99) * np.std(pnl[t - window : t], ddof=1) for t in range(window, 330)]
    np.testing.assert_allclose(paths["historical"].var, naive_hist, rtol=1e-12)
    np.testing.assert_allclose(paths["parametric_normal"].var, naive_norm, rtol=1e-12)
    np.testing.assert_allclose(paths["half_historical"].var, 0.5 * np.array(naive_hist), rtol=1e-12)
    for path in paths.values():
        assert path.var.shape == path.pnl.shape == path.hits.shape == (330 - window,)
        np.testing.assert_array_equal(path.pnl, pnl[window:])
        np.testing.assert_array_equal(path.hits, -path.pnl > path.var)


def test_rolling_backtest_start_skips_days_and_rejects_unknown_methods():
    rng = np.random.default_rng(4)
    returns = rng.normal(0, 0.01, size=(200, 1))
    paths = bt.rolling_var_backtest(returns, [1.0], window=50, start=120, methods=("historical",))
    full = bt.rolling_var_backtest(returns, [1.0], window=50, methods=("historical",))
    np.testing.assert_allclose(paths["historical"].var, full["historical"].var[70:])
    with pytest.raises(RiskInputError, match="Unknown"):
        bt.rolling_var_backtest(returns, [1.0], window=50, methods=("crystal_ball",))
    with pytest.raises(RiskInputError):
        bt.rolling_var_backtest(returns, [1.0], window=250)


def test_backtest_summary_on_well_specified_normal_var():
    """Given i.i.d. normal P&L and its true 99% VaR, over 2,000 days the exception count is
    binomial: Kupiec does not reject and the zone is green (seeded)."""
    rng = np.random.default_rng(11)
    pnl = rng.normal(0.0, 1.0, 2000)
    hits = bt.exceptions(np.full(2000, stats.norm.ppf(0.99)), pnl)
    s = bt.backtest_summary(hits, confidence=0.99)
    assert s.n == 2000 and s.expected == pytest.approx(20.0)
    assert s.kupiec_p > 0.05 and s.cc_p > 0.05
    assert s.zone == "green"


# --- the real S&P 500 history, 2007–2009 ------------------------------------------------------
@pytest.mark.slow
def test_sp500_2007_2009_exception_counts_are_the_documented_ones():
    """Given a long S&P 500 position and a 250-day window (arch.data.sp500), when backtesting 1-day
    99% VaR over 2007-01-03..2009-12-31 (756 days), then the counts are those in
    docs/risk-methodology.md, and sane: volatility filtering beats unfiltered methods in the
    crisis, the normal model is worst, and every count exceeds the 7.6 expected (a crisis)."""
    from riskapp.engine.sp500_backtest import sp500_backtest

    result = sp500_backtest(methods=("historical", "parametric_normal", "fhs_ewma", "fhs_garch"))
    counts = {m: s.exceptions for m, s in result.summaries.items()}
    assert {s.n for s in result.summaries.values()} == {756}
    assert result.dates[0].strftime("%Y-%m-%d") == "2007-01-03"
    assert result.dates[-1].strftime("%Y-%m-%d") == "2009-12-31"
    assert counts == {"historical": 23, "parametric_normal": 36, "fhs_ewma": 11, "fhs_garch": 15}
    assert counts["fhs_ewma"] < counts["historical"] < counts["parametric_normal"]
    assert result.summaries["fhs_ewma"].zone == "green"
    assert result.summaries["historical"].zone == "red"
