"""Wealth engine benchmark: max Sharpe and a 20-point frontier over 500 assets side by side with
scipy's SLSQP and PyPortfolioOpt, and the 10,000-path × 360-month goal Monte Carlo.

    python -m bench.wealth [--assets 500] [--days 1260] [--points 20] [--repeats 5]
                           [--slsqp-repeats 1] [--paths 10000] [--months 360] [--seed N] [--no-docs]

No database, no server: the engine (``wealth.engine``) is called as the services call it.

1. Inputs: 5 years (1,260 days) of daily returns of 500 assets from the seeded factor model of
   ``bench.risk.universe_build`` (5 principal-component factors of the 20 real S&P 500 stocks
   shipped with skfolio, idiosyncratic noise, volatilities drawn around the real stocks'), then
   James–Stein means (``mean_shrunk``) and the Ledoit–Wolf covariance, as ``market_inputs`` does.
2. Timed on the same inputs, each after a warm-up, median of the repeats: our
   ``optimize(MAX_SHARPE)`` and ``efficient_frontier(points=20)``; scipy's SLSQP on −Sharpe with
   its analytic gradient (long-only, Σw = 1) and a 20-point SLSQP frontier (minimum variance at
   each of our target returns, each point started from the previous one); PyPortfolioOpt's
   ``max_sharpe`` and ``efficient_return`` at the same 20 targets (one ``EfficientFrontier``
   re-solved, with Clarabel: its default OSQP stops at its iteration limit near the top).
   Agreement with ours: largest weight difference and Sharpe ratio difference.
   Targets: max Sharpe < 0.5 s, frontier < 3 s.
3. ``goal_simulate`` with 10,000 paths × 360 months on a glide path. Target < 0.1 s.
Figures go to the "wealth" section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from scipy.optimize import minimize

from bench import common, risk
from wealth.engine.estimates import covariance_ledoit_wolf, mean_shrunk
from wealth.engine.goals import GoalInputs, glide_path, goal_simulate
from wealth.engine.optimize import Objective, OptimalPortfolio, efficient_frontier, optimize

SECTION = "wealth"
MAX_SHARPE_TARGET_S = 0.5
FRONTIER_TARGET_S = 3.0
GOAL_TARGET_S = 0.1
RISK_FREE = 0.02
LIBRARY = "PyPortfolioOpt"
#: The library's default (cvxpy's pick, OSQP for its quadratic programmes) stops at its iteration
#: limit near the top of a 500-asset frontier; Clarabel, the engine's solver, solves every point.
LIBRARY_SOLVER = "CLARABEL"

T = TypeVar("T")


# ---------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Inputs:
    mu: np.ndarray
    cov: np.ndarray
    shrinkage: float
    universe: risk.Universe


def inputs_build(*, n_assets: int, days: int, seed: int) -> Inputs:
    """James–Stein means and Ledoit–Wolf covariance of the synthetic universe (5 factors)."""
    universe = risk.universe_build(n_assets=n_assets, days=days, seed=seed, n_factors=min(5, n_assets))
    mu, shrinkage = mean_shrunk(universe.returns)
    return Inputs(mu=mu, cov=covariance_ledoit_wolf(universe.returns), shrinkage=shrinkage, universe=universe)


# ---------------------------------------------------------------------------- timing


@dataclass
class Timing:
    runs: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def best(self) -> float:
        return min(self.runs)


def timed(fn: Callable[[], T], repeats: int, *, warm_up: bool = True) -> tuple[Timing, T]:
    """Run ``fn`` once untimed (imports, first BLAS calls, cvxpy's first compilation are not what
    we measure), then ``repeats`` times; the last result is returned."""
    if warm_up:
        fn()
    timing = Timing()
    result: Any = None
    for _ in range(repeats):
        began = time.perf_counter()
        result = fn()
        timing.runs.append(time.perf_counter() - began)
    return timing, result


# ---------------------------------------------------------------------------- the three sides


def sharpe(w: np.ndarray, mu: np.ndarray, cov: np.ndarray, rf: float) -> float:
    return float((mu @ w - rf) / np.sqrt(w @ cov @ w))


def slsqp_max_sharpe(mu: np.ndarray, cov: np.ndarray, rf: float) -> tuple[np.ndarray, str]:
    """minimise −(μᵀw − rf)/√(wᵀΣw), gradient −(μσ − (μᵀw − rf)Σw/σ)/σ², 0 ≤ w ≤ 1, Σw = 1."""
    n = mu.size

    def negative_sharpe(w: np.ndarray) -> tuple[float, np.ndarray]:
        sw = cov @ w
        var = float(w @ sw)
        vol = np.sqrt(var)
        excess = float(mu @ w) - rf
        return -excess / vol, -(mu * vol - excess * sw / vol) / var

    done = minimize(
        negative_sharpe,
        np.full(n, 1.0 / n),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(n)}],
        options={"ftol": 1e-12, "maxiter": 1000},
    )
    return np.asarray(done.x), str(done.message)


def slsqp_frontier(mu: np.ndarray, cov: np.ndarray, targets: Sequence[float]) -> list[np.ndarray]:
    """min wᵀΣw s.t. μᵀw ≥ target, 0 ≤ w ≤ 1, Σw = 1 per target, warm-started from the last point."""
    n = mu.size
    w = np.full(n, 1.0 / n)
    out = []
    for target in targets:
        done = minimize(
            lambda x: (float(x @ cov @ x), 2.0 * cov @ x),
            w,
            jac=True,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * n,
            constraints=[
                {"type": "eq", "fun": lambda x: x.sum() - 1.0, "jac": lambda x: np.ones(n)},
                {"type": "ineq", "fun": lambda x, t=target: float(mu @ x) - t, "jac": lambda x: mu},
            ],
            options={"ftol": 1e-12, "maxiter": 1000},
        )
        w = np.asarray(done.x)
        out.append(w)
    return out


def _pypfopt_weights(ef: Any) -> np.ndarray:
    return np.array(list(ef.clean_weights(cutoff=0.0, rounding=None).values()), dtype=np.float64)


def pypfopt_max_sharpe(mu: np.ndarray, cov: np.ndarray, rf: float) -> np.ndarray:
    from pypfopt import EfficientFrontier

    ef = EfficientFrontier(mu, cov, weight_bounds=(0, 1), solver=LIBRARY_SOLVER)
    ef.max_sharpe(risk_free_rate=rf)
    return _pypfopt_weights(ef)


def pypfopt_frontier(mu: np.ndarray, cov: np.ndarray, targets: Sequence[float]) -> list[np.ndarray]:
    from pypfopt import EfficientFrontier

    ef = EfficientFrontier(mu, cov, weight_bounds=(0, 1), solver=LIBRARY_SOLVER)
    out = []
    for target in targets:
        ef.efficient_return(float(target))  # re-solves the same cvxpy problem with a new target
        out.append(_pypfopt_weights(ef))
    return out


def frontier_targets(frontier: Sequence[OptimalPortfolio], mu: np.ndarray) -> list[float]:
    """Our frontier's target returns; the last (the highest return) a hair inside, since a
    library refuses a target it cannot beat by a strict margin."""
    targets = [p.expected_return for p in frontier]
    targets[-1] = min(targets[-1], float(mu.max())) - 1e-7
    return targets


# ---------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Side:
    """One implementation's timings and how far its answers are from ours."""

    name: str
    max_sharpe: Timing
    frontier: Timing
    max_abs_dw: float  # max Sharpe weights, largest |Δw|
    d_sharpe: float  # their Sharpe − ours
    frontier_max_abs_dw: float
    frontier_max_dvol: float  # largest |Δ volatility| over the points
    note: str = ""


