"""Goal planning: Monte Carlo of a savings plan, its chance of success and the contribution needed.

Conventions (docs/wealth-methodology.md, "Goal planning"):

- ``mu`` and ``sigma`` are the portfolio's annual arithmetic expected return and volatility, as
  fractions, constant or one value per month (a glide path). Monthly log-returns are normal:
  ``log(1 + r_t) ~ N((mu_t − sigma_t²/2)/12, sigma_t²/12)``, so a year of constant moments has
  median growth ``exp(mu − sigma²/2)`` and mean growth ``exp(mu)``.
- The annual fee is taken monthly, multiplying the balance by ``(1 − fee)^(1/12)`` each month.
- Contributions are paid at the end of months 1..T (the last on the target date); the amount is
  ``monthly_contribution`` in the first twelve months and grows by ``contribution_growth`` at
  each anniversary.
- The target is in today's money; the plan succeeds when final nominal wealth reaches
  ``target · (1 + inflation)^(T/12)``. Percentiles are reported in today's money, nominal wealth
  at month t divided by ``(1 + inflation)^(t/12)``.
- Final wealth is linear in the contribution k: ``W_T = A + k·B`` with ``A`` the grown initial
  amount and ``B`` the grown unit-contribution schedule, both fixed by the draws. A path succeeds
  when ``k ≥ (K − A)/B``; the contribution reaching a probability p with the same draws is the
  ceil(p·n)-th smallest of these thresholds — exact, no search.
- The fan (percentiles) is on a monthly grid up to three years and on a yearly grid plus the final
  month beyond, which keeps the simulation fast; probability and required contribution always
  use every month.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PERCENTILES: tuple[int, ...] = (5, 25, 50, 75, 95)
MIN_PATHS = 100
MAX_MONTHS = 1200  # 100 years
# Up to this horizon the fan has a point every month; beyond it, every twelve months plus the end.
MONTHLY_GRID_MAX_MONTHS = 36
# Sanity bounds on the moments: they are fractions (0.07 = 7 %); larger values are taken for a
# percentage typed as a number and rejected.
MU_BOUNDS = (-1.0, 1.0)
SIGMA_MAX = 2.0


class GoalError(ValueError):
    """Goal inputs the simulation cannot use; ``fields`` maps an input name to its messages."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields: dict[str, list[str]] = {key: list(messages) for key, messages in fields.items()}
        super().__init__("; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in self.fields.items()))


@dataclass(frozen=True, kw_only=True)
class GoalInputs:
    """A savings plan. Amounts in currency (``target`` in today's money), rates as annual fractions,
    ``months`` the horizon. ``mu``/``sigma``: constant or one value per month (see module doc)."""

    initial: float
    monthly_contribution: float
    months: int
    target: float
    contribution_growth: float = 0.0
    inflation: float = 0.0
    annual_fee: float = 0.0
    mu: FloatArray | float
    sigma: FloatArray | float


@dataclass(frozen=True)
class GoalResult:
    """``probability`` of reaching the target; ``percentiles[q]`` wealth in today's money at each
    month of ``months`` (0 included, last = horizon); ``median_final`` in today's money;
    ``required_contribution`` the first-year monthly contribution (same growth) reaching the
    probability target with the same draws (0 when none is needed); ``target_nominal`` the target
    inflated to the horizon."""

    probability: float
    months: IntArray
    percentiles: dict[int, FloatArray]
    median_final: float
    required_contribution: float | None
    target_nominal: float


def _number(value: object) -> float | None:
    """A finite float, or None for text, booleans, NaN and infinities."""
    if isinstance(value, bool | str) or not isinstance(value, int | float | Decimal | np.integer | np.floating):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _check_months(months: object, errors: dict[str, list[str]]) -> int:
    if isinstance(months, bool) or not isinstance(months, int | np.integer):
        errors.setdefault("months", []).append(f"The horizon must be a whole number of months; got {months!r}.")
        return 0
    if months <= 0:
        errors.setdefault("months", []).append("The horizon must be at least one month.")
        return 0
    if months > MAX_MONTHS:
        errors.setdefault("months", []).append(f"The horizon must be at most {MAX_MONTHS} months.")
        return 0
    return int(months)


def _moment_path(
    name: str, value: object, months: int, low: float, high: float, errors: dict[str, list[str]]
) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        errors.setdefault(name, []).append("Must be a number or one number per month.")
        return np.zeros(0)
    if arr.ndim == 0:
        arr = np.full(max(months, 1), float(arr))  # months is 0 when the horizon itself is invalid
    if arr.ndim != 1 or (months and arr.size != months):
        errors.setdefault(name, []).append(f"Must be a number or one number per month ({months} values).")
        return np.zeros(0)
    if not np.all(np.isfinite(arr)):
        errors.setdefault(name, []).append("Must be finite (no NaN or infinity).")
    elif np.any(arr < low) or np.any(arr > high):
        errors.setdefault(name, []).append(
            f"Must be an annual fraction between {low:g} and {high:g} (0.07 = 7 %)."
            if low < 0
            else f"Must be an annual fraction between 0 and {high:g} (0.15 = 15 %); a volatility cannot be negative."
        )
    return arr


def _inputs_check(
    inputs: GoalInputs, paths: int, seed: int, probability_target: float
) -> tuple[FloatArray, FloatArray]:
    errors: dict[str, list[str]] = {}
    months = _check_months(inputs.months, errors)
    initial = _number(inputs.initial)
    contribution = _number(inputs.monthly_contribution)
    target = _number(inputs.target)
    growth = _number(inputs.contribution_growth)
    inflation = _number(inputs.inflation)
    fee = _number(inputs.annual_fee)
    rules: list[tuple[str, object, str, bool]] = [
        ("initial", inputs.initial, "The initial amount cannot be negative.", initial is not None and initial >= 0),
        (
            "monthly_contribution",
            inputs.monthly_contribution,
            "The monthly contribution cannot be negative.",
            contribution is not None and contribution >= 0,
        ),
        ("target", inputs.target, "The target must be more than zero.", target is not None and target > 0),
        (
            "contribution_growth",
            inputs.contribution_growth,
            "Contribution growth must be more than −100 % a year.",
            growth is not None and growth > -1,
        ),
        (
            "inflation",
            inputs.inflation,
            "Inflation must be more than −100 % a year.",
            inflation is not None and inflation > -1,
        ),
        (
            "annual_fee",
            inputs.annual_fee,
            "The annual fee must be at least 0 and below 100 %.",
            fee is not None and 0 <= fee < 1,
        ),
    ]
    for field, raw, message, ok in rules:
        if _number(raw) is None:
            errors.setdefault(field, []).append(f"Must be a finite number; got {raw!r}.")
        elif not ok:
            errors.setdefault(field, []).append(message)
    mu = _moment_path("mu", inputs.mu, months, *MU_BOUNDS, errors)
    sigma = _moment_path("sigma", inputs.sigma, months, 0.0, SIGMA_MAX, errors)
    if isinstance(paths, bool) or not isinstance(paths, int | np.integer) or paths < MIN_PATHS:
        errors.setdefault("paths", []).append(f"At least {MIN_PATHS} paths are needed; got {paths!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        errors.setdefault("seed", []).append(f"The seed must be a non-negative whole number; got {seed!r}.")
    q = _number(probability_target)
    if q is None or not 0 < q < 1:
        errors.setdefault("probability_target", []).append(
            f"The probability target must be strictly between 0 and 1; got {probability_target!r}."
        )
    if errors:
        raise GoalError(errors)
    return mu, sigma


def glide_path(
    start: tuple[float, float], end: tuple[float, float], months: int, *, enabled: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Monthly (mu, sigma) moving linearly from ``start`` (the growth portfolio's annual moments)
    in month 1 to ``end`` (the conservative portfolio's) in the last month; constant at ``start``
    when disabled. Volatility is interpolated, not variance: a plain, explainable path."""
    errors: dict[str, list[str]] = {}
    n = _check_months(months, errors)
    for name, raw in (("start", start), ("end", end)):
        try:
            pair = tuple(raw)
        except TypeError:  # None, a bare number …
            pair = ()
        if len(pair) != 2 or any(_number(v) is None for v in pair):
            errors.setdefault(name, []).append(f"Must be a pair of finite numbers (mu, sigma); got {raw!r}.")
        elif float(pair[1]) < 0:
            errors.setdefault(name, []).append("A volatility cannot be negative.")
    if errors:
        raise GoalError(errors)
    if not enabled:
        return np.full(n, float(start[0])), np.full(n, float(start[1]))
    return np.linspace(float(start[0]), float(end[0]), n), np.linspace(float(start[1]), float(end[1]), n)


def fan_months(months: int) -> IntArray:
    """Months at which the fan is reported: every month up to three years, else every twelfth
    month plus the horizon. Always starts at 0 and ends at ``months``."""
    step = 1 if months <= MONTHLY_GRID_MAX_MONTHS else 12
    grid = np.arange(0, months + 1, step, dtype=np.int64)
    if grid[-1] != months:
        grid = np.append(grid, np.int64(months))
    return grid


def goal_simulate(inputs: GoalInputs, *, paths: int = 10_000, seed: int, probability_target: float = 0.8) -> GoalResult:
    """Simulate ``paths`` wealth paths month by month (see the module doc for the conventions).

    Draws: one (months × paths) standard normal matrix from ``numpy.random.default_rng(seed)``;
    the same seed and inputs give the same result."""
    mu, sigma = _inputs_check(inputs, paths, seed, probability_target)
    n_months, n_paths = int(inputs.months), int(paths)
    initial, contribution = float(inputs.initial), float(inputs.monthly_contribution)
    inflation, fee = float(inputs.inflation), float(inputs.annual_fee)

    # Monthly gross growth factors, one row per month so that each step below works on a
    # contiguous row of all paths.
    drift = (mu - 0.5 * sigma**2) / 12.0 + math.log1p(-fee) / 12.0
    vol = sigma / math.sqrt(12.0)
    growth = np.random.default_rng(int(seed)).standard_normal((n_months, n_paths))
    growth *= vol[:, None]
    growth += drift[:, None]
    np.exp(growth, out=growth)

    # Contribution per unit of first-year contribution paid at the end of month t+1.
    unit = (1.0 + float(inputs.contribution_growth)) ** (np.arange(n_months) // 12)
    grid = fan_months(n_months)
    grown_initial = np.full(n_paths, initial)  # A_t: the initial amount grown to month t
    grown_unit = np.zeros(n_paths)  # B_t: unit contributions grown to month t
    at_grid_a = np.empty((grid.size, n_paths))
    at_grid_b = np.empty((grid.size, n_paths))
    at_grid_a[0], at_grid_b[0] = grown_initial, grown_unit
    # A loop over months (not paths): three vector operations per month on all paths at once.
    next_point = 1
    for t in range(n_months):
        row = growth[t]
        grown_initial *= row
        grown_unit *= row
        grown_unit += unit[t]
        if t + 1 == grid[next_point]:
            at_grid_a[next_point], at_grid_b[next_point] = grown_initial, grown_unit
            next_point += 1

    target_nominal = float(inputs.target) * (1.0 + inflation) ** (n_months / 12.0)
    # Contribution each path needs to reach the target; success ⇔ contribution ≥ threshold. The
    # comparison is made on thresholds so that re-running with required_contribution is exact.
    thresholds = (target_nominal - grown_initial) / grown_unit
    probability = float(np.count_nonzero(thresholds <= contribution)) / n_paths
    # p·n is rounded first: 0.07 × 100 = 7.000000000000001 in binary floating point, and its
    # ceiling 8 would ask for 8 % of paths instead of 7 %.
    rank = math.ceil(round(float(probability_target) * n_paths, 9)) - 1
    required = float(np.partition(thresholds, rank)[rank])

    wealth = at_grid_a + contribution * at_grid_b
    deflator = (1.0 + inflation) ** (grid / 12.0)
    levels = np.percentile(wealth, PERCENTILES, axis=1) / deflator
    percentiles = {q: levels[i] for i, q in enumerate(PERCENTILES)}
    return GoalResult(
        probability=probability,
        months=grid,
        percentiles=percentiles,
        median_final=float(percentiles[50][-1]),
        required_contribution=max(required, 0.0),
        target_nominal=target_nominal,
    )
