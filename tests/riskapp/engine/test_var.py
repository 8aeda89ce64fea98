"""VaR and ES methods (riskapp.engine.var) against closed forms, worked examples and real data.

Sources cited per test: McNeil, Frey & Embrechts, *Quantitative Risk Management* (2015)
("QRM": VaR/ES of normal and Student-t losses, ch. 2; multivariate t as a normal variance mixture);
Acerbi & Tasche (2002), "On the coherence of expected shortfall" (ES = tail mean of quantiles);
J. C. Hull, *Risk Management and Financial Institutions* (3rd ed., ch. 15, "model-building
approach"; the same example is in *Options, Futures, and Other Derivatives*); scipy.stats
(``norm``, ``t``) for quantiles and densities; numpy's default "linear" quantile (Hyndman & Fan
1996, definition 7) for historical simulation; Zangari (1996) / Favre & Galeano (2002) for the
Cornish–Fisher expansion.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from riskapp.engine import var as V
from riskapp.engine.tail import var_es_columns
from riskapp.engine.types import RiskInputError


def _book(t: int = 750, n: int = 4, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(n, n)) * 0.008
    returns = rng.standard_normal((t, n)) @ mix.T
    values = rng.uniform(-2e5, 1e6, n)
    return returns, values


def _hull_cov() -> tuple[np.ndarray, np.ndarray]:
    """Hull's two-asset example: $10m Microsoft (daily vol 2%), $5m AT&T (1%), correlation 0.3."""
    vols = np.array([0.02, 0.01])
    corr = np.array([[1.0, 0.3], [0.3, 1.0]])
    return corr * np.outer(vols, vols), np.array([10e6, 5e6])


def _dummy_history(n: int) -> np.ndarray:
    """Returns used only for their shape when a covariance matrix is supplied."""
    return np.random.default_rng(0).standard_normal((10, n)) * 0.01


# --- parametric normal ----------------------------------------------------------------------------


def test_normal_var_is_2_326_sigma_at_99_percent() -> None:
    """VaR_99% = Φ⁻¹(0.99)·σ = 2.326·σ (scipy.stats.norm.ppf; QRM ch. 2)."""
    res = V.parametric_normal(_dummy_history(1), [1e6], confidence=0.99, cov=[[0.01**2]])
    assert res.var == pytest.approx(stats.norm.ppf(0.99) * 1e4, rel=1e-12)
    assert res.var == pytest.approx(23_263.48, abs=0.01)


def test_normal_es_closed_form_and_the_basel_975_equivalence() -> None:
    """ES_c = σ·φ(z_c)/(1−c) (QRM ch. 2; Acerbi & Tasche 2002). For a normal P&L, ES at
    97.5% ≈ 2.338σ is close to VaR at 99% ≈ 2.326σ — the calibration the Basel FRTB relied on."""
    cov = [[1.0]]
    es975 = V.parametric_normal(_dummy_history(1), [1.0], confidence=0.975, cov=cov).es
    assert es975 == pytest.approx(stats.norm.pdf(stats.norm.ppf(0.975)) / 0.025, rel=1e-12)
    assert es975 == pytest.approx(2.3378, abs=1e-4)
    assert V.parametric_normal(_dummy_history(1), [1.0], confidence=0.99, cov=cov).es == pytest.approx(2.6652, abs=1e-4)


def test_hull_two_asset_example() -> None:
    """Hull, RMFI 3e ch. 15 (also OFOD): σ_P = √(200,000² + 50,000² + 2·0.3·200,000·50,000)
    = $220,227 per day; with z = 2.33 the 10-day 99% VaR is 220,227·√10·2.33 = $1,622,657, the
    stand-alone VaRs $1,473,621 and $368,405 and the diversification benefit $219,369."""
    cov, values = _hull_cov()
    c = float(stats.norm.cdf(2.33))  # Hull rounds z to 2.33
    history = _dummy_history(2)
    book = V.parametric_normal(history, values, confidence=c, horizon_days=10, cov=cov)
    assert book.details["sigma_1d"] == pytest.approx(220_227, abs=1)
    assert book.var == pytest.approx(1_622_657, abs=2)
    msft = V.parametric_normal(history, [10e6, 0.0], confidence=c, horizon_days=10, cov=cov).var
    att = V.parametric_normal(history, [0.0, 5e6], confidence=c, horizon_days=10, cov=cov).var
    assert msft == pytest.approx(1_473_621, abs=2)
    assert att == pytest.approx(368_405, abs=2)
    assert msft + att - book.var == pytest.approx(219_369, abs=3)


