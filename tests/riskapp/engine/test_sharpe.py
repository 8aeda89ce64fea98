"""Probabilistic and deflated Sharpe ratios.

Sources: Bailey & López de Prado (2012), "The Sharpe ratio efficient frontier", Journal of
Risk 15(2) (PSR and minimum track record length); Bailey & López de Prado (2014), "The deflated
Sharpe ratio: correcting for selection bias, backtest overfitting and non-normality", Journal of
Portfolio Management 40(5) (DSR and its numerical example); Lo (2002), "The statistics of Sharpe
ratios", Financial Analysts Journal 58(4) (normal-returns standard error √((1 + SR²/2)/T)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from riskapp.engine import sharpe
from riskapp.engine.types import RiskInputError

RETURNS = np.array([0.012, -0.004, 0.007, 0.0, -0.011, 0.015, 0.003, -0.002, 0.009, -0.006, 0.004, 0.001])


def test_psr_by_hand():
    """PSR = Φ((SR̂ − SR*)·√(T−1) / √(1 − γ₃SR̂ + (γ₄−1)/4·SR̂²)) with moments computed here."""
    x = RETURNS
    t = x.size
    m = x.mean()
    sd = math.sqrt(((x - m) ** 2).sum() / (t - 1))
    sr = m / sd
    m2 = ((x - m) ** 2).mean()
    skew = ((x - m) ** 3).mean() / m2**1.5
    kurt = ((x - m) ** 4).mean() / m2**2
    for benchmark in (0.0, 0.05, -0.1):
        z = (sr - benchmark) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
        assert sharpe.probabilistic_sharpe_ratio(x, benchmark_sr=benchmark) == pytest.approx(
            stats.norm.cdf(z), rel=1e-12
        )
    assert sharpe.sharpe_moments(x) == pytest.approx((sr, skew, kurt, t))


def test_psr_is_one_half_when_the_sharpe_equals_the_benchmark():
    sr, *_ = sharpe.sharpe_moments(RETURNS)
    assert sharpe.probabilistic_sharpe_ratio(RETURNS, benchmark_sr=sr) == pytest.approx(0.5)


def test_psr_for_normal_returns_uses_lo_standard_error():
    """γ₃ = 0, γ₄ = 3 reduce the PSR denominator to √(1 + SR²/2), Lo's (2002) normal case."""
    sr, t = 0.1, 500
    psr = sharpe.psr_from_moments(sr=sr, skew=0.0, kurt=3.0, n_obs=t)
    assert psr == pytest.approx(stats.norm.cdf(sr * math.sqrt(t - 1) / math.sqrt(1 + sr**2 / 2)))


def test_psr_properties():
    """Longer records raise PSR for a positive Sharpe; negative skew and fat tails lower it."""
    base = {"sr": 0.08, "skew": 0.0, "kurt": 3.0}
    assert sharpe.psr_from_moments(**base, n_obs=250) < sharpe.psr_from_moments(**base, n_obs=1000)
    normal = sharpe.psr_from_moments(**base, n_obs=250)
    assert sharpe.psr_from_moments(sr=0.08, skew=-2.0, kurt=3.0, n_obs=250) < normal
    assert sharpe.psr_from_moments(sr=0.08, skew=0.0, kurt=12.0, n_obs=250) < normal


def test_dsr_numerical_example_of_bailey_lopez_de_prado_2014():
    """The paper's example: annualised SR 2.5 on T = 1,250 daily returns (γ₃ = −3, γ₄ = 10), the
    best of N = 100 trials whose annualised Sharpe ratios have variance 1/2. Per day (252-day
    years as in the paper's √250 conversion: SR = 2.5/√250, V = 0.5/250): SR₀ ≈ 0.1132 and
    DSR ≈ 0.9004."""
    sr0 = sharpe.expected_max_sharpe(n_trials=100, sr_variance=0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = sharpe.psr_from_moments(sr=2.5 / math.sqrt(250), skew=-3.0, kurt=10.0, n_obs=1250, benchmark_sr=sr0)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_expected_max_sharpe_approximates_the_simulated_maximum():
    """E[max of N standard normals] ≈ (1−γ)Φ⁻¹(1−1/N) + γΦ⁻¹(1−1/(Ne)) (2014 paper, within ~1%)."""
    rng = np.random.default_rng(0)
    for n in (10, 100, 1000):
        simulated = rng.standard_normal((4000, n)).max(axis=1).mean()
        assert sharpe.expected_max_sharpe(n_trials=n, sr_variance=1.0) == pytest.approx(simulated, rel=0.025)


def test_dsr_with_one_trial_is_the_psr_and_falls_with_more_trials():
    rng = np.random.default_rng(1)
    x = rng.normal(0.001, 0.01, 1000)
    assert sharpe.deflated_sharpe_ratio(x, n_trials=1, sr_variance=0.01) == pytest.approx(
        sharpe.probabilistic_sharpe_ratio(x)
    )
    dsrs = [sharpe.deflated_sharpe_ratio(x, n_trials=n, sr_variance=0.001) for n in (1, 10, 100, 1000)]
    assert dsrs == sorted(dsrs, reverse=True)
    assert dsrs[-1] < dsrs[0]


def test_min_track_record_length_is_where_psr_reaches_the_target():
    rng = np.random.default_rng(2)
    x = rng.normal(0.0008, 0.01, 300)
    mintrl = sharpe.min_track_record_length(x, probability=0.95)
    sr, skew, kurt, _ = sharpe.sharpe_moments(x)
    z = sr * math.sqrt(mintrl - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    assert stats.norm.cdf(z) == pytest.approx(0.95)
    assert sharpe.min_track_record_length(-x) == math.inf


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sharpe.probabilistic_sharpe_ratio(np.full(100, 0.001)), "constant"),
        (lambda: sharpe.probabilistic_sharpe_ratio([0.01, 0.02]), "At least"),
        (lambda: sharpe.probabilistic_sharpe_ratio([0.01, np.nan, 0.02, 0.0]), "non-finite"),
        (lambda: sharpe.deflated_sharpe_ratio(RETURNS, n_trials=0, sr_variance=0.1), "trials"),
        (lambda: sharpe.deflated_sharpe_ratio(RETURNS, n_trials=10, sr_variance=-1.0), "variance"),
        (lambda: sharpe.probabilistic_sharpe_ratio(np.ones((10, 2))), "single"),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(RiskInputError, match=message):
        call()
