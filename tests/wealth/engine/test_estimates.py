"""Expected returns and covariance (wealth.engine.estimates).

Expected numbers come from scikit-learn's LedoitWolf, the James–Stein closed form on an exactly
spherical sample (skfolio's ShrunkMu differs by design, see mean_shrunk), the
He & Litterman (1999) formulas evaluated by hand on small examples, and PyPortfolioOpt's
BlackLittermanModel on the same inputs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.covariance import LedoitWolf

from wealth.engine.estimates import (
    EstimationError,
    black_litterman,
    covariance_ledoit_wolf,
    equilibrium_returns,
    implied_risk_aversion,
    mean_shrunk,
)


@pytest.fixture(scope="module")
def real_returns() -> np.ndarray:
    """The last ~5 years (1,260 days, to 2022-12-28) of daily simple returns of the 20 S&P 500
    stocks shipped with skfolio (skfolio.datasets.load_sp500_dataset)."""
    datasets = pytest.importorskip("skfolio.datasets")
    prices = datasets.load_sp500_dataset()
    return prices.pct_change().dropna().iloc[-1260:].to_numpy(dtype=np.float64)


def _cov3() -> np.ndarray:
    vol = np.array([0.15, 0.20, 0.25])
    corr = np.array([[1.0, 0.3, 0.1], [0.3, 1.0, 0.4], [0.1, 0.4, 1.0]])
    return np.outer(vol, vol) * corr


# ---------------------------------------------------------------------------- covariance


def test_ledoit_wolf_is_sklearns_shrunk_covariance_times_252(real_returns: np.ndarray) -> None:
    expected = LedoitWolf().fit(real_returns).covariance_ * 252

    got = covariance_ledoit_wolf(real_returns)

    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.linalg.eigvalsh(got)[0] > 0


def test_ledoit_wolf_annualises_with_the_given_periods(real_returns: np.ndarray) -> None:
    monthly = covariance_ledoit_wolf(real_returns[:200], periods_per_year=12)

    np.testing.assert_allclose(monthly, LedoitWolf().fit(real_returns[:200]).covariance_ * 12, rtol=1e-12)


def test_ledoit_wolf_with_more_assets_than_periods_is_still_positive_definite() -> None:
    returns = np.random.default_rng(1).normal(0, 0.01, (30, 50))

    assert np.linalg.eigvalsh(covariance_ledoit_wolf(returns))[0] > 0


@pytest.mark.parametrize(
    ("returns", "field"),
    [
        (np.zeros(10), "returns"),
        (np.zeros((1, 3)), "returns"),
        (np.array([[0.01, np.nan], [0.02, 0.0]]), "returns"),
    ],
)
def test_bad_returns_name_the_field(returns: np.ndarray, field: str) -> None:
    with pytest.raises(EstimationError) as info:
        covariance_ledoit_wolf(returns)
    assert field in info.value.fields


def test_periods_per_year_must_be_positive() -> None:
    with pytest.raises(EstimationError) as info:
        mean_shrunk(np.zeros((5, 3)), periods_per_year=0)
    assert "periods_per_year" in info.value.fields


# ---------------------------------------------------------------------------- James–Stein means


# Columns 2–5 of the 8 × 8 Sylvester–Hadamard matrix: orthogonal, mean zero, entries ±1.
HADAMARD_COLUMNS = np.array(
    [
        [1, 1, 1, 1],
        [-1, 1, -1, 1],
        [1, -1, -1, 1],
        [-1, -1, 1, 1],
        [1, 1, 1, -1],
        [-1, 1, -1, -1],
        [1, -1, -1, -1],
        [-1, -1, 1, -1],
    ],
    dtype=np.float64,
)


def test_james_stein_toward_the_grand_mean_pays_a_degree_of_freedom() -> None:
    """Closed form (Lindley 1962; Efron & Morris 1975): with S = σ²I and the target the estimated
    grand mean, β = (N − 3)σ²/(T‖m − m̄‖²).

    Returns = 0.01 × (orthogonal ±1 columns) + means (0, 0.2, 0.4, 1.0) %: T = 8, N = 4,
    S = 8 × 10⁻⁴/7 · I exactly, m̄ = 0.4 %, ‖m − m̄‖² = (16 + 4 + 0 + 36) × 10⁻⁶ = 5.6 × 10⁻⁵, so
    β = 1 × (8 × 10⁻⁴/7)/(8 × 5.6 × 10⁻⁵) = 25/98. The fixed-target (N − 2) form would give 50/98."""
    means = np.array([0.0, 0.002, 0.004, 0.010])
    returns = 0.01 * HADAMARD_COLUMNS + means
    np.testing.assert_allclose(np.cov(returns, rowvar=False), 8e-4 / 7 * np.eye(4), atol=1e-18)

    mu, beta = mean_shrunk(returns, periods_per_year=1)

    assert beta == pytest.approx(25 / 98, rel=1e-12)
    np.testing.assert_allclose(mu, 0.004 + (1 - 25 / 98) * (means - 0.004), rtol=1e-12)


def test_james_stein_does_not_shrink_three_spherical_assets() -> None:
    """N − 3 = 0: with three means and S = σ²I the centred intensity is 0 (nothing to gain)."""
    returns = 0.01 * HADAMARD_COLUMNS[:, :3] + np.array([0.0, 0.002, 0.010])

    mu, beta = mean_shrunk(returns, periods_per_year=1)

    assert beta == 0.0
    np.testing.assert_allclose(mu, returns.mean(axis=0), rtol=1e-12)


def test_james_stein_differs_from_skfolio_shrunk_mu_as_documented(real_returns: np.ndarray) -> None:
    """skfolio's ShrunkMu (JAMES_STEIN) uses the fixed-target (tr S − 2λ_max(S)) with the grand
    mean; the engine uses the centred QSQ, Q = I − 11ᵀ/N (docstring of mean_shrunk). Both
    intensities are checked against their formulas on the same data."""
    moments = pytest.importorskip("skfolio.moments")
    library = moments.ShrunkMu(method=moments.ShrunkMuMethods.JAMES_STEIN).fit(real_returns)
    t = real_returns.shape[0]
    m = real_returns.mean(axis=0)
    spread = float(np.sum((m - m.mean()) ** 2))
    sample = np.cov(real_returns, rowvar=False)
    fixed = np.linalg.eigvalsh(sample)
    centred = np.linalg.eigvalsh(sample - sample.mean(axis=0) - sample.mean(axis=1)[:, None] + sample.mean())
    assert library.beta_ == pytest.approx((fixed.sum() - 2 * fixed[-1]) / (t * spread), rel=1e-10)

    _, beta = mean_shrunk(real_returns)

    assert beta == pytest.approx((centred.sum() - 2 * centred[-1]) / (t * spread), rel=1e-10)
    assert (round(library.beta_, 2), round(beta, 2)) == (0.33, 0.55)


def test_james_stein_keeps_the_grand_mean_and_pulls_every_asset_toward_it(real_returns: np.ndarray) -> None:
    sample = real_returns.mean(axis=0) * 252

    mu, beta = mean_shrunk(real_returns)

    assert mu.mean() == pytest.approx(sample.mean(), rel=1e-12)
    np.testing.assert_allclose(mu - sample.mean(), (1 - beta) * (sample - sample.mean()), atol=1e-14)


def test_james_stein_intensity_is_clipped_to_one_when_means_barely_differ() -> None:
    """Given pure noise around a common mean, (tr S − 2λ_max) far exceeds T‖m − m̄‖²: β clips to 1
    and every asset gets the grand mean."""
    rng = np.random.default_rng(5)
    returns = 0.0004 + rng.normal(0, 0.02, (60, 10))

    mu, beta = mean_shrunk(returns)

    assert beta == 1.0
    np.testing.assert_allclose(mu, returns.mean() * 252, rtol=1e-12)


def test_james_stein_does_not_shrink_two_assets() -> None:
    """Stein's result needs at least three means: with two, tr S − 2λ_max < 0 and β = 0."""
    returns = np.random.default_rng(2).normal(0.001, 0.01, (100, 2))

    mu, beta = mean_shrunk(returns)

    assert beta == 0.0
    np.testing.assert_allclose(mu, returns.mean(axis=0) * 252)