def test_normal_uses_the_sample_covariance_by_default() -> None:
    returns, values = _book()
    sigma = math.sqrt(values @ np.cov(returns, rowvar=False) @ values)
    res = V.parametric_normal(returns, values, confidence=0.95)
    assert res.var == pytest.approx(stats.norm.ppf(0.95) * sigma, rel=1e-10)


def test_normal_with_mean_subtracts_the_drift_times_horizon() -> None:
    """VaR_h = z·σ·√h − μ·h (QRM ch. 2, normal loss with a non-zero mean)."""
    returns, values = _book()
    returns = returns + 0.001
    mu = float(returns.mean(axis=0) @ values)
    plain = V.parametric_normal(returns, values, confidence=0.99, horizon_days=10)
    drift = V.parametric_normal(returns, values, confidence=0.99, horizon_days=10, mean=True)
    assert drift.var == pytest.approx(plain.var - 10 * mu, rel=1e-10)
    assert drift.es == pytest.approx(plain.es - 10 * mu, rel=1e-10)


def test_normal_repairs_a_singular_indefinite_user_covariance_and_says_so() -> None:
    cov = np.array([[1.0, 0.9, -0.6], [0.9, 1.0, 0.9], [-0.6, 0.9, 1.0]]) * 1e-4
    res = V.parametric_normal(_dummy_history(3), [1e6, 1e6, 1e6], confidence=0.99, cov=cov)
    assert res.details["cov_repaired"] == 1.0
    assert res.var > 0


# --- Student-t ------------------------------------------------------------------------------------


@pytest.mark.parametrize("nu", [3.0, 5.0, 10.0])
def test_student_t_closed_forms(nu: float) -> None:
    """Scaled t with variance σ²: VaR = σ√((ν−2)/ν)·t_ν⁻¹(c); ES = σ√((ν−2)/ν)·g_ν(q)/(1−c)·(ν+q²)/(ν−1)
    (QRM ch. 2, ES of the t), checked against a numerical tail mean with scipy.stats.t.expect."""
    returns, values = _book()
    sigma = float(np.std(returns @ values, ddof=1))
    res = V.parametric_t(returns, values, confidence=0.99, dof=nu)
    scale = sigma * math.sqrt((nu - 2) / nu)
    q = stats.t.ppf(0.99, nu)
    assert res.var == pytest.approx(scale * q, rel=1e-10)
    tail_mean = stats.t.expect(lambda x: x, args=(nu,), lb=q, conditional=True)
    assert res.es == pytest.approx(scale * tail_mean, rel=1e-6)


def test_student_t_dof_is_fitted_by_maximum_likelihood() -> None:
    """Given 20,000 draws of a t₄, the ML estimate of ν is close to 4; normal data give a large ν."""
    rng = np.random.default_rng(11)
    t_draws = stats.t.rvs(4.0, size=20_000, random_state=rng) * 0.01
    assert V.t_dof_fit(t_draws) == pytest.approx(4.0, abs=0.5)
    assert V.t_dof_fit(rng.standard_normal(20_000)) > 30
    res = V.parametric_t(t_draws[:, None], [1e6], confidence=0.99)
    assert 3.5 < res.details["dof"] < 4.5


def test_student_t_rejects_dof_of_two_or_less() -> None:
    returns, values = _book()
    with pytest.raises(RiskInputError, match="degrees of freedom"):
        V.parametric_t(returns, values, confidence=0.99, dof=2.0)


