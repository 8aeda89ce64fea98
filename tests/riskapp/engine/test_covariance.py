"""Covariance estimators and the nearest-PSD repair (riskapp.engine.covariance).

Sources: numpy's ``np.cov`` (unbiased sample covariance); J.P. Morgan/Reuters, *RiskMetrics —
Technical Document*, 4th ed. (1996), chapter 5 (EWMA with λ = 0.94 for daily data and the
recursion σ²_t = λσ²_{t−1} + (1−λ)r²); Ledoit & Wolf (2004) as implemented by
``sklearn.covariance.LedoitWolf``; Higham (1988), "Computing a nearest symmetric positive
semidefinite matrix", Linear Algebra Appl. 103, Theorem 2.1 (the nearest PSD matrix and the
distance to it).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.covariance import LedoitWolf

from riskapp.engine.covariance import (
    covariance_prepare,
    estimate_cov,
    ewma_cov,
    is_psd,
    ledoit_wolf_cov,
    nearest_psd,
    sample_cov,
)
from riskapp.engine.types import RiskInputError


def _returns(t: int = 300, n: int = 4, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(n, n)) * 0.01
    return rng.standard_normal((t, n)) @ mix.T + 0.0003


# --- sample ---------------------------------------------------------------------------------------


def test_sample_cov_equals_numpy_unbiased_covariance() -> None:
    """Given returns, the sample covariance is numpy's np.cov(rowvar=False) (divisor T − 1)."""
    r = _returns()
    np.testing.assert_allclose(sample_cov(r), np.cov(r, rowvar=False), rtol=1e-12, atol=0)


def test_sample_cov_of_one_asset_is_a_1x1_matrix() -> None:
    """Given a single return series, the result is still N × N (here 1 × 1) = its variance."""
    r = _returns(n=1)
    cov = sample_cov(r[:, 0])
    assert cov.shape == (1, 1)
    assert cov[0, 0] == pytest.approx(np.var(r[:, 0], ddof=1), rel=1e-12)


# --- EWMA -----------------------------------------------------------------------------------------


def test_ewma_weights_by_hand_on_three_days() -> None:
    """Given 3 days and λ = 0.5, weights are λ², λ, 1 (oldest→newest) over their sum 1.75.

    RiskMetrics Technical Document (1996), ch. 5: weight ∝ λ^age, zero mean.
    """
    r = np.array([[0.01, -0.02], [0.03, 0.01], [-0.02, 0.02]])
    w = np.array([0.25, 0.5, 1.0]) / 1.75
    expected = sum(wi * np.outer(ri, ri) for wi, ri in zip(w, r, strict=True))
    np.testing.assert_allclose(ewma_cov(r, lam=0.5), expected, rtol=1e-14)


def test_ewma_matches_the_riskmetrics_recursion_on_a_long_history() -> None:
    """σ²_t = λσ²_{t−1} + (1−λ)r²_t (RiskMetrics 1996, ch. 5) agrees once λ^T is negligible."""
    r = _returns(t=1500, n=3)
    lam = 0.94
    rec = np.zeros((3, 3))
    for row in r:
        rec = lam * rec + (1 - lam) * np.outer(row, row)
    np.testing.assert_allclose(ewma_cov(r), rec, rtol=1e-10)


def test_ewma_rejects_a_decay_outside_zero_one() -> None:
    for lam in (0.0, 1.0, 1.2, -0.5):
        with pytest.raises(RiskInputError, match="λ"):
            ewma_cov(_returns(), lam=lam)


# --- Ledoit–Wolf ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("t", "n"), [(500, 5), (60, 40), (30, 50)])
def test_ledoit_wolf_equals_sklearn(t: int, n: int) -> None:
    """Equal to sklearn.covariance.LedoitWolf().fit(X).covariance_, including when T < N."""
    r = _returns(t=t, n=n)
    np.testing.assert_allclose(ledoit_wolf_cov(r), LedoitWolf().fit(r).covariance_, rtol=1e-12, atol=1e-18)
    assert is_psd(ledoit_wolf_cov(r))


def test_estimate_cov_dispatches_and_rejects_unknown_methods() -> None:
    r = _returns()
    np.testing.assert_allclose(estimate_cov(r), sample_cov(r))
    np.testing.assert_allclose(estimate_cov(r, method="ewma", lam=0.97), ewma_cov(r, lam=0.97))
    np.testing.assert_allclose(estimate_cov(r, method="ledoit_wolf"), ledoit_wolf_cov(r))
    with pytest.raises(RiskInputError, match="Unknown covariance method"):
        estimate_cov(r, method="garch")