@dataclass(frozen=True)
class Results:
    inputs: Inputs
    ours: Side
    others: tuple[Side, ...]
    ours_sharpe: float
    ours_holdings: int
    frontier_points: int
    goal: Timing
    goal_probability: float
    args: argparse.Namespace
    load_average: tuple[float, float]


def _compare(
    name: str,
    ms: tuple[Timing, np.ndarray],
    fr: tuple[Timing, list[np.ndarray]],
    ours_w: np.ndarray,
    ours_frontier: Sequence[OptimalPortfolio],
    inp: Inputs,
    note: str = "",
) -> Side:
    vols = [float(np.sqrt(w @ inp.cov @ w)) for w in fr[1]]
    return Side(
        name=name,
        max_sharpe=ms[0],
        frontier=fr[0],
        max_abs_dw=float(np.max(np.abs(ms[1] - ours_w))),
        d_sharpe=sharpe(ms[1], inp.mu, inp.cov, RISK_FREE) - sharpe(ours_w, inp.mu, inp.cov, RISK_FREE),
        frontier_max_abs_dw=max(
            float(np.max(np.abs(w - p.weights))) for w, p in zip(fr[1], ours_frontier, strict=True)
        ),
        frontier_max_dvol=max(abs(v - p.volatility) for v, p in zip(vols, ours_frontier, strict=True)),
        note=note,
    )