# --- Cornish–Fisher -------------------------------------------------------------------------------


def test_cornish_fisher_expansion_and_its_tail_mean() -> None:
    """z_cf = z + (z²−1)S/6 + (z³−3z)K/24 − (2z³−5z)S²/36 (Zangari 1996; Favre & Galeano 2002)
    with S, K the loss skewness/excess kurtosis (scipy.stats.skew/kurtosis); ES equals
    1/(1−c)·∫_c^1 VaR_u du (Acerbi & Tasche 2002) integrated numerically with scipy.integrate.quad."""
    rng = np.random.default_rng(5)
    pnl = stats.skewnorm.rvs(-4, size=2_000, random_state=rng) * 0.01
    losses = -pnl
    s, k = stats.skew(losses), stats.kurtosis(losses)
    sigma = np.std(losses, ddof=1)

    def q_cf(u: float) -> float:
        z = stats.norm.ppf(u)
        return sigma * (z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36)

    res = V.cornish_fisher(pnl[:, None], [1.0], confidence=0.99)
    assert res.var == pytest.approx(q_cf(0.99), rel=1e-10)
    tail, _ = integrate.quad(q_cf, 0.99, 1.0, limit=200)
    assert res.es == pytest.approx(tail / 0.01, rel=1e-6)
    assert res.details["skew"] == pytest.approx(s) and res.details["excess_kurtosis"] == pytest.approx(k)


def test_cornish_fisher_reduces_to_normal_without_skew_or_kurtosis() -> None:
    """The 3-point Gauss–Hermite rule (0 w.p. 2/3, ±√3 w.p. 1/6 each) has the normal's moments up
    to the fifth, so S = K = 0 exactly and Cornish–Fisher VaR/ES equal the normal closed forms."""
    pnl = np.array([0.0, 0.0, 0.0, 0.0, math.sqrt(3), -math.sqrt(3)] * 50) * 0.01
    normal = V.parametric_normal(pnl[:, None], [1.0], confidence=0.99)
    cf = V.cornish_fisher(pnl[:, None], [1.0], confidence=0.99)
    assert cf.details["excess_kurtosis"] == pytest.approx(0.0, abs=1e-10)
    assert cf.details["cf_monotone"] == 1.0
    assert cf.var == pytest.approx(normal.var, rel=1e-9)
    assert cf.es == pytest.approx(normal.es, rel=1e-9)


# --- historical -----------------------------------------------------------------------------------


def test_historical_var_and_es_on_losses_one_to_a_hundred() -> None:
    """Losses 1..100: VaR = numpy's linear quantile (99% → 99.01, 95% → 95.05; Hyndman & Fan
    def. 7) and ES = mean of the ceil(n·(1−c)) largest (99% → 100, 95% → mean(96..100) = 98)."""
    returns = -np.arange(1.0, 101.0)[:, None] / 100  # a $100 position loses 1..100
    res99 = V.historical(returns, [100.0], confidence=0.99)
    assert (res99.var, res99.es) == (pytest.approx(99.01), pytest.approx(100.0))
    res95 = V.historical(returns, [100.0], confidence=0.95)
    assert (res95.var, res95.es) == (pytest.approx(95.05), pytest.approx(98.0))
    assert res95.var == pytest.approx(np.quantile(np.arange(1.0, 101.0), 0.95))


def test_historical_scales_by_square_root_of_time() -> None:
    returns, values = _book()
    one = V.historical(returns, values, confidence=0.99)
    ten = V.historical(returns, values, confidence=0.99, horizon_days=10)
    assert ten.var == pytest.approx(one.var * math.sqrt(10), rel=1e-12)
    assert ten.es == pytest.approx(one.es * math.sqrt(10), rel=1e-12)


def test_historical_full_revaluation_callback() -> None:
    """A callback replaces the linear P&L: a linear one gives the same figures."""
    returns, values = _book()
    linear = V.historical(returns, values, confidence=0.99)
    same = V.historical(returns, values, confidence=0.99, revalue=lambda r: r @ values)
    assert (same.var, same.es) == (pytest.approx(linear.var), pytest.approx(linear.es))