# ---------------------------------------------------------------------------- equilibrium


def test_equilibrium_returns_are_rf_plus_delta_sigma_w() -> None:
    cov = _cov3()
    w = np.array([0.5, 0.3, 0.2])

    pi = equilibrium_returns(cov, w, risk_aversion=2.5, risk_free=0.02)

    # By hand: Σw = [0.5·0.0225 + 0.3·0.009 + 0.2·0.00375, …]
    expected = 0.02 + 2.5 * np.array(
        [
            0.5 * 0.0225 + 0.3 * 0.009 + 0.2 * 0.00375,
            0.5 * 0.009 + 0.3 * 0.04 + 0.2 * 0.02,
            0.5 * 0.00375 + 0.3 * 0.02 + 0.2 * 0.0625,
        ]
    )
    np.testing.assert_allclose(pi, expected, rtol=1e-12)


def test_implied_risk_aversion_and_its_inverse() -> None:
    """δ = (E[r_m] − rf)/σ²_m; feeding it back, the market's own equilibrium return is E[r_m]."""
    cov = _cov3()
    w = np.array([0.5, 0.3, 0.2])
    market_var = float(w @ cov @ w)

    delta = implied_risk_aversion(0.08, market_var, 0.02)
    pi = equilibrium_returns(cov, w, delta, risk_free=0.02)

    assert delta == pytest.approx(0.06 / market_var)
    assert float(w @ pi) == pytest.approx(0.08, rel=1e-12)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((0.01, 0.04, 0.02), "market_return"),
        ((0.08, 0.0, 0.02), "market_variance"),
        ((np.nan, 0.04, 0.0), "market_return"),
    ],
)
def test_implied_risk_aversion_rejects_impossible_markets(args: tuple[float, float, float], field: str) -> None:
    with pytest.raises(EstimationError) as info:
        implied_risk_aversion(*args)
    assert field in info.value.fields