def goal_measure(*, paths: int, months: int, seed: int, repeats: int) -> tuple[Timing, float]:
    """A 30-year retirement plan on a glide path from 7 %/15 % to 4 %/6 % (annual μ/σ)."""
    mu, sigma = glide_path((0.07, 0.15), (0.04, 0.06), months)
    inputs = GoalInputs(
        initial=100_000.0,
        monthly_contribution=1_000.0,
        months=months,
        target=1_000_000.0,
        contribution_growth=0.02,
        inflation=0.025,
        annual_fee=0.005,
        mu=mu,
        sigma=sigma,
    )
    timing, result = timed(lambda: goal_simulate(inputs, paths=paths, seed=seed), repeats)
    return timing, result.probability


def measure(args: argparse.Namespace) -> Results:
    load_start = os.getloadavg()[0]
    print(f"inputs: {args.assets} assets × {args.days:,} days ...", flush=True)
    inp = inputs_build(n_assets=args.assets, days=args.days, seed=args.seed)
    mu, cov = inp.mu, inp.cov

    print(f"ours: max Sharpe and a {args.points}-point frontier × {args.repeats} ...", flush=True)
    ms_t, ours_p = timed(lambda: optimize(mu, cov, Objective.MAX_SHARPE, risk_free=RISK_FREE), args.repeats)
    fr_t, ours_f = timed(lambda: efficient_frontier(mu, cov, points=args.points, risk_free=RISK_FREE), args.repeats)
    ours = Side("ours (cvxpy + Clarabel)", ms_t, fr_t, 0.0, 0.0, 0.0, 0.0)
    targets = frontier_targets(ours_f, mu)

    print(f"{LIBRARY} × {args.repeats} ...", flush=True)
    lib_ms = timed(lambda: pypfopt_max_sharpe(mu, cov, RISK_FREE), args.repeats)
    lib_fr = timed(lambda: pypfopt_frontier(mu, cov, targets), args.repeats)
    library = _compare(LIBRARY, lib_ms, lib_fr, ours_p.weights, ours_f, inp, note="cvxpy with Clarabel, as ours")

    print(f"SLSQP × {args.slsqp_repeats} (slow) ...", flush=True)
    status: list[str] = []

    def slsqp_ms() -> np.ndarray:
        w, message = slsqp_max_sharpe(mu, cov, RISK_FREE)
        status.append(message)
        return w

    sl_ms = timed(slsqp_ms, args.slsqp_repeats, warm_up=False)
    sl_fr = timed(lambda: slsqp_frontier(mu, cov, targets), args.slsqp_repeats, warm_up=False)
    slsqp = _compare("scipy SLSQP", sl_ms, sl_fr, ours_p.weights, ours_f, inp, note=f"max Sharpe exit: {status[-1]}")

    print(f"goal Monte Carlo {args.paths:,} paths × {args.months} months × {args.repeats} ...", flush=True)
    goal_t, probability = goal_measure(paths=args.paths, months=args.months, seed=args.seed, repeats=args.repeats)
    return Results(
        inputs=inp,
        ours=ours,
        others=(slsqp, library),
        ours_sharpe=ours_p.sharpe,
        ours_holdings=int((ours_p.weights > 1e-6).sum()),
        frontier_points=len(ours_f),
        goal=goal_t,
        goal_probability=probability,
        args=args,
        load_average=(load_start, os.getloadavg()[0]),
    )