@pytest.mark.parametrize("confidence", [0.95, 0.975, 0.99, 0.999])
def test_historical_many_equals_one_book_at_a_time(confidence: float) -> None:
    """Vectorised over portfolios: equal to tail.var_es_columns(−(R @ V)) and to historical()."""
    returns, _ = _book(t=1000, n=6)
    books = np.random.default_rng(2).normal(size=(6, 300)) * 1e5
    var, es = V.historical_many(returns, books, confidence=confidence)
    ref_var, ref_es = var_es_columns(-(returns @ books), confidence)
    np.testing.assert_allclose(var, ref_var, rtol=1e-12)
    np.testing.assert_allclose(es, ref_es, rtol=1e-12)
    one = V.historical(returns, books[:, 17], confidence=confidence)
    assert (var[17], es[17]) == (pytest.approx(one.var, rel=1e-12), pytest.approx(one.es, rel=1e-12))


def test_historical_many_blocks_give_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    returns, _ = _book(t=200, n=3)
    books = np.random.default_rng(4).normal(size=(3, 50)) * 1e5
    whole = V.historical_many(returns, books, confidence=0.99)
    monkeypatch.setattr(V, "_HISTORICAL_BLOCK_BYTES", 200 * 8 * 7)  # 7 portfolios per block
    blocked = V.historical_many(returns, books, confidence=0.99)
    np.testing.assert_array_equal(whole[0], blocked[0])
    np.testing.assert_array_equal(whole[1], blocked[1])


def test_historical_many_rejects_a_mismatched_values_matrix() -> None:
    returns, _ = _book(n=3)
    with pytest.raises(RiskInputError, match="N × P"):
        V.historical_many(returns, np.ones((4, 5)), confidence=0.99)


# --- Monte Carlo ----------------------------------------------------------------------------------


def test_monte_carlo_is_reproducible_and_independent_of_chunk_size() -> None:
    """Same seed → same figures; the chunk size only bounds memory (normal and t)."""
    returns, values = _book()
    for dist in ("normal", "t"):
        a = V.monte_carlo(returns, values, confidence=0.99, n_scenarios=30_000, dist=dist, seed=9)
        b = V.monte_carlo(returns, values, confidence=0.99, n_scenarios=30_000, dist=dist, seed=9, chunk_size=777)
        assert (a.var, a.es) == (pytest.approx(b.var, rel=1e-12), pytest.approx(b.es, rel=1e-12))
    c = V.monte_carlo(returns, values, confidence=0.99, n_scenarios=30_000, seed=10)
    assert c.var != a.var


def test_monte_carlo_memory_is_bounded_by_chunk_size() -> None:
    """The revaluation callback never sees more than chunk_size scenarios at once."""
    returns, values = _book()
    seen: list[tuple[int, int]] = []

    def revalue(scenarios: np.ndarray) -> np.ndarray:
        seen.append(scenarios.shape)
        return scenarios @ values

    V.monte_carlo(returns, values, confidence=0.99, n_scenarios=10_000, chunk_size=3_000, revalue=revalue)
    assert seen == [(3000, 4), (3000, 4), (3000, 4), (1000, 4)]


def test_monte_carlo_linear_revaluation_equals_the_default_linear_path() -> None:
    returns, values = _book()
    for dist in ("normal", "t"):
        base = V.monte_carlo(returns, values, confidence=0.975, n_scenarios=20_000, dist=dist)
        full = V.monte_carlo(
            returns, values, confidence=0.975, n_scenarios=20_000, dist=dist, revalue=lambda r: r @ values
        )
        assert full.var == pytest.approx(base.var, rel=1e-10)
        assert full.es == pytest.approx(base.es, rel=1e-10)


