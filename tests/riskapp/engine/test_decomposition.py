"""Marginal, component (Euler) and incremental VaR (riskapp.engine.decomposition).

Sources: Euler allocation for homogeneous risk measures — Tasche (1999), "Risk contributions and
performance measurement", and McNeil, Frey & Embrechts, *Quantitative Risk Management*,
Euler capital allocation (for the normal, marginal VaR = z·(Σv)_i/σ_p, marginal ES = φ(z)/(1−c)·(Σv)_i/σ_p); Hull,
*Risk Management and Financial Institutions*, "marginal, incremental and component measures"
(incremental VaR ≈ marginal VaR × trade size for a small trade); inputs of Hull's two-asset
example ($10m at 2% daily vol, $5m at 1%, correlation 0.3).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from riskapp.engine import var as V
from riskapp.engine.decomposition import component_es, component_var, incremental_var, marginal_var
from riskapp.engine.types import RiskInputError

HULL_COV = np.array([[1.0, 0.3], [0.3, 1.0]]) * np.outer([0.02, 0.01], [0.02, 0.01])
HULL_VALUES = np.array([10e6, 5e6])


def _book(t: int = 600, n: int = 5, seed: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    returns = rng.standard_normal((t, n)) @ (rng.normal(size=(n, n)) * 0.01).T
    return returns, rng.uniform(-3e5, 1e6, n)


def test_components_of_hulls_two_asset_book_by_hand() -> None:
    """Σv = (0.0004·10m + 0.00006·5m, 0.00006·10m + 0.0001·5m) = (4,300, 1,100); σ_p = 220,227.
    Components z·v_i(Σv)_i/σ_p = z·(195,252.9; 24,974.2), summing to z·220,227 = the VaR."""
    z = stats.norm.ppf(0.99)
    comp = component_var(HULL_COV, HULL_VALUES, confidence=0.99)
    np.testing.assert_allclose(comp / z, [195_252.9, 24_974.2], atol=0.1)
    assert comp.sum() == pytest.approx(z * 220_227.2, abs=0.5)
    np.testing.assert_allclose(
        marginal_var(HULL_COV, HULL_VALUES, confidence=0.99), z * np.array([4300, 1100]) / 220_227.2, rtol=1e-6
    )


def test_components_sum_to_the_parametric_var_and_es() -> None:
    returns, values = _book()
    cov = np.cov(returns, rowvar=False)
    for h in (1, 10):
        total = V.parametric_normal(returns, values, confidence=0.975, horizon_days=h, cov=cov)
        assert component_var(cov, values, confidence=0.975, horizon_days=h).sum() == pytest.approx(total.var, rel=1e-12)
        assert component_es(cov, values, confidence=0.975, horizon_days=h).sum() == pytest.approx(total.es, rel=1e-12)


def test_marginal_var_is_the_gradient_of_the_parametric_var() -> None:
    """Central finite differences of VaR(v) agree with the analytic marginal VaR."""
    returns, values = _book()
    cov = np.cov(returns, rowvar=False)
    hist = returns[:5]

    def total(v: np.ndarray) -> float:
        return V.parametric_normal(hist, v, confidence=0.99, cov=cov).var

    step = 1.0
    numeric = [(total(values + step * e) - total(values - step * e)) / (2 * step) for e in np.eye(values.size)]
    np.testing.assert_allclose(marginal_var(cov, values, confidence=0.99), numeric, rtol=1e-6)


def test_a_flat_book_has_zero_marginals() -> None:
    assert not marginal_var(HULL_COV, [0.0, 0.0], confidence=0.99).any()
    assert not component_es(HULL_COV, [0.0, 0.0], confidence=0.99).any()


def test_decomposition_repairs_an_indefinite_matrix_and_rejects_a_zero_one() -> None:
    bad = np.array([[1.0, 0.9, -0.6], [0.9, 1.0, 0.9], [-0.6, 0.9, 1.0]]) * 1e-4
    comp = component_var(bad, [1.0, 2.0, 3.0], confidence=0.99)
    assert np.isfinite(comp).all()
    with pytest.raises(RiskInputError, match="all zero"):
        component_var(np.zeros((2, 2)), [1.0, 2.0], confidence=0.99)
    with pytest.raises(RiskInputError, match="for 3 positions"):
        marginal_var(HULL_COV, [1.0, 2.0, 3.0], confidence=0.99)


# --- incremental ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["historical", "parametric"])
def test_incremental_var_is_the_full_revaluation_difference(method: str) -> None:
    returns, values = _book()
    trade = np.array([0.0, 2e5, 0.0, -1e5, 0.0])
    single = V.historical if method == "historical" else V.parametric_normal
    expected = single(returns, values + trade, confidence=0.99).var - single(returns, values, confidence=0.99).var
    got = incremental_var(returns, values, trade, confidence=0.99, method=method)
    assert got == pytest.approx(expected, rel=1e-12)


def test_incremental_var_of_a_small_trade_is_about_marginal_times_size() -> None:
    """Hull (RMFI): for a small trade, incremental VaR ≈ marginal VaR × trade size."""
    returns, values = _book()
    cov = np.cov(returns, rowvar=False)
    trade = np.zeros(5)
    trade[2] = 1_000.0
    approx = float(marginal_var(cov, values, confidence=0.99) @ trade)
    exact = incremental_var(returns, values, trade, confidence=0.99, method="parametric")
    assert exact == pytest.approx(approx, rel=1e-3)


def test_a_hedge_has_negative_incremental_var() -> None:
    returns, values = _book()
    hedge = -0.5 * values
    assert incremental_var(returns, values, hedge, confidence=0.99) < 0
    assert incremental_var(returns, values, hedge, confidence=0.99, horizon_days=10) < 0


def test_incremental_var_rejects_bad_input() -> None:
    returns, values = _book()
    with pytest.raises(RiskInputError, match="Unknown incremental VaR method"):
        incremental_var(returns, values, values, confidence=0.99, method="delta")
    with pytest.raises(RiskInputError, match="3 position values for 5"):
        incremental_var(returns, values, [1.0, 2.0, 3.0], confidence=0.99)
    with pytest.raises(RiskInputError, match="Confidence"):
        incremental_var(returns, values, values, confidence=1.0)
