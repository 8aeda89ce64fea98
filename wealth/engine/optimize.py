"""Long-only mean–variance portfolio construction (docs/wealth-methodology.md).

Conventions: ``mu`` is the N-vector of annual expected (arithmetic) returns, ``cov`` the N × N
annual covariance; weights are fractions of the portfolio, always long-only (w ≥ 0) and fully
invested (Σw = 1). Volatility is √(wᵀΣw); Sharpe = (wᵀμ − rf) / volatility (0 for a riskless
portfolio). Turnover is one-way, ½·Σ|w − current| (the same measure as drift). Assets are named
by their index in the inputs (0-based) in messages.

Problems are solved with cvxpy and the Clarabel interior-point solver. Before solving, plain
pre-checks (sums of bounds, sector limits against asset bounds, small linear programmes for the
highest reachable ESG score or return and the lowest reachable turnover) turn an impossible
request into :class:`InfeasibleError` with sentences naming the constraints that conflict and
the numbers involved, instead of a bare solver status.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeGuard

import cvxpy as cp
import numpy as np
import numpy.typing as npt
import scipy.linalg
from threadpoolctl import threadpool_limits

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Relative slack allowed when a request sits exactly on the edge of what is reachable (a target
#: return equal to the maximum, an ESG minimum equal to the best score): solver accuracy is ~1e-8.
EDGE_TOL = 1e-7

#: One solver thread: Clarabel's multithreaded factorisation gained nothing at 500 assets on two
#: cores. Likewise the dense factorisations here run on one BLAS thread: on a busy two-core
#: machine a multithreaded 500 × 500 Cholesky measured 20–250 ms (threads waiting for a core),
#: a single-threaded one ~1.5 ms.
CLARABEL_SETTINGS: dict[str, int] = {"max_threads": 1}


class Objective(StrEnum):
    MIN_VARIANCE = "min_variance"
    MAX_SHARPE = "max_sharpe"
    TARGET_RISK = "target_risk"  # highest return with volatility ≤ target
    TARGET_RETURN = "target_return"  # lowest variance with return ≥ target


@dataclass(frozen=True)
class GroupBound:
    """A sector (or any group) limit: lower ≤ Σ_{i in members} w_i ≤ upper."""

    name: str
    members: BoolArray
    lower: float
    upper: float


@dataclass(frozen=True)
class Constraints:
    """Optional limits on top of long-only and fully invested.

    ``lower``/``upper`` per-asset bounds (fractions; default 0 and 1); ``groups`` sector limits;
    ``esg`` per-asset scores with ``esg_min`` the least portfolio score Σw·esg; ``current`` the
    weights held now (need not sum to 1) and ``max_turnover`` the most one-way turnover allowed.
    """

    lower: FloatArray | None = None
    upper: FloatArray | None = None
    groups: tuple[GroupBound, ...] = ()
    esg: FloatArray | None = None
    esg_min: float | None = None
    current: FloatArray | None = None
    max_turnover: float | None = None


@dataclass(frozen=True)
class OptimalPortfolio:
    weights: FloatArray
    expected_return: float
    volatility: float
    sharpe: float
    esg: float | None
    turnover: float | None
    objective: str


class InfeasibleError(ValueError):
    """No portfolio meets the request. ``reasons`` are plain sentences with the numbers;
    ``fields`` maps each argument concerned (``lower``, ``groups``, ``esg_min``, ``target``, …)
    to the sentences about it."""

    def __init__(self, reasons: Sequence[str], fields: dict[str, list[str]] | None = None) -> None:
        self.reasons = tuple(reasons)
        self.fields = fields if fields is not None else {"constraints": list(self.reasons)}
        super().__init__(" ".join(r if r.endswith(".") else r + "." for r in self.reasons))


class OptimizationInputError(InfeasibleError):
    """Malformed inputs (shapes, missing values, a covariance that is not positive
    semi-definite, a missing target). A subclass of :class:`InfeasibleError`, so a caller that
    turns that error into field errors handles both."""


def _pct(x: float) -> str:
    """0.182 → "18.2 %", 1.2 → "120 %"."""
    return f"{x * 100:.2f}".rstrip("0").rstrip(".") + " %"


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _input_error(field: str, message: str) -> OptimizationInputError:
    return OptimizationInputError([message], {field: [message]})


def _finite(x: object) -> TypeGuard[float]:
    """A real number (not a bool) that is neither NaN nor infinite."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _objective(value: object) -> Objective:
    if isinstance(value, str) and value in {o.value for o in Objective}:  # an Objective is a str too
        return Objective(value)
    choices = ", ".join(o.value for o in Objective)
    raise _input_error("objective", f"Unknown objective {value!r}: choose one of {choices}.")