# ---------------------------------------------------------------------------- report


def _s(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def _met(seconds: float, target: float) -> str:
    return "met" if seconds < target else "**not met**"


def summary(r: Results) -> str:
    lines = [
        f"max Sharpe: ours {_s(r.ours.max_sharpe.median)} (target < {MAX_SHARPE_TARGET_S} s)",
        f"frontier ({r.frontier_points} points): ours {_s(r.ours.frontier.median)} (target < {FRONTIER_TARGET_S} s)",
        f"goal MC {r.args.paths:,} × {r.args.months}: {_s(r.goal.median)} (target < {GOAL_TARGET_S} s)",
    ]
    for side in r.others:
        lines.append(
            f"{side.name}: max Sharpe {_s(side.max_sharpe.median)} "
            f"({side.max_sharpe.median / r.ours.max_sharpe.median:.1f}× ours), frontier {_s(side.frontier.median)} "
            f"({side.frontier.median / r.ours.frontier.median:.1f}× ours); max |Δw| {side.max_abs_dw:.1e}, "
            f"ΔSharpe {side.d_sharpe:+.1e}, frontier max |Δw| {side.frontier_max_abs_dw:.1e}"
        )
    return "\n".join(lines)


def report_markdown(r: Results, machine: common.Machine) -> str:
    a, u, inp = r.args, r.inputs.universe, r.inputs
    n, t = inp.mu.size, u.returns.shape[0]
    rows = [
        f"| max Sharpe, {n} assets | {_s(r.ours.max_sharpe.median)} | "
        + " | ".join(
            f"{_s(s.max_sharpe.median)} ({s.max_sharpe.median / r.ours.max_sharpe.median:.1f}×)" for s in r.others
        )
        + f" | < {MAX_SHARPE_TARGET_S} s: {_met(r.ours.max_sharpe.median, MAX_SHARPE_TARGET_S)} |",
        f"| {r.frontier_points}-point frontier | {_s(r.ours.frontier.median)} | "
        + " | ".join(f"{_s(s.frontier.median)} ({s.frontier.median / r.ours.frontier.median:.1f}×)" for s in r.others)
        + f" | < {FRONTIER_TARGET_S} s: {_met(r.ours.frontier.median, FRONTIER_TARGET_S)} |",
        f"| goal Monte Carlo, {a.paths:,} paths × {a.months} months | {_s(r.goal.median)} | – | – | "
        f"< {GOAL_TARGET_S} s: {_met(r.goal.median, GOAL_TARGET_S)} |",
    ]
    agreement = [
        f"| {s.name} | {s.max_abs_dw:.1e} | {s.d_sharpe:+.1e} | {s.frontier_max_abs_dw:.1e} | "
        f"{s.frontier_max_dvol:.1e} | {s.note} |"
        for s in r.others
    ]
    return f"""## Wealth engine: portfolio construction and goal Monte Carlo

Measured {common.now_utc()} by `python -m bench.wealth --assets {n} --days {t} --points {a.points}
--repeats {a.repeats} --slsqp-repeats {a.slsqp_repeats} --paths {a.paths} --months {a.months}`. Machine:
{machine.as_markdown()} numpy {np.__version__}; BLAS: {risk.blas_info()}. The 1-minute load average was
{r.load_average[0]:.1f} at the start and {r.load_average[1]:.1f} at the end. Each figure is the median of
{a.repeats} runs after a warm-up run ({a.slsqp_repeats} run(s) for SLSQP, whose frontier takes minutes);
ratios are against our time in the same run.

| task | ours | scipy SLSQP | {LIBRARY} | target |
| --- | ---: | ---: | ---: | --- |
{chr(10).join(rows)}

Agreement with ours on the same inputs (long-only, fully invested, risk-free rate {RISK_FREE:.0%}; our max
Sharpe portfolio holds {r.ours_holdings} of the {n} assets, Sharpe {r.ours_sharpe:.6f}):

| compared with | max Sharpe: max abs Δw | ΔSharpe (theirs − ours) | frontier: max abs Δw | max abs Δvol | note |
| --- | ---: | ---: | ---: | ---: | --- |
{chr(10).join(agreement)}

How each side works: ours builds the convex Cornuéjols–Tütüncü form of max Sharpe (one
quadratic programme) and, for the frontier, compiles the minimum-variance problem once with the
target return as a cvxpy parameter and re-solves it per point, all with Clarabel. SLSQP minimises
−Sharpe with its analytic gradient from equal weights, and for the frontier minimises variance
subject to each of our target returns, starting each point from the previous one. {LIBRARY}'s
`max_sharpe` and `efficient_return` run at the same targets on one `EfficientFrontier` object with
Clarabel (its default, OSQP through cvxpy, stops at its iteration limit near the top of this frontier;
the highest target is moved 1e-7 inside the maximum return, which the library requires strictly).

Data: {n} assets × {t:,} days ({u.real_first_day} to {u.real_last_day}) drawn by `bench.risk.universe_build`
(seed {a.seed}) from {u.n_factors} principal-component factors of the daily returns of the {u.n_real} real S&P 500
stocks shipped with skfolio ({u.explained:.0%} of their standardised variance), each synthetic asset taking a
real stock's loadings perturbed, a Student-t idiosyncratic shock and that stock's volatility × a
log-normal draw (annualised volatility min/median/max real {_vols(u.real_vol)}, synthetic
{_vols(u.synthetic_vol)}; mean pairwise correlation real {u.real_corr:.2f}, synthetic {u.synthetic_corr:.2f}).
Expected returns: James–Stein shrinkage of the sample means (intensity {inp.shrinkage:.2f}), covariance:
Ledoit–Wolf, both annualised (252 days), as `wealth.services.market.market_inputs` computes them.
Goal Monte Carlo: initial 100,000, 1,000 a month growing 2 % a year, 2.5 % inflation, 0.5 % fee,
glide path 7 %/15 % → 4 %/6 % (μ/σ); probability of reaching 1,000,000 in today's money
{r.goal_probability:.1%}.
"""


def _vols(v: tuple[float, float, float]) -> str:
    return f"{v[0]:.0%}/{v[1]:.0%}/{v[2]:.0%}"


# ---------------------------------------------------------------------------- main


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.wealth", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--assets", type=int, default=500, help="assets (default 500)")
    parser.add_argument("--days", type=int, default=1260, help="days of history (default 1,260: 5 years)")
    parser.add_argument("--points", type=int, default=20, help="frontier points (default 20)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs after a warm-up; median reported (5)")
    parser.add_argument("--slsqp-repeats", type=int, default=1, help="timed SLSQP runs (1: its frontier takes minutes)")
    parser.add_argument("--paths", type=int, default=10_000, help="goal Monte Carlo paths (10,000)")
    parser.add_argument("--months", type=int, default=360, help="goal horizon in months (360)")
    parser.add_argument("--seed", type=int, default=20240304, help="seed of the data and the simulation")
    parser.add_argument("--docs", type=Path, default=common.DOCS_PATH, help="file whose 'wealth' section is written")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    for name in ("assets", "repeats", "slsqp_repeats", "paths", "months"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.points < 2:
        parser.error("--points must be at least 2")
    if args.days < 30:
        parser.error("--days must be at least 30")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    results = measure(args)
    print(summary(results))
    if not args.no_docs:
        common.section_write(name=SECTION, body=report_markdown(results, risk.machine_facts()), path=args.docs)
        print(f"wrote section '{SECTION}' of {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
