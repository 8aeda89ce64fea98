"""Market regime: Gaussian hidden Markov model on index returns.

Sources: Hamilton (1989), "A new approach to the economic analysis of nonstationary time
series and the business cycle", Econometrica 57(2) (regime-switching model and its filter);
Rabiner (1989), "A tutorial on hidden Markov models", Proc. IEEE 77(2) (forward algorithm);
``hmmlearn`` as the reference EM implementation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskapp.engine import regime
from riskapp.engine.types import RiskInputError


def two_regime_series(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Calm (σ = 0.8%) and stressed (σ = 3%) blocks; the series ends in a stressed block."""
    rng = np.random.default_rng(seed)
    states = np.repeat([0, 1, 0, 1, 0, 1], [300, 120, 300, 150, 250, 60])
    x = np.where(states == 1, rng.normal(-0.001, 0.03, states.size), rng.normal(0.0005, 0.008, states.size))
    return x, states


def test_hmm_finds_the_high_volatility_regime():
    """Given a synthetic two-regime series, the stressed state has the high volatility, the
    filtered probabilities classify > 95% of days correctly, and today (stressed) is flagged."""
    x, states = two_regime_series()
    res = regime.stressed_regime_probability(x)
    assert res.state_vols == pytest.approx([0.008, 0.03], rel=0.12)
    assert res.state_vols[1] > res.state_vols[0]
    assert res.filtered_probs.shape == (x.size, 2)
    np.testing.assert_allclose(res.filtered_probs.sum(axis=1), 1.0)
    assert np.mean((res.filtered_probs[:, -1] > 0.5) == (states == 1)) > 0.95
    assert res.prob_today > 0.9

    calm_today = regime.stressed_regime_probability(x[:-60])
    assert calm_today.prob_today < 0.1


def test_filtered_probability_today_equals_hmmlearn_posterior_on_the_last_day():
    """Cross-check of our forward filter: on the last day the filtered and smoothed state
    probabilities coincide, and hmmlearn's predict_proba gives the smoothed ones."""
    from hmmlearn.hmm import GaussianHMM

    x, _ = two_regime_series(seed=2)
    y = (x / x.std())[:, None]
    model = GaussianHMM(n_components=2, covariance_type="diag", n_iter=100, random_state=0).fit(y)
    vols = np.sqrt(model.covars_.reshape(2, -1)[:, 0])
    filtered = regime.forward_filter(
        y[:, 0], startprob=model.startprob_, transmat=model.transmat_, means=model.means_[:, 0], vols=vols
    )
    np.testing.assert_allclose(filtered[-1], model.predict_proba(y)[-1], atol=1e-8)


def test_same_seed_same_answer():
    x, _ = two_regime_series(seed=3)
    a = regime.stressed_regime_probability(x, seed=7)
    b = regime.stressed_regime_probability(x, seed=7)
    assert a.prob_today == b.prob_today
    np.testing.assert_array_equal(a.filtered_probs, b.filtered_probs)


@pytest.mark.slow
def test_sp500_stressed_in_late_2008_and_calm_in_2005():
    """Given the real S&P 500 history (arch.data.sp500), the stressed state is flagged through the
    Lehman crisis (Oct–Nov 2008) and not in the calm of 2005–2006."""
    from arch.data import sp500

    returns = sp500.load()["Adj Close"].pct_change().dropna()
    res = regime.stressed_regime_probability(returns.to_numpy())
    stressed = pd.Series(res.filtered_probs[:, -1], index=returns.index)
    assert stressed.loc["2008-10-01":"2008-11-30"].mean() > 0.95
    assert stressed.loc["2005-01-01":"2006-12-31"].mean() < 0.1
    assert res.state_vols[1] > 2 * res.state_vols[0]


@pytest.mark.parametrize(
    ("returns", "kwargs", "message"),
    [
        (np.zeros(50), {}, "At least"),
        (np.zeros(500), {}, "constant"),
        (np.full(500, np.nan), {}, "non-finite"),
        (np.zeros((500, 2)), {}, "single"),
        (np.random.default_rng(0).normal(size=500), {"n_states": 1}, "2 states"),
    ],
)
def test_bad_input_gets_a_clear_error(returns, kwargs, message):
    with pytest.raises(RiskInputError, match=message):
        regime.stressed_regime_probability(returns, **kwargs)