def test_equilibrium_returns_rejects_a_non_psd_covariance_and_bad_weights() -> None:
    with pytest.raises(EstimationError) as info:
        equilibrium_returns(np.array([[1.0, 2.0], [2.0, 1.0]]), [0.5, 0.5], 2.0)
    assert "cov" in info.value.fields and "positive semi-definite" in str(info.value)
    with pytest.raises(EstimationError) as info:
        equilibrium_returns(_cov3(), [0.5, 0.5], 2.0)
    assert "market_weights" in info.value.fields


# ---------------------------------------------------------------------------- Black–Litterman


def test_without_views_the_posterior_mean_is_the_prior_and_the_covariance_grows_by_tau() -> None:
    cov, prior = _cov3(), np.array([0.05, 0.07, 0.09])

    mean, post_cov = black_litterman(cov, prior, np.zeros((0, 3)), np.zeros(0), tau=0.05)

    np.testing.assert_array_equal(mean, prior)
    np.testing.assert_allclose(post_cov, 1.05 * cov)


def test_a_fully_confident_absolute_view_is_met_exactly() -> None:
    cov, prior = _cov3(), np.array([0.05, 0.07, 0.09])
    p = np.array([[0.0, 1.0, 0.0]])

    mean, post_cov = black_litterman(cov, prior, p, [0.12], confidences=[1.0])

    assert mean[1] == pytest.approx(0.12, abs=1e-12)
    # The other assets move by their regression on asset 1: Δμ_i = Σ_i1/Σ_11 · (Q − π_1).
    np.testing.assert_allclose(mean, prior + cov[:, 1] / cov[1, 1] * (0.12 - 0.07), atol=1e-12)
    # And no uncertainty is left about the view portfolio beyond Σ itself: p(Σ_BL − Σ)pᵀ = 0.
    assert float((p @ (post_cov - cov) @ p.T)[0, 0]) == pytest.approx(0.0, abs=1e-14)