# --- nearest PSD ----------------------------------------------------------------------------------


def test_nearest_psd_of_highams_indefinite_example() -> None:
    """A = [[1,1,0],[1,1,1],[0,1,1]] has eigenvalues 1 and 1 ± √2; Higham (1988) Thm 2.1:
    the nearest PSD matrix drops 1 − √2 and lies at Frobenius distance √2 − 1."""
    a = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    x = nearest_psd(a)
    assert np.linalg.eigvalsh(x).min() >= -1e-14
    np.testing.assert_allclose(x, x.T, atol=0)
    assert np.linalg.norm(a - x) == pytest.approx(math.sqrt(2) - 1, rel=1e-12)


def test_nearest_psd_leaves_a_psd_matrix_unchanged_and_symmetrises_otherwise() -> None:
    cov = sample_cov(_returns())
    np.testing.assert_allclose(nearest_psd(cov), cov, rtol=1e-10, atol=1e-20)
    skew = np.array([[0.0, 1.0], [-1.0, 0.0]]) * 1e-5
    np.testing.assert_allclose(nearest_psd(cov[:2, :2] + skew), cov[:2, :2], rtol=1e-10)


def test_nearest_psd_eigenvalue_floor() -> None:
    a = np.array([[1.0, 0.9, -0.6], [0.9, 1.0, 0.9], [-0.6, 0.9, 1.0]])
    assert np.linalg.eigvalsh(nearest_psd(a, eps=1e-4)).min() >= 1e-4 - 1e-12
    with pytest.raises(RiskInputError):
        nearest_psd(a, eps=-1.0)


# --- covariance_prepare ---------------------------------------------------------------------------


def test_prepare_keeps_a_positive_definite_matrix_and_gives_its_cholesky_factor() -> None:
    cov = sample_cov(_returns())
    prepared = covariance_prepare(cov, 4, factor=True)
    assert not prepared.repaired and prepared.factor_is_lower
    assert prepared.factor is not None
    np.testing.assert_allclose(prepared.factor @ prepared.factor.T, cov, rtol=1e-12)


def test_prepare_uses_a_singular_psd_matrix_as_is_with_an_eigen_factor() -> None:
    """Given a duplicated asset (singular but PSD), no repair; F Fᵀ still reproduces Σ."""
    r = _returns(n=3)
    r = np.column_stack([r, r[:, 0]])
    cov = sample_cov(r)
    prepared = covariance_prepare(cov, factor=True)
    assert not prepared.repaired and not prepared.factor_is_lower
    assert prepared.factor is not None
    np.testing.assert_allclose(prepared.factor @ prepared.factor.T, cov, rtol=1e-9, atol=1e-16)


def test_prepare_repairs_an_indefinite_matrix() -> None:
    """Correlations 0.9, 0.9, −0.6 are not jointly possible: repaired to the nearest PSD."""
    vols = np.array([0.01, 0.02, 0.015])
    corr = np.array([[1.0, 0.9, -0.6], [0.9, 1.0, 0.9], [-0.6, 0.9, 1.0]])
    prepared = covariance_prepare(corr * np.outer(vols, vols))
    assert prepared.repaired
    assert is_psd(prepared.cov)


def test_prepare_flags_an_asymmetric_matrix_as_repaired() -> None:
    cov = sample_cov(_returns())
    cov[0, 1] *= 1.5
    prepared = covariance_prepare(cov)
    assert prepared.repaired
    np.testing.assert_allclose(prepared.cov, prepared.cov.T, atol=0)


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.zeros((3, 3)), "all zero"),
        (-np.eye(2), "no positive variance"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), "non-finite"),
        (np.ones((2, 3)), "square"),
        (np.empty((0, 0)), "square"),
    ],
)
def test_prepare_rejects_unusable_matrices(matrix: np.ndarray, message: str) -> None:
    with pytest.raises(RiskInputError, match=message):
        covariance_prepare(matrix)


def test_prepare_rejects_a_matrix_of_the_wrong_size() -> None:
    with pytest.raises(RiskInputError, match="for 3 positions"):
        covariance_prepare(np.eye(2), 3)


def test_estimators_reject_empty_and_nan_histories() -> None:
    for estimator in (sample_cov, ewma_cov, ledoit_wolf_cov):
        with pytest.raises(RiskInputError, match="empty"):
            estimator(np.empty((0, 3)))
        with pytest.raises(RiskInputError, match="NaN"):
            estimator(np.array([[0.01, np.nan], [0.02, 0.01], [0.0, 0.0]]))
