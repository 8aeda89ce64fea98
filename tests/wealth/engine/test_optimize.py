"""Long-only mean–variance optimisation (wealth.engine.optimize).

Expected numbers come from closed forms (minimum variance w = Σ⁻¹1/(1ᵀΣ⁻¹1), tangency
w = Σ⁻¹(μ − rf)/(1ᵀΣ⁻¹(μ − rf)), the two-asset line), from scipy's SLSQP on the same problem and
from PyPortfolioOpt's EfficientFrontier, on the 20 real S&P 500 stocks shipped with skfolio.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from wealth.engine.estimates import covariance_ledoit_wolf, mean_shrunk
from wealth.engine.optimize import (
    Constraints,
    GroupBound,
    InfeasibleError,
    Objective,
    OptimizationInputError,
    efficient_frontier,
    optimize,
)

TOL = 1e-6

# Two assets: σ = 20 %, 30 %, ρ = 0.25, so σ12 = 0.015; μ = 8 %, 12 %.
COV2 = np.array([[0.04, 0.015], [0.015, 0.09]])
MU2 = np.array([0.08, 0.12])
# Three assets: σ = 15/20/25 %, ρ12 = 0.3, ρ13 = 0.1, ρ23 = 0.4.
COV3 = np.array([[0.0225, 0.009, 0.00375], [0.009, 0.04, 0.02], [0.00375, 0.02, 0.0625]])
MU3 = np.array([0.06, 0.09, 0.12])


@pytest.fixture(scope="module")
def market() -> tuple[np.ndarray, np.ndarray]:
    """James–Stein means and Ledoit–Wolf covariance of the last ~5 years (1,260 days to
    2022-12-28) of the 20 S&P 500 stocks in skfolio.datasets.load_sp500_dataset."""
    datasets = pytest.importorskip("skfolio.datasets")
    returns = datasets.load_sp500_dataset().pct_change().dropna().iloc[-1260:].to_numpy(dtype=np.float64)
    mu, _ = mean_shrunk(returns)
    return mu, covariance_ledoit_wolf(returns)


def _sharpe(w: np.ndarray, mu: np.ndarray, cov: np.ndarray, rf: float) -> float:
    return float((mu @ w - rf) / np.sqrt(w @ cov @ w))


# ---------------------------------------------------------------------------- closed forms


def test_two_asset_minimum_variance_matches_the_closed_form() -> None:
    """w1 = (σ2² − σ12)/(σ1² + σ2² − 2σ12) = (0.09 − 0.015)/(0.04 + 0.09 − 0.03) = 0.75."""
    p = optimize(MU2, COV2, Objective.MIN_VARIANCE)

    np.testing.assert_allclose(p.weights, [0.75, 0.25], atol=TOL)
    assert p.volatility == pytest.approx(np.sqrt(0.03375), abs=TOL)
    assert p.expected_return == pytest.approx(0.09, abs=TOL)
    assert p.objective == "min_variance" and p.esg is None and p.turnover is None


def test_three_asset_minimum_variance_matches_sigma_inverse_one() -> None:
    x = np.linalg.solve(COV3, np.ones(3))
    expected = x / x.sum()
    assert np.all(expected > 0)  # the long-only constraint is not binding

    p = optimize(MU3, COV3, "min_variance")  # type: ignore[arg-type]

    np.testing.assert_allclose(p.weights, expected, atol=TOL)


@pytest.mark.parametrize(("mu", "cov", "rf"), [(MU2, COV2, 0.02), (MU3, COV3, 0.02), (MU3, COV3, 0.0)])
def test_max_sharpe_matches_the_tangency_portfolio(mu: np.ndarray, cov: np.ndarray, rf: float) -> None:
    x = np.linalg.solve(cov, mu - rf)
    expected = x / x.sum()
    assert np.all(expected > 0)

    p = optimize(mu, cov, Objective.MAX_SHARPE, risk_free=rf)

    np.testing.assert_allclose(p.weights, expected, atol=TOL)
    assert p.sharpe == pytest.approx(_sharpe(expected, mu, cov, rf), abs=1e-9)
    assert p.sharpe == pytest.approx(np.sqrt((mu - rf) @ np.linalg.solve(cov, mu - rf)), abs=1e-9)


def test_target_return_on_the_two_asset_line() -> None:
    """Above the minimum-variance return (9 %) the target binds: w1 = (t − μ2)/(μ1 − μ2) = 0.5 at 10 %."""
    p = optimize(MU2, COV2, Objective.TARGET_RETURN, target=0.10)

    np.testing.assert_allclose(p.weights, [0.5, 0.5], atol=TOL)
    assert p.expected_return == pytest.approx(0.10, abs=TOL)


def test_a_target_return_below_the_minimum_variance_return_gives_the_minimum_variance_portfolio() -> None:
    p = optimize(MU2, COV2, Objective.TARGET_RETURN, target=0.085)

    np.testing.assert_allclose(p.weights, [0.75, 0.25], atol=TOL)


def test_target_risk_on_the_two_asset_line() -> None:
    """Volatility 22 %: w1 solves w1²σ1² + (1−w1)²σ2² + 2w1(1−w1)σ12 = 0.22²; the root with less of
    the low-return asset is the efficient one."""
    a = 0.04 + 0.09 - 2 * 0.015
    b = 2 * 0.015 - 2 * 0.09
    roots = np.roots([a, b, 0.09 - 0.22**2])
    w1 = float(min(r.real for r in roots if 0 <= r.real <= 1))

    p = optimize(MU2, COV2, Objective.TARGET_RISK, target=0.22)

    np.testing.assert_allclose(p.weights, [w1, 1 - w1], atol=TOL)
    assert p.volatility == pytest.approx(0.22, abs=TOL)


def test_a_target_risk_above_the_riskiest_asset_gives_the_highest_return() -> None:
    p = optimize(MU2, COV2, Objective.TARGET_RISK, target=0.5)

    np.testing.assert_allclose(p.weights, [0.0, 1.0], atol=TOL)


def test_a_semi_definite_covariance_is_accepted() -> None:
    """Asset 2 duplicates asset 0 (Σ singular): any split between them is optimal, their sum is
    the two-asset answer 0.75."""
    cov = np.array([[0.04, 0.015, 0.04], [0.015, 0.09, 0.015], [0.04, 0.015, 0.04]])

    p = optimize(np.array([0.08, 0.12, 0.08]), cov, Objective.MIN_VARIANCE)

    assert p.weights[0] + p.weights[2] == pytest.approx(0.75, abs=TOL)


# ---------------------------------------------------------------------------- constraints


def _constrained(n: int) -> Constraints:
    esg = np.random.default_rng(11).uniform(2.0, 9.0, n)
    tech = np.zeros(n, dtype=bool)
    tech[[0, 1, 12]] = True  # AAPL, AMD, MSFT
    energy = np.zeros(n, dtype=bool)
    energy[[4, 16, 19]] = True  # CVX, RRC, XOM
    return Constraints(
        lower=np.full(n, 0.01),
        upper=np.full(n, 0.15),
        groups=(GroupBound("Technology", tech, 0.0, 0.20), GroupBound("Energy", energy, 0.10, 0.30)),
        esg=esg,
        esg_min=float(np.quantile(esg, 0.6)),
        current=np.full(n, 1.0 / n),
        max_turnover=0.25,
    )


@pytest.mark.parametrize("objective", list(Objective))
def test_every_constraint_is_honoured(market: tuple[np.ndarray, np.ndarray], objective: Objective) -> None:
    mu, cov = market
    cons = _constrained(mu.size)
    assert cons.lower is not None and cons.upper is not None and cons.esg is not None and cons.current is not None
    target = {Objective.TARGET_RETURN: 0.20, Objective.TARGET_RISK: 0.22}.get(objective)

    p = optimize(mu, cov, objective, cons, risk_free=0.02, target=target)

    w = p.weights
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(w >= cons.lower - 1e-9) and np.all(w <= cons.upper + 1e-9)
    for g in cons.groups:
        assert g.lower - 1e-7 <= w[g.members].sum() <= g.upper + 1e-7
    assert p.esg is not None and p.esg >= (cons.esg_min or 0) - 1e-7
    assert p.esg == pytest.approx(float(cons.esg @ w))
    assert p.turnover is not None and p.turnover <= 0.25 + 1e-7
    assert p.turnover == pytest.approx(0.5 * float(np.abs(w - cons.current).sum()))
    if objective is Objective.TARGET_RETURN:
        assert p.expected_return >= 0.20 - 1e-7
    if objective is Objective.TARGET_RISK:
        assert p.volatility <= 0.22 + 1e-7


def test_the_esg_minimum_and_turnover_limit_bind_where_they_should(market: tuple[np.ndarray, np.ndarray]) -> None:
    """Without them, max Sharpe scores below the ESG minimum and trades more than the limit;
    with each, the limit holds with equality (it costs Sharpe ratio)."""
    mu, cov = market
    n = mu.size
    esg = np.random.default_rng(11).uniform(2.0, 9.0, n)
    current = np.full(n, 1.0 / n)
    free = optimize(mu, cov, Objective.MAX_SHARPE, Constraints(esg=esg, current=current), risk_free=0.02)
    assert free.esg is not None and free.turnover is not None
    esg_min, limit = free.esg + 0.5, free.turnover / 2

    with_esg = optimize(mu, cov, Objective.MAX_SHARPE, Constraints(esg=esg, esg_min=esg_min), risk_free=0.02)
    with_turnover = optimize(
        mu, cov, Objective.MAX_SHARPE, Constraints(current=current, max_turnover=limit), risk_free=0.02
    )

    assert with_esg.esg == pytest.approx(esg_min, abs=1e-7) and with_esg.sharpe < free.sharpe
    assert with_turnover.turnover == pytest.approx(limit, abs=1e-7) and with_turnover.sharpe < free.sharpe


def _slsqp_max_sharpe(
    mu: np.ndarray,
    cov: np.ndarray,
    rf: float,
    cons: list[dict[str, object]] | None = None,
    bounds: list[tuple[float, float]] | None = None,
) -> np.ndarray:
    """Reference: minimise −Sharpe with its analytic gradient, long-only, Σw = 1 (scipy SLSQP)."""
    n = mu.size

    def negative_sharpe(w: np.ndarray) -> tuple[float, np.ndarray]:
        var = w @ cov @ w
        vol = np.sqrt(var)
        excess = mu @ w - rf
        grad = -(mu * vol - excess * (cov @ w) / vol) / var
        return float(-excess / vol), grad

    done = minimize(
        negative_sharpe,
        np.full(n, 1.0 / n),
        jac=True,
        method="SLSQP",
        bounds=bounds or [(0.0, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(n)}, *(cons or [])],
        options={"ftol": 1e-15, "maxiter": 2000},
    )
    assert done.success, done.message
    return np.asarray(done.x)


def test_constrained_max_sharpe_agrees_with_slsqp(market: tuple[np.ndarray, np.ndarray]) -> None:
    """Bounds 1–15 % and a 20 % cap on the technology names: the homogenised convex problem
    reaches the same optimum as SLSQP on the (non-convex) ratio."""
    mu, cov = market
    n = mu.size
    tech = np.zeros(n, dtype=bool)
    tech[[0, 1, 12]] = True
    cons = Constraints(lower=np.full(n, 0.01), upper=np.full(n, 0.15), groups=(GroupBound("Tech", tech, 0.0, 0.2),))

    ours = optimize(mu, cov, Objective.MAX_SHARPE, cons, risk_free=0.02)
    ref = _slsqp_max_sharpe(
        mu,
        cov,
        0.02,
        cons=[{"type": "ineq", "fun": lambda w: 0.2 - w[tech].sum(), "jac": lambda w: -tech.astype(float)}],
        bounds=[(0.01, 0.15)] * n,
    )

    assert np.max(np.abs(ours.weights - ref)) < 1e-3
    assert ours.sharpe == pytest.approx(_sharpe(ref, mu, cov, 0.02), abs=1e-5)
    assert ours.sharpe >= _sharpe(ref, mu, cov, 0.02) - 1e-8


# ---------------------------------------------------------------------------- libraries, real data


def test_max_sharpe_agrees_with_slsqp_and_pypfopt_on_real_data(market: tuple[np.ndarray, np.ndarray]) -> None:
    pypfopt = pytest.importorskip("pypfopt")
    mu, cov = market

    ours = optimize(mu, cov, Objective.MAX_SHARPE, risk_free=0.02)
    slsqp = _slsqp_max_sharpe(mu, cov, 0.02)
    ef = pypfopt.EfficientFrontier(mu, cov, weight_bounds=(0, 1))
    ef.max_sharpe(risk_free_rate=0.02)
    library = np.array(list(ef.clean_weights(cutoff=0.0, rounding=None).values()))

    for ref in (slsqp, library):
        assert np.max(np.abs(ours.weights - ref)) < 1e-3
        assert ours.sharpe == pytest.approx(_sharpe(ref, mu, cov, 0.02), abs=1e-5)
    assert 3 <= int((ours.weights > 1e-4).sum()) < mu.size  # a real corner solution, not a trivial one


def test_min_variance_agrees_with_slsqp_and_pypfopt_on_real_data(market: tuple[np.ndarray, np.ndarray]) -> None:
    pypfopt = pytest.importorskip("pypfopt")
    mu, cov = market
    n = mu.size

    ours = optimize(mu, cov, Objective.MIN_VARIANCE)
    done = minimize(
        lambda w: (float(w @ cov @ w), 2 * cov @ w),
        np.full(n, 1.0 / n),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
        options={"ftol": 1e-15, "maxiter": 2000},
    )
    ef = pypfopt.EfficientFrontier(mu, cov, weight_bounds=(0, 1))
    ef.min_volatility()
    library = np.array(list(ef.clean_weights(cutoff=0.0, rounding=None).values()))

    for ref in (done.x, library):
        assert np.max(np.abs(ours.weights - ref)) < 1e-3
        assert ours.volatility == pytest.approx(np.sqrt(ref @ cov @ ref), abs=1e-6)
        assert ours.volatility <= np.sqrt(ref @ cov @ ref) + 1e-8  # interior-point accuracy


# ---------------------------------------------------------------------------- frontier


def test_the_frontier_runs_from_minimum_variance_to_the_highest_return(market: tuple[np.ndarray, np.ndarray]) -> None:
    mu, cov = market

    frontier = efficient_frontier(mu, cov, points=20, risk_free=0.02)

    assert len(frontier) == 20
    returns = np.array([p.expected_return for p in frontier])
    vols = np.array([p.volatility for p in frontier])
    assert np.all(np.diff(returns) > 0) and np.all(np.diff(vols) > 0)
    np.testing.assert_allclose(frontier[0].weights, optimize(mu, cov, Objective.MIN_VARIANCE).weights, atol=1e-7)
    assert returns[-1] == pytest.approx(mu.max(), abs=1e-6)  # all in the best asset
    np.testing.assert_allclose(np.diff(returns), np.diff(returns)[0], rtol=1e-4)  # evenly spaced
    best = optimize(mu, cov, Objective.MAX_SHARPE, risk_free=0.02)
    assert max(p.sharpe for p in frontier) <= best.sharpe + 1e-9
    assert max(p.sharpe for p in frontier) > 0.95 * best.sharpe


def test_frontier_points_honour_the_constraints(market: tuple[np.ndarray, np.ndarray]) -> None:
    mu, cov = market
    cons = _constrained(mu.size)

    frontier = efficient_frontier(mu, cov, cons, points=6)

    assert len(frontier) == 6
    for p in frontier:
        assert p.esg is not None and p.esg >= (cons.esg_min or 0) - 1e-7
        assert p.turnover is not None and p.turnover <= 0.25 + 1e-7
        assert np.all(p.weights <= 0.15 + 1e-9) and np.all(p.weights >= 0.01 - 1e-9)
    assert np.all(np.diff([p.expected_return for p in frontier]) > 0)


def test_a_frontier_where_every_portfolio_earns_the_same_is_one_point() -> None:
    frontier = efficient_frontier(np.array([0.05, 0.05]), COV2, points=10)

    assert len(frontier) == 1
    np.testing.assert_allclose(frontier[0].weights, [0.75, 0.25], atol=TOL)


# ---------------------------------------------------------------------------- infeasible requests


def _reasons(objective: Objective, cons: Constraints, *, mu: np.ndarray = MU3, **kw: float) -> tuple[str, ...]:
    with pytest.raises(InfeasibleError) as info:
        optimize(mu, COV3, objective, cons, **kw)
    assert not isinstance(info.value, OptimizationInputError)
    return info.value.reasons


@pytest.mark.parametrize(
    ("cons", "field", "expected"),
    [
        (Constraints(lower=np.full(3, 0.4)), "lower", "Lower bounds add up to 120 %, more than the 100 % to invest"),
        (Constraints(upper=np.array([0.3, 0.3, 0.2])), "upper", "Upper bounds add up to 80 %, less than the 100 %"),
        (
            Constraints(lower=np.array([0.0, 0.3, 0.0]), upper=np.array([1.0, 0.2, 1.0])),
            "lower",
            "Asset 1: its lower bound 30 % is above its upper bound 20 %",
        ),
        (
            Constraints(groups=(GroupBound("Tech", np.array([True, True, False]), 0.5, 0.4),)),
            "groups",
            "Group 'Tech': its minimum 50 % is above its maximum 40 %",
        ),
        (
            Constraints(
                upper=np.array([0.2, 0.2, 1.0]), groups=(GroupBound("Tech", np.array([True, True, False]), 0.5, 1.0),)
            ),
            "groups",
            "Group 'Tech' must hold at least 50 %, but its members' upper bounds add up to 40 %",
        ),
        (
            Constraints(
                lower=np.array([0.3, 0.3, 0.0]), groups=(GroupBound("Tech", np.array([True, True, False]), 0.0, 0.5),)
            ),
            "groups",
            "Group 'Tech' may hold at most 50 %, but its members' lower bounds add up to 60 %",
        ),
        (
            Constraints(
                lower=np.array([0.0, 0.0, 0.5]), groups=(GroupBound("Tech", np.array([True, True, False]), 0.6, 1.0),)
            ),
            "groups",
            "Group 'Tech' must hold at least 60 % and the other assets' lower bounds add up to 50 %",
        ),
        (
            Constraints(
                upper=np.array([1.0, 1.0, 0.3]), groups=(GroupBound("Tech", np.array([True, True, False]), 0.0, 0.5),)
            ),
            "groups",
            "Group 'Tech' may hold at most 50 % and the other assets' upper bounds add up to 30 %",
        ),
    ],
)
def test_conflicting_bounds_are_explained_with_their_numbers(cons: Constraints, field: str, expected: str) -> None:
    with pytest.raises(InfeasibleError) as info:
        optimize(MU3, COV3, Objective.MIN_VARIANCE, cons)

    assert any(expected in r for r in info.value.reasons), info.value.reasons
    assert field in info.value.fields


def test_overlapping_group_limits_that_cannot_hold_together_are_reported() -> None:
    """Each pair may hold at most 30 %: every pair passes its own check, but together they cap the
    portfolio at 45 % (each asset is in two pairs), which the feasibility LP finds."""
    pairs = [np.array(m) for m in ([True, True, False], [False, True, True], [True, False, True])]
    cons = Constraints(groups=tuple(GroupBound(f"Pair {i}", m, 0.0, 0.3) for i, m in enumerate(pairs)))

    reasons = _reasons(Objective.MIN_VARIANCE, cons)

    assert "cannot all hold together" in reasons[0]


def test_an_unreachable_esg_minimum_names_the_best_reachable_score() -> None:
    """ESG 2/5/8 with at most 50 % in the best: the most is 0.5·8 + 0.5·5 = 6.5."""
    cons = Constraints(upper=np.array([1.0, 1.0, 0.5]), esg=np.array([2.0, 5.0, 8.0]), esg_min=7.0)

    reasons = _reasons(Objective.MAX_SHARPE, cons)

    assert reasons == ("No long-only portfolio reaches an ESG score of 7 within these bounds: the most is 6.5",)


def test_an_esg_minimum_with_groups_uses_the_lp_and_names_the_best_score() -> None:
    """Tech (assets 1, 2) capped at 30 %: the best is 0.7·2 + 0.3·8 = 3.8."""
    cons = Constraints(
        groups=(GroupBound("Tech", np.array([False, True, True]), 0.0, 0.3),),
        esg=np.array([2.0, 5.0, 8.0]),
        esg_min=4.0,
    )

    reasons = _reasons(Objective.MIN_VARIANCE, cons)

    assert reasons == ("No long-only portfolio reaches an ESG score of 4 within these bounds: the most is 3.8",)


def test_a_turnover_limit_too_tight_for_the_bounds_names_the_least_turnover() -> None:
    """All in asset 0 now, at most 50 % allowed there: at least 50 % must move."""
    cons = Constraints(upper=np.array([0.5, 1.0, 1.0]), current=np.array([1.0, 0.0, 0.0]), max_turnover=0.1)

    reasons = _reasons(Objective.MIN_VARIANCE, cons)

    assert reasons == (
        "Turnover is limited to 10 %, but meeting the other constraints needs at least 50 % (one-way) "
        "from the current portfolio",
    )


def test_a_target_return_above_the_maximum_names_the_maximum() -> None:
    """At most 50 % in the 12 % asset: the most is 0.5·12 % + 0.5·9 % = 10.5 %."""
    reasons = _reasons(Objective.TARGET_RETURN, Constraints(upper=np.array([1.0, 1.0, 0.5])), target=0.15)

    assert reasons == ("Target return 15 % is above the most any allowed portfolio earns (10.5 %)",)


def test_a_target_volatility_below_the_minimum_names_the_minimum() -> None:
    """The two-asset minimum variance is 0.03375, a volatility of 18.37 %."""
    with pytest.raises(InfeasibleError) as info:
        optimize(MU2, COV2, Objective.TARGET_RISK, target=0.10)

    assert info.value.reasons == (
        "Target volatility 10 % is below the lowest volatility any allowed portfolio has (18.37 %)",
    )
    assert "target" in info.value.fields


def test_max_sharpe_when_nothing_beats_the_risk_free_rate() -> None:
    """At most 50 % in the 3 % asset: the most is 0.5·3 % + 0.5·2 % = 2.5 %, below rf = 3 %."""
    reasons = _reasons(
        Objective.MAX_SHARPE,
        Constraints(upper=np.array([1.0, 1.0, 0.5])),
        mu=np.array([0.01, 0.02, 0.03]),
        risk_free=0.03,
    )

    assert reasons == (
        "No allowed portfolio is expected to earn more than the risk-free rate of 3 % (the most is 2.5 %), "
        "so there is no Sharpe ratio to maximise",
    )


def test_the_frontier_runs_the_same_pre_checks() -> None:
    with pytest.raises(InfeasibleError, match="Lower bounds add up to 120 %"):
        efficient_frontier(MU3, COV3, Constraints(lower=np.full(3, 0.4)))


# ---------------------------------------------------------------------------- malformed inputs


@pytest.mark.parametrize(
    ("mu", "cov", "field", "words"),
    [
        (MU3, COV2, "cov", "3 × 3"),
        (np.array([0.05, np.nan, 0.1]), COV3, "mu", "missing"),
        (MU3.reshape(3, 1), COV3, "mu", "vector"),
        (MU2, np.array([[0.04, 0.02], [0.01, 0.09]]), "cov", "symmetric"),
        (MU2, np.array([[0.04, 0.1], [0.1, 0.09]]), "cov", "positive semi-definite"),
        (MU2, np.array([[0.04, np.inf], [np.inf, 0.09]]), "cov", "missing"),
    ],
)
def test_malformed_market_inputs_name_the_field(mu: np.ndarray, cov: np.ndarray, field: str, words: str) -> None:
    with pytest.raises(OptimizationInputError) as info:
        optimize(mu, cov, Objective.MIN_VARIANCE)

    assert field in info.value.fields and words in str(info.value)


@pytest.mark.parametrize(
    ("cons", "field"),
    [
        (Constraints(lower=np.array([-0.1, 0.0, 0.0])), "lower"),
        (Constraints(upper=np.array([0.5, 0.5])), "upper"),
        (Constraints(esg_min=5.0), "esg_min"),
        (Constraints(max_turnover=0.1), "max_turnover"),
        (Constraints(current=np.array([0.5, 0.5, 0.0]), max_turnover=-0.1), "max_turnover"),
        (Constraints(current=np.array([1.5, -0.5, 0.0])), "current"),
        (Constraints(groups=(GroupBound("Tech", np.array([1, 0, 0]), 0.0, 0.5),)), "groups"),  # type: ignore[arg-type]
        (Constraints(groups=(GroupBound("Empty", np.zeros(3, dtype=bool), 0.0, 0.5),)), "groups"),
    ],
)
def test_malformed_constraints_name_the_field(cons: Constraints, field: str) -> None:
    with pytest.raises(OptimizationInputError) as info:
        optimize(MU3, COV3, Objective.MIN_VARIANCE, cons)

    assert field in info.value.fields


@pytest.mark.parametrize("objective", [Objective.TARGET_RETURN, Objective.TARGET_RISK])
def test_target_objectives_need_a_target(objective: Objective) -> None:
    with pytest.raises(OptimizationInputError) as info:
        optimize(MU3, COV3, objective)

    assert "target" in info.value.fields


def test_frontier_points_must_be_a_positive_whole_number() -> None:
    with pytest.raises(OptimizationInputError) as info:
        efficient_frontier(MU3, COV3, points=0)

    assert "points" in info.value.fields


def test_a_zero_covariance_is_refused() -> None:
    # Σ = 0 (trace 0): no risk to measure; a clear field error instead of a degenerate "solution".
    for call in (
        lambda: optimize(MU2, np.zeros((2, 2)), Objective.MIN_VARIANCE),
        lambda: efficient_frontier(MU2, np.zeros((2, 2))),
    ):
        with pytest.raises(OptimizationInputError) as err:
            call()
        assert "cov" in err.value.fields and "zero" in err.value.fields["cov"][0]


def test_max_sharpe_is_refused_when_a_riskless_portfolio_beats_the_risk_free_rate() -> None:
    # Asset 0 has zero variance and earns 3 %: against rf = 0 % or 2 % its Sharpe ratio
    # (0.03 − rf)/0 is unbounded, so there is no maximum (Sharpe 1966: excess return per unit of
    # volatility, undefined at zero volatility). At rf = 3 % it earns no excess and the tangency
    # portfolio of the risky assets is well defined.
    mu, cov = np.array([0.03, 0.08, 0.10]), np.diag([0.0, 0.04, 0.09])
    for rf in (0.0, 0.02):
        with pytest.raises(InfeasibleError) as err:
            optimize(mu, cov, Objective.MAX_SHARPE, risk_free=rf)
        assert "objective" in err.value.fields
        assert "zero volatility" in err.value.reasons[0] and "undefined" in err.value.reasons[0]
    port = optimize(mu, cov, Objective.MAX_SHARPE, risk_free=0.03)
    assert port.volatility > 0.1 and np.isfinite(port.sharpe)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: optimize(MU2, COV2, "max_sharp"), "objective"),  # type: ignore[arg-type]
        (lambda: optimize(MU2, COV2, None), "objective"),  # type: ignore[arg-type]
        (lambda: optimize(MU2, COV2, Objective.MAX_SHARPE, risk_free="0.02"), "risk_free"),  # type: ignore[arg-type]
        (lambda: optimize(MU2, COV2, Objective.TARGET_RETURN, target="10 %"), "target"),  # type: ignore[arg-type]
        (lambda: efficient_frontier(MU2, COV2, risk_free=None), "risk_free"),  # type: ignore[arg-type]
        (lambda: efficient_frontier(MU2, COV2, points=None), "points"),  # type: ignore[arg-type]
        (lambda: optimize(MU2, COV2, Objective.MIN_VARIANCE, Constraints(esg=MU2, esg_min="5")), "esg_min"),  # type: ignore[arg-type]
    ],
)
def test_non_numeric_or_unknown_arguments_are_field_errors(call: object, field: str) -> None:
    # The module's own error with .fields, never a TypeError/ValueError from deep inside.
    with pytest.raises(OptimizationInputError) as err:
        call()  # type: ignore[operator]
    assert field in err.value.fields
    # A string objective that names a real one is accepted (Objective is a StrEnum).
    assert optimize(MU2, COV2, "min_variance").objective == "min_variance"  # type: ignore[arg-type]