def test_two_asset_posterior_matches_the_he_litterman_formula_by_hand() -> None:
    """Given Σ = [[0.04, 0.01], [0.01, 0.09]], π = (5 %, 8 %), τ = 0.05 and one view "asset 0 earns
    10 %" with Ω = 0.001, then μ_BL = [(τΣ)⁻¹ + PᵀΩ⁻¹P]⁻¹[(τΣ)⁻¹π + PᵀΩ⁻¹Q] (He & Litterman 1999)
    written out with 2 × 2 inverses, and Σ_BL = Σ + [(τΣ)⁻¹ + PᵀΩ⁻¹P]⁻¹."""
    cov, prior, tau, omega = np.array([[0.04, 0.01], [0.01, 0.09]]), np.array([0.05, 0.08]), 0.05, 0.001
    # τΣ = [[0.002, 0.0005], [0.0005, 0.0045]], det = 0.002·0.0045 − 0.0005² = 8.75e-6
    ts_inv = np.array([[0.0045, -0.0005], [-0.0005, 0.002]]) / 8.75e-6
    a = ts_inv + np.array([[1 / omega, 0.0], [0.0, 0.0]])
    m = np.linalg.inv(a)
    expected_mean = m @ (ts_inv @ prior + np.array([0.10 / omega, 0.0]))

    mean, post_cov = black_litterman(cov, prior, [[1.0, 0.0]], [0.10], tau=tau, omega=[[omega]])

    np.testing.assert_allclose(mean, expected_mean, rtol=1e-10)
    np.testing.assert_allclose(post_cov, cov + m, rtol=1e-10)
    # The view pulls asset 0 from 5 % two-thirds of the way to 10 %: τσ²/(τσ² + Ω) = 0.002/0.003.
    assert mean[0] == pytest.approx(0.05 + 0.002 / 0.003 * 0.05, rel=1e-10)