def test_monte_carlo_full_revaluation_of_a_non_linear_payoff() -> None:
    """A book losing v·|r| (short a straddle-like payoff) with r ~ N(0, σ²): loss quantile
    v·σ·Φ⁻¹((1+c)/2) (folded normal; scipy.stats.halfnorm.ppf). Delta-normal would say 0."""
    sigma, v = 0.02, 1e6
    returns = np.random.default_rng(1).standard_normal((500, 1))
    cov = [[sigma**2]]
    res = V.monte_carlo(returns, [0.0], confidence=0.99, cov=cov, revalue=lambda r: -v * np.abs(r[:, 0]))
    expected = v * sigma * stats.halfnorm.ppf(0.99)
    # Standard error of the 99% quantile of 100,000 draws: √(c(1−c)/n)/f(q) ≈ 0.4% here; 4 SE.
    se = math.sqrt(0.99 * 0.01 / 100_000) / stats.halfnorm.pdf(stats.halfnorm.ppf(0.99)) * v * sigma
    assert res.var == pytest.approx(expected, abs=4 * se)


def test_monte_carlo_simulated_horizon_equals_sqrt_scaling_for_a_linear_book() -> None:
    returns, values = _book()
    root = V.monte_carlo(returns, values, confidence=0.99, horizon_days=10, n_scenarios=20_000)
    sim = V.monte_carlo(
        returns, values, confidence=0.99, horizon_days=10, n_scenarios=20_000, horizon_method="simulate"
    )
    assert sim.var == pytest.approx(root.var, rel=1e-10)


def test_monte_carlo_with_a_singular_covariance_uses_the_eigen_factor() -> None:
    """A duplicated asset makes Σ singular (Cholesky fails); MC still matches the parametric VaR."""
    returns, values = _book(n=3)
    returns = np.column_stack([returns, returns[:, 0]])
    values = np.append(values, 1e5)
    mc = V.monte_carlo(returns, values, confidence=0.99)
    pn = V.parametric_normal(returns, values, confidence=0.99)
    assert mc.details["cov_repaired"] == 0.0
    assert mc.var == pytest.approx(pn.var, rel=0.03)


def test_monte_carlo_on_a_history_that_never_moved_reports_zero() -> None:
    returns = np.zeros((50, 2))
    res = V.monte_carlo(returns, [1e6, -5e5], confidence=0.99, n_scenarios=1000)
    assert (res.var, res.es) == (0.0, 0.0)
    assert V.historical(returns, [1e6, -5e5], confidence=0.99).var == 0.0


def test_monte_carlo_rejects_bad_settings() -> None:
    returns, values = _book()
    with pytest.raises(RiskInputError, match="distribution"):
        V.monte_carlo(returns, values, confidence=0.99, dist="cauchy")
    with pytest.raises(RiskInputError, match="degrees of freedom"):
        V.monte_carlo(returns, values, confidence=0.99, dist="t", dof=1.5)
    with pytest.raises(RiskInputError, match="n_scenarios"):
        V.monte_carlo(returns, values, confidence=0.99, n_scenarios=0)
    with pytest.raises(RiskInputError, match="horizon method"):
        V.monte_carlo(returns, values, confidence=0.99, horizon_method="linear")
    with pytest.raises(RiskInputError, match="3 P&L values"):
        V.monte_carlo(returns, values, confidence=0.99, n_scenarios=10, revalue=lambda r: np.zeros(3))
    with pytest.raises(RiskInputError, match="non-finite"):
        V.monte_carlo(returns, values, confidence=0.99, n_scenarios=10, revalue=lambda r: np.full(len(r), np.nan))
    with pytest.raises(RiskInputError, match="all zero"):
        V.monte_carlo(returns, values, confidence=0.99, cov=np.zeros((4, 4)))


def test_revaluation_callback_cannot_modify_the_scenarios() -> None:
    returns, values = _book()

    def vandal(scenarios: np.ndarray) -> np.ndarray:
        scenarios[0, 0] = 1.0
        return scenarios @ values

    with pytest.raises(ValueError, match="read-only"):
        V.monte_carlo(returns, values, confidence=0.99, n_scenarios=10, revalue=vandal)


