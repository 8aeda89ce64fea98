"""Goal planning Monte Carlo: closed forms, annuities, fees, inflation, required contribution.

Sources of the expected numbers:
- Log-normal wealth (geometric Brownian motion): with monthly log-returns N(m_t, s_t²), log W_T is
  normal with mean log W0 + Σ m_t and variance Σ s_t², so P(W_T ≥ K) = Φ((ln(W0/K) + Σ m_t)/√Σ s_t²)
  and the median of W_T is W0·exp(Σ m_t); for constant moments Σ m_t = (μ − σ²/2)T and
  Σ s_t² = σ²T (Hull, *Options, Futures, and Other Derivatives*, 10th ed., §15.1–15.2).
- Future value of an annuity-immediate: s_n = ((1 + i)^n − 1)/i (Kellison, *The Theory of
  Interest*, 3rd ed., §3.2); of a growing annuity: P·((1 + r)^n − (1 + g)^n)/(r − g) (Brealey,
  Myers & Allen, *Principles of Corporate Finance*, ch. 2).
- Standard error of a Monte Carlo probability √(p(1 − p)/n); of a sample median of a normal
  σ·√(π/(2n)) (asymptotic variance 1/(4n f(m)²), e.g. Stuart & Ord, *Kendall's Advanced Theory of
  Statistics*, vol. 1, §10.10).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from wealth.engine.goals import GoalError, GoalInputs, fan_months, glide_path, goal_simulate

PATHS = 10_000


def plan(**overrides: object) -> GoalInputs:
    base: dict[str, object] = {
        "initial": 50_000.0,
        "monthly_contribution": 1_000.0,
        "months": 240,
        "target": 600_000.0,
        "contribution_growth": 0.02,
        "inflation": 0.025,
        "annual_fee": 0.005,
        "mu": 0.07,
        "sigma": 0.14,
    }
    base.update(overrides)
    return GoalInputs(**base)  # type: ignore[arg-type]


def lognormal(initial: float, target: float, months: int, mu: float, sigma: float) -> GoalInputs:
    """Single lump sum, no contributions, fees or inflation: the closed-form case."""
    return plan(
        initial=initial,
        monthly_contribution=0.0,
        months=months,
        target=target,
        mu=mu,
        sigma=sigma,
        contribution_growth=0.0,
        inflation=0.0,
        annual_fee=0.0,
    )


# --- log-normal closed form ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mu", "sigma", "years", "multiple", "seed"),
    [(0.07, 0.15, 10, 1.5, 1), (0.05, 0.10, 5, 1.3, 2), (0.09, 0.25, 30, 8.0, 3), (0.03, 0.20, 1, 0.9, 4)],
)
def test_probability_matches_the_lognormal_closed_form(mu, sigma, years, multiple, seed):
    w0, t = 100_000.0, float(years)
    k = w0 * multiple
    expected = stats.norm.cdf((math.log(w0 / k) + (mu - sigma**2 / 2) * t) / (sigma * math.sqrt(t)))
    result = goal_simulate(lognormal(w0, k, 12 * years, mu, sigma), paths=PATHS, seed=seed)
    se = math.sqrt(expected * (1 - expected) / PATHS)
    assert abs(result.probability - expected) <= 3 * se
    # The median of W_T is W0·exp((μ − σ²/2)T); compare logs within 3 standard errors of a median.
    median_se = sigma * math.sqrt(t) * math.sqrt(math.pi / (2 * PATHS))
    assert abs(math.log(result.median_final) - (math.log(w0) + (mu - sigma**2 / 2) * t)) <= 3 * median_se


def test_glide_path_probability_matches_the_time_varying_closed_form():
    # Given moments moving from (9 %, 18 %) to (4 %, 5 %) over 25 years
    months = 300
    mu, sigma = glide_path((0.09, 0.18), (0.04, 0.05), months)
    w0, k = 100_000.0, 400_000.0
    mean_log = float(np.sum((mu - sigma**2 / 2) / 12))
    sd_log = math.sqrt(float(np.sum(sigma**2 / 12)))
    expected = stats.norm.cdf((math.log(w0 / k) + mean_log) / sd_log)
    result = goal_simulate(lognormal(w0, k, months, mu, sigma), paths=PATHS, seed=11)  # type: ignore[arg-type]
    assert abs(result.probability - expected) <= 3 * math.sqrt(expected * (1 - expected) / PATHS)


# --- deterministic case: annuity formulas -------------------------------------------------------
def test_sigma_zero_equals_the_growing_annuity_future_value():
    w0, k, g, mu, fee, years = 10_000.0, 500.0, 0.03, 0.06, 0.004, 20
    result = goal_simulate(
        plan(
            initial=w0,
            monthly_contribution=k,
            months=12 * years,
            contribution_growth=g,
            mu=mu,
            sigma=0.0,
            annual_fee=fee,
            inflation=0.0,
        ),
        paths=100,
        seed=0,
    )
    monthly = math.exp(mu / 12) * (1 - fee) ** (1 / 12)  # gross growth a month after the fee
    yearly_rate = monthly**12 - 1
    first_year = k * (monthly**12 - 1) / (monthly - 1)  # level annuity-immediate, 12 payments
    expected = w0 * monthly ** (12 * years) + first_year * (
        ((1 + yearly_rate) ** years - (1 + g) ** years) / (yearly_rate - g)
    )
    assert result.median_final == pytest.approx(expected, rel=1e-9)
    for q in (5, 25, 75, 95):
        assert result.percentiles[q][-1] == pytest.approx(expected, rel=1e-9)


def test_sigma_zero_with_a_partial_last_year_equals_the_sum_of_grown_payments():
    # 250 months: contributions k in months 1–12, k(1+g) in 13–24, ..., k(1+g)^20 in months 241–250
    w0, k, g, mu, months = 1_000.0, 200.0, 0.05, 0.04, 250
    result = goal_simulate(
        plan(
            initial=w0,
            monthly_contribution=k,
            months=months,
            contribution_growth=g,
            mu=mu,
            sigma=0.0,
            annual_fee=0.0,
            inflation=0.0,
        ),
        paths=100,
        seed=0,
    )
    monthly = math.exp(mu / 12)
    expected = w0 * monthly**months + sum(
        k * (1 + g) ** ((s - 1) // 12) * monthly ** (months - s) for s in range(1, months + 1)
    )
    assert result.median_final == pytest.approx(expected, rel=1e-9)
    assert result.months[-1] == months


def test_fee_reduces_final_wealth_by_one_minus_fee_per_year():
    without = goal_simulate(lognormal(100_000.0, 1.0, 300, 0.06, 0.0), paths=100, seed=0)
    with_fee = goal_simulate(replace(lognormal(100_000.0, 1.0, 300, 0.06, 0.0), annual_fee=0.01), paths=100, seed=0)
    assert with_fee.median_final / without.median_final == pytest.approx(0.99**25, rel=1e-12)


def test_percentiles_are_in_todays_money():
    # Given a deterministic lump sum growing at e^(μ/12) a month and 3 % inflation
    w0, mu, i, months = 100_000.0, 0.06, 0.03, 120
    result = goal_simulate(
        plan(initial=w0, monthly_contribution=0.0, months=months, mu=mu, sigma=0.0, annual_fee=0.0, inflation=i),
        paths=100,
        seed=0,
    )
    # Then each reported value is the nominal value W0·e^(μt/12) divided by (1 + i)^(t/12)
    t = result.months.astype(float)
    expected = w0 * np.exp(mu * t / 12) / (1 + i) ** (t / 12)
    np.testing.assert_allclose(result.percentiles[50], expected, rtol=1e-12)
    assert result.target_nominal == pytest.approx(600_000.0 * 1.03**10, rel=1e-12)
    assert result.percentiles[50][0] == w0


def test_success_is_measured_against_the_inflated_target():
    # Given deterministic growth of exactly the inflation rate, the real value never changes
    i = 0.03
    reach = plan(
        initial=100_000.0,
        monthly_contribution=0.0,
        months=120,
        mu=math.log(1 + i),
        sigma=0.0,
        annual_fee=0.0,
        inflation=i,
        target=99_999.0,
    )
    miss = replace(reach, target=100_001.0)
    assert goal_simulate(reach, paths=100, seed=0).probability == 1.0
    assert goal_simulate(miss, paths=100, seed=0).probability == 0.0


# --- required contribution ----------------------------------------------------------------------
def test_required_contribution_reaches_the_probability_target_with_the_same_draws():
    inputs = plan(monthly_contribution=300.0, target=900_000.0)
    first = goal_simulate(inputs, paths=PATHS, seed=42)
    assert first.probability < 0.8
    assert first.required_contribution is not None and first.required_contribution > 300.0
    rerun = goal_simulate(replace(inputs, monthly_contribution=first.required_contribution), paths=PATHS, seed=42)
    assert 0.8 <= rerun.probability < 0.8 + 1 / PATHS
    # and it is the least such contribution: a hair less misses
    less = goal_simulate(
        replace(inputs, monthly_contribution=first.required_contribution * (1 - 1e-6)), paths=PATHS, seed=42
    )
    assert less.probability < 0.8


@pytest.mark.parametrize("probability_target", [0.5, 0.9])
def test_required_contribution_for_other_probability_targets(probability_target):
    # 2,001 paths: p·n is not a whole number, so the ceil(p·n)-th threshold is needed to reach p
    paths = 2_001
    inputs = plan(monthly_contribution=0.0)
    k = goal_simulate(inputs, paths=paths, seed=5, probability_target=probability_target).required_contribution
    assert k is not None
    rerun = goal_simulate(replace(inputs, monthly_contribution=k), paths=paths, seed=5)
    assert probability_target <= rerun.probability < probability_target + 1 / paths


def test_probability_is_monotone_in_the_contribution():
    probabilities = [
        goal_simulate(plan(monthly_contribution=k), paths=2_000, seed=9).probability
        for k in (0.0, 250.0, 500.0, 1_000.0, 1_500.0, 2_500.0, 5_000.0)
    ]
    assert probabilities == sorted(probabilities)
    assert probabilities[0] < probabilities[-1]


def test_when_already_above_target_probability_the_required_contribution_is_lower():
    inputs = plan(monthly_contribution=3_000.0, target=600_000.0)
    result = goal_simulate(inputs, paths=PATHS, seed=3)
    assert result.probability > 0.8
    assert result.required_contribution is not None and result.required_contribution < 3_000.0


def test_required_contribution_is_zero_when_the_lump_sum_already_suffices():
    result = goal_simulate(plan(initial=1_000_000.0, target=100_000.0), paths=1_000, seed=1)
    assert result.probability == 1.0
    assert result.required_contribution == 0.0


# --- reproducibility, grid, glide path ----------------------------------------------------------
def test_same_seed_reproduces_and_different_seeds_differ():
    a = goal_simulate(plan(), paths=1_000, seed=7)
    b = goal_simulate(plan(), paths=1_000, seed=7)
    c = goal_simulate(plan(), paths=1_000, seed=8)
    assert a.probability == b.probability and a.required_contribution == b.required_contribution
    for q in a.percentiles:
        np.testing.assert_array_equal(a.percentiles[q], b.percentiles[q])
    assert not np.array_equal(a.percentiles[50], c.percentiles[50])
    assert a.required_contribution != c.required_contribution


def test_fan_is_ordered_and_on_the_documented_grid():
    result = goal_simulate(plan(months=360), paths=1_000, seed=1)
    np.testing.assert_array_equal(result.months, np.arange(0, 361, 12))
    stacked = np.vstack([result.percentiles[q] for q in (5, 25, 50, 75, 95)])
    assert stacked.shape == (5, 31)
    assert np.all(np.diff(stacked, axis=0) >= 0)
    assert np.all(stacked[:, 0] == 50_000.0)  # month 0 is the initial amount for every path
    assert result.median_final == result.percentiles[50][-1]


@pytest.mark.parametrize(
    ("months", "expected"),
    [(1, [0, 1]), (36, list(range(37))), (37, [0, 12, 24, 36, 37]), (100, [*range(0, 97, 12), 100])],
)
def test_fan_months(months, expected):
    assert fan_months(months).tolist() == expected


def test_glide_path_is_linear_from_start_to_end():
    mu, sigma = glide_path((0.08, 0.16), (0.03, 0.05), 121)
    assert mu.shape == sigma.shape == (121,)
    assert (mu[0], sigma[0]) == (0.08, 0.16)
    assert mu[-1] == pytest.approx(0.03) and sigma[-1] == pytest.approx(0.05)
    np.testing.assert_allclose(np.diff(mu), -0.05 / 120, rtol=1e-9)
    np.testing.assert_allclose(np.diff(sigma), -0.11 / 120, rtol=1e-9)
    flat_mu, flat_sigma = glide_path((0.08, 0.16), (0.03, 0.05), 121, enabled=False)
    assert np.all(flat_mu == 0.08) and np.all(flat_sigma == 0.16)


def test_a_flat_glide_path_equals_constant_moments():
    mu, sigma = glide_path((0.07, 0.14), (0.03, 0.05), 240, enabled=False)
    constant = goal_simulate(plan(), paths=1_000, seed=4)
    per_month = goal_simulate(plan(mu=mu, sigma=sigma), paths=1_000, seed=4)
    assert constant.probability == per_month.probability
    np.testing.assert_array_equal(constant.percentiles[50], per_month.percentiles[50])


def test_a_glide_path_lowers_the_spread_of_outcomes():
    mu, sigma = glide_path((0.07, 0.14), (0.03, 0.05), 240)
    constant = goal_simulate(plan(), paths=PATHS, seed=4)
    glided = goal_simulate(plan(mu=mu, sigma=sigma), paths=PATHS, seed=4)
    assert (
        glided.percentiles[95][-1] - glided.percentiles[5][-1]
        < constant.percentiles[95][-1] - constant.percentiles[5][-1]
    )


# --- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"months": 0}, "months"),
        ({"months": -12}, "months"),
        ({"months": 12.5}, "months"),
        ({"initial": -1.0}, "initial"),
        ({"monthly_contribution": -100.0}, "monthly_contribution"),
        ({"target": 0.0}, "target"),
        ({"sigma": -0.1}, "sigma"),
        ({"annual_fee": 1.0}, "annual_fee"),
        ({"annual_fee": -0.01}, "annual_fee"),
        ({"inflation": -1.0}, "inflation"),
        ({"contribution_growth": -1.5}, "contribution_growth"),
        ({"initial": float("nan")}, "initial"),
        ({"target": float("inf")}, "target"),
        ({"mu": np.array([0.05, float("nan")] * 120)}, "mu"),
        ({"mu": np.full(10, 0.05)}, "mu"),
        ({"mu": 7.0}, "mu"),
        ({"target": "lots"}, "target"),
    ],
)
def test_bad_inputs_name_the_field(overrides, field):
    with pytest.raises(GoalError) as info:
        goal_simulate(plan(**overrides), paths=100, seed=0)
    assert list(info.value.fields) == [field]


def test_zero_horizon_message_and_all_errors_at_once():
    with pytest.raises(GoalError) as info:
        goal_simulate(plan(months=0, target=-5.0, sigma=-1.0), paths=50, seed=-1, probability_target=1.0)
    assert info.value.fields["months"] == ["The horizon must be at least one month."]
    assert set(info.value.fields) == {"months", "target", "sigma", "paths", "seed", "probability_target"}


def test_glide_path_rejects_bad_input():
    with pytest.raises(GoalError) as info:
        glide_path((0.07, -0.1), (0.03, float("nan")), 0)
    assert set(info.value.fields) == {"months", "start", "end"}


def test_required_contribution_rank_survives_binary_rounding():
    # p = 0.07, n = 100: p·n is 7 exactly in decimal but 7.000000000000001 in binary floating
    # point, so ceil(p·n) gave 8 and the "required" contribution reached 8 % of paths, not 7 %.
    # The k-th smallest threshold with k = ceil(round(p·n, 9)) = 7 reaches exactly 7 of 100.
    assert 0.07 * 100 != 7 and math.ceil(round(0.07 * 100, 9)) == 7
    inputs = plan(monthly_contribution=0.0)
    k = goal_simulate(inputs, paths=100, seed=3, probability_target=0.07).required_contribution
    assert k is not None
    rerun = goal_simulate(replace(inputs, monthly_contribution=k), paths=100, seed=3)
    assert rerun.probability == pytest.approx(0.07)


@pytest.mark.parametrize(
    ("start", "end", "months", "fields"),
    [
        (None, (0.03, 0.05), 120, {"start"}),
        ((0.07, 0.15), None, 120, {"end"}),
        (0.07, "ab", 120, {"start", "end"}),
        ((0.07, "0.15"), (0.03, 0.05), "120", {"start", "months"}),
    ],
)
def test_glide_path_bad_types_are_goal_errors(start, end, months, fields):
    # The module's own error with the fields named, never a TypeError from len(None).
    with pytest.raises(GoalError) as info:
        glide_path(start, end, months)
    assert set(info.value.fields) == fields