def test_matches_pypfopt_black_litterman_with_idzorek_confidences(real_returns: np.ndarray) -> None:
    """PyPortfolioOpt's BlackLittermanModel uses the same posterior (π + τΣPᵀ(PτΣPᵀ + Ω)⁻¹(Q − Pπ),
    Σ + M) and the same Idzorek closed form for Ω, so the two agree to rounding."""
    pypfopt = pytest.importorskip("pypfopt")
    cov = covariance_ledoit_wolf(real_returns)
    w_mkt = np.full(20, 1 / 20)
    prior = equilibrium_returns(cov, w_mkt, 2.5, risk_free=0.02)
    p = np.zeros((3, 20))
    p[0, 0] = 1.0  # AAPL earns 15 %
    p[1, 4], p[1, 19] = 1.0, -1.0  # CVX beats XOM by 2 %
    p[2, 10] = 1.0  # LLY earns 12 %
    q = np.array([0.15, 0.02, 0.12])
    conf = np.array([0.6, 0.3, 1.0])

    mean, post_cov = black_litterman(cov, prior, p, q, tau=0.05, confidences=conf)
    model = pypfopt.BlackLittermanModel(cov, pi=prior, P=p, Q=q, omega="idzorek", view_confidences=conf, tau=0.05)

    np.testing.assert_allclose(mean, np.asarray(model.bl_returns()), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(post_cov, np.asarray(model.bl_cov()), rtol=1e-10, atol=1e-14)
    assert mean[10] == pytest.approx(0.12, abs=1e-10)  # the 100 % view holds exactly


def test_lower_confidence_moves_the_posterior_less() -> None:
    cov, prior = _cov3(), np.array([0.05, 0.07, 0.09])
    p, q = [[1.0, 0.0, 0.0]], [0.10]

    moves = [black_litterman(cov, prior, p, q, confidences=[c])[0][0] - 0.05 for c in (0.25, 0.5, 0.75, 1.0)]

    assert all(0 < a < b for a, b in itertools.pairwise(moves))
    assert moves[-1] == pytest.approx(0.05)
    # Idzorek's closed form: at 50 % confidence Ω = τpΣpᵀ, so the move is exactly half the way.
    assert moves[1] == pytest.approx(0.025)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"P": [[1.0, 0.0]], "Q": [0.1]}, "P"),
        ({"P": [[1.0, 0.0, 0.0]], "Q": [0.1, 0.2]}, "Q"),
        ({"P": [[0.0, 0.0, 0.0]], "Q": [0.1]}, "P"),
        ({"P": [[1.0, 0.0, 0.0]], "Q": [0.1], "confidences": [0.0]}, "confidences"),
        ({"P": [[1.0, 0.0, 0.0]], "Q": [0.1], "confidences": [1.5]}, "confidences"),
        ({"P": [[1.0, 0.0, 0.0]], "Q": [0.1], "omega": [[0.1]], "confidences": [0.5]}, "omega"),
        ({"P": [[1.0, 0.0, 0.0]], "Q": [0.1], "omega": [[-0.1]]}, "omega"),
        ({"P": [[1.0, 0.0, 0.0]], "Q": [0.1], "tau": 0.0}, "tau"),
        ({"P": [[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]], "Q": [0.1, 0.2], "confidences": [1.0, 1.0]}, "P"),
    ],
)
def test_bad_views_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(EstimationError) as info:
        black_litterman(_cov3(), np.array([0.05, 0.07, 0.09]), **kwargs)  # type: ignore[arg-type]
    assert field in info.value.fields


def test_black_litterman_with_a_zero_covariance_names_the_covariance() -> None:
    # Σ = 0 makes PτΣPᵀ + Ω = 0: the failure is the covariance's, not "views not independent".
    with pytest.raises(EstimationError) as info:
        black_litterman(np.zeros((3, 3)), np.array([0.05, 0.07, 0.09]), [[1.0, 0.0, 0.0]], [0.1])
    assert list(info.value.fields) == ["cov"]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: black_litterman(_cov3(), [0.05, 0.07, 0.09], [[1.0, 0, 0]], [0.1], tau="0.05"), "tau"),
        (lambda: black_litterman(_cov3(), [0.05, 0.07, 0.09], [[1.0, 0, 0]], [0.1], tau=None), "tau"),
        (lambda: black_litterman(_cov3(), [0.05, 0.07, 0.09], [[1.0, 0, 0]], ["ten %"]), "Q"),
        (lambda: black_litterman(_cov3(), [0.05, 0.07, 0.09], [[1.0, 0, 0]], [0.1], confidences=["x"]), "confidences"),
        (lambda: equilibrium_returns(_cov3(), [0.3, 0.3, 0.4], 2.5, risk_free="0.02"), "risk_free"),
        (lambda: equilibrium_returns(_cov3(), [0.3, 0.3, 0.4], None), "risk_aversion"),
        (lambda: equilibrium_returns({"a": 1}, [0.3, 0.3, 0.4], 2.5), "cov"),
        (lambda: implied_risk_aversion(0.08, 0.04, "0.02"), "risk_free"),
        (lambda: implied_risk_aversion(None, 0.04, 0.02), "market_return"),
        (lambda: mean_shrunk([[0.01, "a"], [0.02, 0.03]]), "returns"),
        (lambda: mean_shrunk(np.zeros((5, 3)), periods_per_year="252"), "periods_per_year"),
    ],
)
def test_non_numeric_arguments_are_estimation_errors(call: object, field: str) -> None:
    # The module's own error with .fields, never a TypeError/ValueError from numpy.
    with pytest.raises(EstimationError) as info:
        call()  # type: ignore[operator]
    assert field in info.value.fields