# --- var_all --------------------------------------------------------------------------------------


def test_var_all_equals_the_single_method_functions() -> None:
    returns, values = _book()
    results = V.var_all(returns, values, n_scenarios=20_000, seed=4)
    assert len(results) == len(V.DEFAULT_METHODS) * 3 * 2
    keys = [(r.method, r.confidence, r.horizon_days) for r in results]
    assert keys[:6] == [("parametric_normal", c, h) for c in (0.95, 0.975, 0.99) for h in (1, 10)]
    by_key = dict(zip(keys, results, strict=True))
    singles = {
        "parametric_normal": lambda c, h: V.parametric_normal(returns, values, confidence=c, horizon_days=h),
        "parametric_t": lambda c, h: V.parametric_t(returns, values, confidence=c, horizon_days=h),
        "cornish_fisher": lambda c, h: V.cornish_fisher(returns, values, confidence=c, horizon_days=h),
        "historical": lambda c, h: V.historical(returns, values, confidence=c, horizon_days=h),
        "monte_carlo": lambda c, h: V.monte_carlo(
            returns, values, confidence=c, horizon_days=h, n_scenarios=20_000, seed=4
        ),
    }
    for (method, c, h), res in by_key.items():
        single = singles[method](c, h)
        assert res.var == pytest.approx(single.var, rel=1e-12), (method, c, h)
        assert res.es == pytest.approx(single.es, rel=1e-12), (method, c, h)


def test_var_all_runs_the_other_methods_by_name() -> None:
    """FHS (EWMA, GARCH), EVT and Monte Carlo t can be requested alongside the defaults."""
    returns, values = _book(t=600)
    methods = ("monte_carlo_t", "fhs_ewma", "fhs_garch", "evt")
    results = V.var_all(returns, values, methods=methods, confidences=(0.99,), horizons=(1,), n_scenarios=20_000)
    assert [r.method for r in results] == list(methods)
    assert all(r.es >= r.var > 0 for r in results)


def test_var_all_rejects_unknown_methods_and_options() -> None:
    returns, values = _book()
    with pytest.raises(RiskInputError, match="Unknown VaR methods: magic"):
        V.var_all(returns, values, methods=("historical", "magic"))
    with pytest.raises(TypeError, match="colour"):
        V.var_all(returns, values, colour="red")


# --- bad input ------------------------------------------------------------------------------------

ALL_SINGLE = [
    lambda r, v, **kw: V.parametric_normal(r, v, **kw),
    lambda r, v, **kw: V.parametric_t(r, v, **kw),
    lambda r, v, **kw: V.cornish_fisher(r, v, **kw),
    lambda r, v, **kw: V.historical(r, v, **kw),
    lambda r, v, **kw: V.monte_carlo(r, v, n_scenarios=1000, **kw),
    lambda r, v, **kw: V.var_all(r, v, n_scenarios=1000, confidences=(kw["confidence"],)),
]


@pytest.mark.parametrize("method", ALL_SINGLE)
@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1, float("nan")])
def test_confidence_outside_zero_one_is_rejected(method, confidence: float) -> None:
    returns, values = _book()
    with pytest.raises(RiskInputError, match="Confidence must be strictly between 0 and 1"):
        method(returns, values, confidence=confidence)


@pytest.mark.parametrize("method", ALL_SINGLE)
def test_empty_history_is_rejected(method) -> None:
    with pytest.raises(RiskInputError, match="empty"):
        method(np.empty((0, 2)), [1.0, 2.0], confidence=0.99)


@pytest.mark.parametrize("method", ALL_SINGLE)
def test_nan_prices_are_rejected(method) -> None:
    """A NaN price gives a NaN return; a portfolio without prices has an all-NaN column."""
    returns, values = _book()
    returns[5, 1] = np.nan
    with pytest.raises(RiskInputError, match="NaN"):
        method(returns, values, confidence=0.99)
    returns[:, 2] = np.nan
    with pytest.raises(RiskInputError, match="NaN"):
        method(returns, values, confidence=0.99)