def _risk_free(value: object) -> float:
    if not _finite(value):
        raise _input_error("risk_free", f"The risk-free rate must be a number; got {value!r}.")
    return float(value)


# ---------------------------------------------------------------------------- validated inputs


@dataclass(frozen=True)
class _Spec:
    n: int
    lower: FloatArray
    upper: FloatArray
    groups: tuple[tuple[str, npt.NDArray[np.intp], float, float], ...]
    esg: FloatArray | None
    esg_min: float | None
    current: FloatArray | None
    max_turnover: float | None


def _market_check(mu: npt.ArrayLike, cov: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    m = np.asarray(mu, dtype=np.float64)
    if m.ndim != 1 or m.size < 1:
        raise _input_error("mu", f"Expected returns must be a vector with one value per asset; got shape {m.shape}.")
    n = m.size
    if not np.all(np.isfinite(m)):
        raise _input_error(
            "mu", f"Expected returns contain missing values (assets {np.flatnonzero(~np.isfinite(m))[:10].tolist()})."
        )
    c = np.asarray(cov, dtype=np.float64)
    if c.shape != (n, n):
        raise _input_error(
            "cov", f"The covariance must be {n} × {n} to match the expected returns; got shape {c.shape}."
        )
    if not np.all(np.isfinite(c)):
        raise _input_error("cov", "The covariance contains missing or infinite values.")
    scale = max(float(np.max(np.abs(np.diag(c)))), 1e-300)
    if not np.allclose(c, c.T, rtol=0.0, atol=1e-9 * scale):
        raise _input_error("cov", "The covariance must be symmetric.")
    c = (c + c.T) / 2.0
    if float(np.trace(c)) <= 1e-14:
        raise _input_error(
            "cov",
            "The covariance is zero (its trace is 0): every asset would be riskless, so there is no risk to "
            "measure or trade off against return.",
        )
    try:
        # Positive definite: the common case, and much cheaper than eigenvalues.
        with threadpool_limits(limits=1, user_api="blas"):
            scipy.linalg.cholesky(c, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        with threadpool_limits(limits=1, user_api="blas"):
            smallest = float(scipy.linalg.eigvalsh(c, check_finite=False)[0])
        if smallest < -1e-10 * scale:
            raise _input_error(
                "cov", f"The covariance is not positive semi-definite (smallest eigenvalue {smallest:.3g})."
            ) from None
    return m, c


def _vector(value: npt.ArrayLike | None, n: int, field: str, what: str, default: float) -> FloatArray:
    if value is None:
        return np.full(n, default)
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (n,):
        raise _input_error(field, f"{what} must have one value per asset ({n}); got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise _input_error(field, f"{what} contain missing values.")
    return arr


def _spec_build(constraints: Constraints, n: int) -> _Spec:
    lower = _vector(constraints.lower, n, "lower", "Lower bounds", 0.0)
    upper = np.minimum(_vector(constraints.upper, n, "upper", "Upper bounds", 1.0), 1.0)
    if np.any(lower < 0.0) or np.any(lower > 1.0):
        raise _input_error("lower", "Lower bounds must be between 0 % and 100 % (portfolios are long-only).")
    if np.any(upper < 0.0):
        raise _input_error("upper", "Upper bounds cannot be negative (portfolios are long-only).")
    groups = []
    for g in constraints.groups:
        members = np.asarray(g.members)
        if members.shape != (n,) or members.dtype != np.bool_:
            raise _input_error("groups", f"Group '{g.name}': members must be one true/false per asset ({n}).")
        if not (_finite(g.lower) and _finite(g.upper)) or g.lower < 0.0 or g.upper < 0.0:
            raise _input_error("groups", f"Group '{g.name}': limits must be numbers of at least 0 %.")
        if not members.any():
            raise _input_error("groups", f"Group '{g.name}' has no members.")
        groups.append((g.name, np.flatnonzero(members), float(g.lower), float(min(g.upper, 1.0))))
    esg = None if constraints.esg is None else _vector(constraints.esg, n, "esg", "ESG scores", 0.0)
    if constraints.esg_min is not None and (esg is None or not _finite(constraints.esg_min)):
        raise _input_error("esg_min", "An ESG minimum must be a number and needs ESG scores for every asset.")
    current = (
        None if constraints.current is None else _vector(constraints.current, n, "current", "Current weights", 0.0)
    )
    if current is not None and np.any(current < 0.0):
        raise _input_error("current", "Current weights cannot be negative.")
    turnover = constraints.max_turnover
    if turnover is not None and (current is None or not _finite(turnover) or turnover < 0.0):
        raise _input_error(
            "max_turnover", "A turnover limit must be a number of at least 0 % and needs current weights."
        )
    return _Spec(
        n=n,
        lower=lower,
        upper=upper,
        groups=tuple(groups),
        esg=esg,
        esg_min=None if constraints.esg_min is None else float(constraints.esg_min),
        current=current,
        max_turnover=None if turnover is None else float(turnover),
    )


# ---------------------------------------------------------------------------- pre-checks


def _bounds_check(spec: _Spec) -> None:
    """Sums of bounds and each group against its members' and the other assets' bounds."""
    reasons: list[str] = []
    fields: dict[str, list[str]] = {}

    def add(field: str, reason: str) -> None:
        reasons.append(reason)
        fields.setdefault(field, []).append(reason)

    for i in np.flatnonzero(spec.lower > spec.upper + 1e-12):
        add("lower", f"Asset {i}: its lower bound {_pct(spec.lower[i])} is above its upper bound {_pct(spec.upper[i])}")
    lo_sum, hi_sum = float(spec.lower.sum()), float(spec.upper.sum())
    if lo_sum > 1.0 + 1e-9:
        add("lower", f"Lower bounds add up to {_pct(lo_sum)}, more than the 100 % to invest")
    if hi_sum < 1.0 - 1e-9:
        add("upper", f"Upper bounds add up to {_pct(hi_sum)}, less than the 100 % to invest")
    for name, idx, g_lo, g_hi in spec.groups:
        inside = np.zeros(spec.n, dtype=bool)
        inside[idx] = True
        m_lo, m_hi = float(spec.lower[inside].sum()), float(spec.upper[inside].sum())
        o_lo, o_hi = float(spec.lower[~inside].sum()), float(spec.upper[~inside].sum())
        if g_lo > g_hi + 1e-12:
            add("groups", f"Group '{name}': its minimum {_pct(g_lo)} is above its maximum {_pct(g_hi)}")
            continue
        if g_lo > m_hi + 1e-9:
            add(
                "groups",
                f"Group '{name}' must hold at least {_pct(g_lo)}, but its members' upper bounds add up to {_pct(m_hi)}",
            )
        if g_hi < m_lo - 1e-9:
            add(
                "groups",
                f"Group '{name}' may hold at most {_pct(g_hi)}, but its members' lower bounds add up to {_pct(m_lo)}",
            )
        if g_lo + o_lo > 1.0 + 1e-9:
            add(
                "groups",
                f"Group '{name}' must hold at least {_pct(g_lo)} and the other assets' lower bounds add up to "
                f"{_pct(o_lo)}: together more than the 100 % to invest",
            )
        if min(g_hi, m_hi) + o_hi < 1.0 - 1e-9:
            add(
                "groups",
                f"Group '{name}' may hold at most {_pct(min(g_hi, m_hi))} and the other assets' upper bounds add up to "
                f"{_pct(o_hi)}: together less than the 100 % to invest",
            )
    if reasons:
        raise InfeasibleError(reasons, fields)


def _constraints(w: cp.Variable, spec: _Spec, *, esg: bool = True, turnover: bool = True) -> list[cp.Constraint]:
    """Fully invested, bounds, groups and (optionally) the ESG minimum and turnover limit."""
    out: list[cp.Constraint] = [cp.sum(w) == 1.0, w >= spec.lower]
    if np.any(spec.upper < 1.0):
        out.append(w <= spec.upper)
    for _, idx, lo, hi in spec.groups:
        total = cp.sum(w[idx])
        out += [total >= lo, total <= hi]
    if esg and spec.esg_min is not None and spec.esg is not None:
        out.append(spec.esg @ w >= spec.esg_min)
    if turnover and spec.max_turnover is not None and spec.current is not None:
        out.append(cp.norm1(w - spec.current) <= 2.0 * spec.max_turnover)
    return out


def _greedy_max(values: FloatArray, spec: _Spec) -> tuple[float, FloatArray]:
    """max valuesᵀw over the bounds and Σw = 1: start at the lower bounds, fill the best first."""
    w = spec.lower.copy()
    left = 1.0 - float(w.sum())
    for i in np.argsort(-values, kind="stable"):
        if left <= 0.0:
            break
        step = min(float(spec.upper[i] - w[i]), left)
        w[i] += step
        left -= step
    return float(values @ w), w


def _solved(problem: cp.Problem, what: str) -> None:
    """Solve with Clarabel; anything but an optimal status becomes an InfeasibleError."""
    try:
        problem.solve(solver=cp.CLARABEL, **CLARABEL_SETTINGS)
    except cp.error.SolverError as exc:
        raise InfeasibleError([f"The optimiser could not solve the {what} problem ({exc})"]) from None
    if problem.status != cp.OPTIMAL:
        if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise InfeasibleError(
                [
                    "The constraints (asset bounds, group limits, ESG minimum, turnover limit) cannot all hold "
                    f"together ({what})"
                ]
            )
        raise InfeasibleError([f"The optimiser stopped without an optimal {what} portfolio (status: {problem.status})"])


def _linear_extreme(
    values: FloatArray, spec: _Spec, *, esg: bool, turnover: bool, what: str
) -> tuple[float, FloatArray]:
    """The highest valuesᵀw over the constraints (greedy when only bounds apply, else an LP)."""
    if not spec.groups and not (esg and spec.esg_min is not None) and not (turnover and spec.max_turnover is not None):
        return _greedy_max(values, spec)
    w = cp.Variable(spec.n)
    problem = cp.Problem(cp.Maximize(values @ w), _constraints(w, spec, esg=esg, turnover=turnover))
    _solved(problem, what)
    return float(problem.value), np.asarray(w.value, dtype=np.float64)


def _constraints_check(spec: _Spec) -> None:
    """Everything but the objective: bounds, groups, ESG reachable, turnover reachable."""
    _bounds_check(spec)
    if spec.esg_min is not None and spec.esg is not None:
        best, _ = _linear_extreme(spec.esg, spec, esg=False, turnover=False, what="highest ESG score")
        if spec.esg_min > best + EDGE_TOL * max(1.0, abs(best)):
            reason = (
                f"No long-only portfolio reaches an ESG score of {_num(spec.esg_min)} within these bounds: "
                f"the most is {_num(best)}"
            )
            raise InfeasibleError([reason], {"esg_min": [reason]})
    elif spec.groups:
        _linear_extreme(np.zeros(spec.n), spec, esg=False, turnover=False, what="group limits")
    if spec.max_turnover is not None and spec.current is not None:
        w = cp.Variable(spec.n)
        problem = cp.Problem(cp.Minimize(cp.norm1(w - spec.current) / 2.0), _constraints(w, spec, turnover=False))
        _solved(problem, "lowest turnover")
        least = float(problem.value)
        if spec.max_turnover < least - EDGE_TOL:
            reason = (
                f"Turnover is limited to {_pct(spec.max_turnover)}, but meeting the other constraints needs at least "
                f"{_pct(least)} (one-way) from the current portfolio"
            )
            raise InfeasibleError([reason], {"max_turnover": [reason]})


# ---------------------------------------------------------------------------- problems


def _portfolio(
    w: FloatArray, mu: FloatArray, cov: FloatArray, spec: _Spec, objective: str, risk_free: float
) -> OptimalPortfolio:
    # Interior-point answers sit within ~1e-9 of the bounds: put them back on the right side.
    w = np.clip(w, spec.lower, spec.upper)
    w = w / w.sum()
    ret = float(mu @ w)
    vol = float(np.sqrt(max(float(w @ cov @ w), 0.0)))
    return OptimalPortfolio(
        weights=w,
        expected_return=ret,
        volatility=vol,
        sharpe=(ret - risk_free) / vol if vol > 1e-12 else 0.0,
        esg=None if spec.esg is None else float(spec.esg @ w),
        turnover=None if spec.current is None else float(np.abs(w - spec.current).sum() / 2.0),
        objective=objective,
    )


@dataclass
class _VarianceProblem:
    """min wᵀΣw over the constraints with return ≥ a parameter: compiled once, solved per target
    (cvxpy's DPP caches the canonicalisation, so a frontier pays it once)."""

    problem: cp.Problem
    w: cp.Variable
    target: cp.Parameter
    floor: float  # a target every portfolio meets: the minimum-variance problem

    @classmethod
    def build(cls, mu: FloatArray, cov: FloatArray, spec: _Spec) -> _VarianceProblem:
        w = cp.Variable(spec.n)
        target = cp.Parameter()
        # Σ is passed whole: Clarabel takes the quadratic objective natively, which measured
        # ~2× faster at 500 assets than the factor forms ‖Lᵀw‖² or ‖Lᵀw‖ (cone constraints).
        risk = cp.quad_form(w, cp.psd_wrap(cov))
        problem = cp.Problem(cp.Minimize(risk), [*_constraints(w, spec), mu @ w >= target])
        return cls(problem, w, target, float(mu.min()) - 1.0)

    def solve(self, target: float | None, what: str) -> FloatArray:
        self.target.value = self.floor if target is None else target
        _solved(self.problem, what)
        return np.asarray(self.w.value, dtype=np.float64)


def _max_sharpe(mu: FloatArray, cov: FloatArray, spec: _Spec, risk_free: float) -> FloatArray:
    """Cornuéjols & Tütüncü (2007, §8.2): with y = κw, κ ≥ 0, maximising the Sharpe ratio is the
    convex problem min yᵀΣy s.t. (μ − rf)ᵀy = 1, Σy = κ and every constraint scaled by κ."""
    y = cp.Variable(spec.n)
    kappa = cp.Variable(nonneg=True)
    cons: list[cp.Constraint] = [(mu - risk_free) @ y == 1.0, cp.sum(y) == kappa, y >= kappa * spec.lower]
    if np.any(spec.upper < 1.0):
        cons.append(y <= kappa * spec.upper)
    for _, idx, lo, hi in spec.groups:
        total = cp.sum(y[idx])
        cons += [total >= kappa * lo, total <= kappa * hi]
    if spec.esg_min is not None and spec.esg is not None:
        cons.append(spec.esg @ y >= kappa * spec.esg_min)
    if spec.max_turnover is not None and spec.current is not None:
        cons.append(cp.norm1(y - kappa * spec.current) <= 2.0 * spec.max_turnover * kappa)
    problem = cp.Problem(cp.Minimize(cp.quad_form(y, cp.psd_wrap(cov))), cons)
    _solved(problem, "maximum Sharpe ratio")
    k = float(kappa.value)
    if k <= 0.0:
        raise InfeasibleError(["The optimiser found no portfolio with a positive excess return"])
    return np.asarray(y.value, dtype=np.float64) / k


def _factor(cov: FloatArray) -> FloatArray:
    """F with FFᵀ = Σ (Cholesky, or the eigen-factor when Σ is only semi-definite)."""
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            return np.asarray(scipy.linalg.cholesky(cov, lower=True, check_finite=False), dtype=np.float64)
    except np.linalg.LinAlgError:
        with threadpool_limits(limits=1, user_api="blas"):
            values, vectors = scipy.linalg.eigh(cov, check_finite=False)
        return np.asarray(vectors * np.sqrt(np.clip(values, 0.0, None)), dtype=np.float64)


def _max_return_at_risk(mu: FloatArray, cov: FloatArray, spec: _Spec, target: float) -> FloatArray:
    w = cp.Variable(spec.n)
    problem = cp.Problem(cp.Maximize(mu @ w), [*_constraints(w, spec), cp.norm(_factor(cov).T @ w) <= target])
    _solved(problem, "target volatility")
    return np.asarray(w.value, dtype=np.float64)


def _target_check(objective: Objective, target: float | None) -> float:
    if not _finite(target):
        what = "a target return" if objective is Objective.TARGET_RETURN else "a target volatility"
        raise _input_error("target", f"The {objective.value} objective needs {what} (a number); got {target!r}.")
    if objective is Objective.TARGET_RISK and target < 0.0:
        raise _input_error("target", f"A target volatility cannot be negative; got {_pct(target)}.")
    return float(target)


def optimize(
    mu: npt.ArrayLike,
    cov: npt.ArrayLike,
    objective: Objective,
    constraints: Constraints = Constraints(),
    *,
    risk_free: float = 0.0,
    target: float | None = None,
) -> OptimalPortfolio:
    """The optimal long-only, fully invested portfolio for ``objective`` under ``constraints``.

    ``target`` is the annual return (TARGET_RETURN) or volatility (TARGET_RISK); other
    objectives ignore it. Raises :class:`InfeasibleError` (reasons with numbers) when no
    portfolio qualifies, :class:`OptimizationInputError` for malformed inputs.
    """
    objective = _objective(objective)
    m, c = _market_check(mu, cov)
    risk_free = _risk_free(risk_free)
    spec = _spec_build(constraints, m.size)
    goal = _target_check(objective, target) if objective in (Objective.TARGET_RETURN, Objective.TARGET_RISK) else None
    _constraints_check(spec)

    if objective is Objective.MIN_VARIANCE:
        w = _VarianceProblem.build(m, c, spec).solve(None, "minimum variance")
    elif objective is Objective.TARGET_RETURN:
        assert goal is not None
        best, _ = _linear_extreme(m, spec, esg=True, turnover=True, what="highest return")
        if goal > best + EDGE_TOL * max(1.0, abs(best)):
            reason = f"Target return {_pct(goal)} is above the most any allowed portfolio earns ({_pct(best)})"
            raise InfeasibleError([reason], {"target": [reason]})
        w = _VarianceProblem.build(m, c, spec).solve(min(goal, best), "target return")
    elif objective is Objective.TARGET_RISK:
        assert goal is not None
        least_w = _VarianceProblem.build(m, c, spec).solve(None, "minimum variance")
        least = float(np.sqrt(max(float(least_w @ c @ least_w), 0.0)))
        if goal < least * (1.0 - EDGE_TOL) - 1e-12:
            reason = (
                f"Target volatility {_pct(goal)} is below the lowest volatility any allowed portfolio has "
                f"({_pct(least)})"
            )
            raise InfeasibleError([reason], {"target": [reason]})
        w = least_w if goal <= least * (1.0 + EDGE_TOL) else _max_return_at_risk(m, c, spec, goal)
    else:
        best, _ = _linear_extreme(m, spec, esg=True, turnover=True, what="highest return")
        if best <= risk_free + 1e-12:
            reason = (
                f"No allowed portfolio is expected to earn more than the risk-free rate of {_pct(risk_free)} "
                f"(the most is {_pct(best)}), so there is no Sharpe ratio to maximise"
            )
            raise InfeasibleError([reason], {"risk_free": [reason]})
        w = _max_sharpe(m, c, spec, risk_free)
        _sharpe_defined(w, m, c, spec, risk_free)
    return _portfolio(w, m, c, spec, objective.value, risk_free)


def _sharpe_defined(w: FloatArray, mu: FloatArray, cov: FloatArray, spec: _Spec, risk_free: float) -> None:
    """Refuse a maximum-Sharpe answer with (near) zero volatility: an allowed portfolio that is
    riskless yet earns more than the risk-free rate has an unbounded Sharpe ratio, so the
    maximum does not exist (the solver returns some riskless mix)."""
    port = _portfolio(w, mu, cov, spec, Objective.MAX_SHARPE.value, risk_free)
    scale = math.sqrt(float(np.max(np.diag(cov))))
    # Interior-point answers leave ~1e-6 of residual risk on a riskless optimum; real portfolios
    # (even cash-like ones, ~0.1 % a year) are far above this threshold.
    if port.volatility <= 1e-4 * scale:
        reason = (
            f"An allowed portfolio has (near) zero volatility ({_pct(port.volatility)}) yet earns "
            f"{_pct(port.expected_return)}, more than the risk-free rate of {_pct(risk_free)}: its Sharpe ratio "
            "is undefined (unbounded), so there is no maximum; use minimum variance or a target return instead"
        )
        raise InfeasibleError([reason], {"objective": [reason]})


def efficient_frontier(
    mu: npt.ArrayLike,
    cov: npt.ArrayLike,
    constraints: Constraints = Constraints(),
    *,
    points: int = 20,
    risk_free: float = 0.0,
) -> list[OptimalPortfolio]:
    """``points`` portfolios from the minimum-variance one to the highest-return one, at evenly
    spaced target returns; each is the least-variance portfolio earning at least its target.

    A single point when every allowed portfolio earns the same. The variance problem is compiled
    once (a cvxpy parameter holds the target) and re-solved per point.
    """
    m, c = _market_check(mu, cov)
    risk_free = _risk_free(risk_free)
    if not _finite(points) or int(points) != points or points < 1:
        raise _input_error("points", f"Points must be a whole number of at least 1; got {points!r}.")
    spec = _spec_build(constraints, m.size)
    _constraints_check(spec)
    problem = _VarianceProblem.build(m, c, spec)
    first = _portfolio(problem.solve(None, "minimum variance"), m, c, spec, Objective.MIN_VARIANCE.value, risk_free)
    best, _ = _linear_extreme(m, spec, esg=True, turnover=True, what="highest return")
    low = first.expected_return
    if points == 1 or best - low <= EDGE_TOL * max(1.0, abs(best)):
        return [first]
    frontier = [first]
    for goal in np.linspace(low, best, int(points))[1:]:
        w = problem.solve(float(goal), "frontier")
        frontier.append(_portfolio(w, m, c, spec, Objective.TARGET_RETURN.value, risk_free))
    return frontier
