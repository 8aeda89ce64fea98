"""Factor risk: time-series regression of asset returns on factor returns, variance decomposition.

Model: rᵢₜ = αᵢ + Σₖ βᵢₖ fₖₜ + εᵢₜ, fitted by ordinary least squares with an intercept, asset by
asset (one ``numpy.linalg.lstsq`` call for all assets). With B the N × K betas, Σ_f the sample
covariance of the factor returns and D the diagonal of residual variances, the book's daily P&L
variance splits into

    systematic  eᵀ Σ_f e   with e = Bᵀ v (currency exposure per 1.00 factor return)
    idiosyncratic  vᵀ D v   (residuals assumed uncorrelated across assets)

and the systematic part into per-factor Euler contributions eₖ·(Σ_f e)ₖ, which sum to it.
Variances use ddof = 1 for factors and residuals alike, so for a single asset the split reproduces
its sample variance exactly (OLS residuals are orthogonal to the factors in sample).
Amounts are daily, in base currency squared; take square roots for volatilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskapp.engine.types import FloatArray, RiskInputError, check_returns, check_values


@dataclass(frozen=True)
class FactorExposures:
    """Result of :func:`factor_exposures` (daily units; amounts in base currency).

    ``exposures`` (K) is the currency P&L per 1.00 factor return (Bᵀv); ``portfolio_betas`` (K) are
    the same per unit of ``nav`` (default the gross value Σ|v|, which is the NAV of a long-only
    fully invested book). ``contribution_per_factor`` (K) sums to ``systematic_var``;
    ``idiosyncratic_by_asset`` (N) sums to ``idiosyncratic_var``.
    """

    factor_names: tuple[str, ...]
    alphas: FloatArray
    betas: FloatArray
    r_squared: FloatArray
    residual_var: FloatArray
    factor_cov: FloatArray
    exposures: FloatArray
    portfolio_betas: FloatArray
    systematic_var: float
    idiosyncratic_var: float
    contribution_per_factor: FloatArray
    idiosyncratic_by_asset: FloatArray

    @property
    def total_var(self) -> float:
        return self.systematic_var + self.idiosyncratic_var

    @property
    def systematic_share(self) -> float:
        """Fraction of the model variance explained by the factors (0 when the book has no variance)."""
        total = self.total_var
        return self.systematic_var / total if total > 0 else 0.0


def factor_exposures(
    asset_returns: npt.ArrayLike,
    factor_returns: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    factor_names: Sequence[str] | None = None,
    nav: float | None = None,
) -> FactorExposures:
    """Regress each asset (T × N returns) on the factors (T × K returns, same dates) and decompose
    the variance of the book ``values`` (N). See the module docstring for the model and units."""
    y = check_returns(asset_returns)
    f = check_returns(factor_returns)
    t, n = y.shape
    k = f.shape[1]
    if f.shape[0] != t:
        raise RiskInputError(f"{t} days of asset returns but {f.shape[0]} days of factor returns.")
    if t <= k + 1:
        raise RiskInputError(f"Need more than {k + 1} days of history to fit {k} factors with an intercept; got {t}.")
    v = check_values(values, n)
    names = tuple(str(x) for x in factor_names) if factor_names is not None else tuple(f"F{i + 1}" for i in range(k))
    if len(names) != k:
        raise RiskInputError(f"{len(names)} factor names for {k} factor series.")

    x = np.column_stack([np.ones(t), f])
    if np.linalg.matrix_rank(x) < k + 1:
        raise RiskInputError("The factor returns are collinear (or constant); their betas cannot be separated.")
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    alphas = np.asarray(coef[0], dtype=np.float64)  # N
    betas = np.asarray(coef[1:].T, dtype=np.float64)  # N × K
    resid = y - x @ coef
    residual_var = resid.var(axis=0, ddof=1)
    asset_var = y.var(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_squared = np.where(asset_var > 0, 1.0 - residual_var / asset_var, 0.0)
    factor_cov = np.atleast_2d(np.cov(f, rowvar=False, ddof=1))

    exposures = betas.T @ v
    marginal = factor_cov @ exposures
    contribution = exposures * marginal
    idio_by_asset = v * v * residual_var
    scale = float(np.abs(v).sum()) if nav is None else float(nav)
    if not (np.isfinite(scale) and scale > 0):
        raise RiskInputError("The NAV used for portfolio betas must be a positive number.")
    return FactorExposures(
        factor_names=names,
        alphas=alphas,
        betas=betas,
        r_squared=r_squared,
        residual_var=residual_var,
        factor_cov=factor_cov,
        exposures=exposures,
        portfolio_betas=exposures / scale,
        systematic_var=float(contribution.sum()),
        idiosyncratic_var=float(idio_by_asset.sum()),
        contribution_per_factor=contribution,
        idiosyncratic_by_asset=idio_by_asset,
    )