@pytest.mark.parametrize("method", ALL_SINGLE)
def test_values_length_mismatch_is_rejected(method) -> None:
    returns, values = _book()
    with pytest.raises(RiskInputError, match="3 position values for 4 return series"):
        method(returns, values[:3], confidence=0.99)


@pytest.mark.parametrize("method", ALL_SINGLE)
def test_a_single_day_of_history_is_rejected(method) -> None:
    with pytest.raises(RiskInputError, match="At least 2 days"):
        method(np.array([[0.01, 0.02]]), [1.0, 2.0], confidence=0.99)


@pytest.mark.parametrize("horizon", [0, -1, 1.5, True])
def test_a_horizon_that_is_not_a_positive_whole_number_is_rejected(horizon) -> None:
    returns, values = _book()
    with pytest.raises(RiskInputError, match="Horizon"):
        V.historical(returns, values, confidence=0.99, horizon_days=horizon)


# --- real data ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sp500_returns() -> np.ndarray:
    """Daily simple returns of 20 S&P 500 stocks, 1990–2022 (skfolio.datasets.load_sp500_dataset)."""
    datasets = pytest.importorskip("skfolio.datasets")
    prices = datasets.load_sp500_dataset()
    return prices.pct_change().dropna().to_numpy()


def test_real_sp500_equal_weight_book_has_a_plausible_var(sp500_returns: np.ndarray) -> None:
    """An equal-weight $1m book of 20 large US stocks: 99% 1-day historical VaR ≈ 3% of NAV
    over 1990–2022 (daily vol ≈ 1.2%, fat tails); every method lands between 2% and 9%."""
    n = sp500_returns.shape[1]
    values = np.full(n, 1e6 / n)
    results = {r.method: r for r in V.var_all(sp500_returns, values, confidences=(0.99,), horizons=(1,))}
    assert 20_000 < results["historical"].var < 45_000
    assert all(20_000 < r.var < 90_000 and r.es >= r.var for r in results.values())
    # Fat tails: the empirical 99% VaR exceeds the normal one and the fitted ν is small.
    assert results["historical"].var > results["parametric_normal"].var
    assert 2.5 <= results["parametric_t"].details["dof"] < 6
    assert results["monte_carlo"].var == pytest.approx(results["parametric_normal"].var, rel=0.03)
    # Excess kurtosis ≈ 9.6 > 8: outside the Cornish–Fisher domain of validity, and flagged.
    assert results["cornish_fisher"].details["excess_kurtosis"] > 8
    assert results["cornish_fisher"].details["cf_monotone"] == 0.0


def test_cornish_fisher_flags_an_expansion_that_is_not_a_quantile_function() -> None:
    """q'(z) = (K/8 − S²/6)z² + (S/3)z + (1 − K/8 + 5S²/36) must stay ≥ 0 (differentiating the
    expansion; Maillard 2012): for S = 0 that is 0 ≤ K ≤ 8. Student-t(5) losses (K ≈ 6) pass;
    a sample of three points (K = −1.5) does not, and its VaR is not trusted."""
    rng = np.random.default_rng(3)
    fat = stats.t.rvs(7, size=5_000, random_state=rng)[:, None] * 0.01
    assert V.cornish_fisher(fat, [1e6], confidence=0.99).details["cf_monotone"] == 1.0
    three = np.array([[0.01], [-0.02], [0.005]])
    assert V.cornish_fisher(three, [1e6], confidence=0.99).details["cf_monotone"] == 0.0


def test_a_flat_book_reports_a_positive_zero() -> None:
    """No −0.0 in results (it would print as "−0")."""
    returns, _ = _book()
    for res in V.var_all(returns, np.zeros(4), n_scenarios=1_000, confidences=(0.99,)):
        assert math.copysign(1.0, res.var) == 1.0 and res.var == 0.0, res
