"""The wealth benchmark cannot rot: its reference implementations are checked against the engine
on tiny sizes, and one tiny end-to-end run must succeed and write its section."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import wealth
from wealth.engine.optimize import Objective, efficient_frontier, optimize

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inputs() -> wealth.Inputs:
    return wealth.inputs_build(n_assets=25, days=260, seed=4)


def test_given_a_seed_the_inputs_are_reproducible_and_estimated_like_the_services(inputs: wealth.Inputs) -> None:
    again = wealth.inputs_build(n_assets=25, days=260, seed=4)

    assert inputs.mu.shape == (25,) and inputs.cov.shape == (25, 25)
    assert np.array_equal(inputs.mu, again.mu) and np.array_equal(inputs.cov, again.cov)
    assert inputs.universe.n_factors == 5 and 0.0 <= inputs.shrinkage <= 1.0
    assert np.linalg.eigvalsh(inputs.cov)[0] > 0


def test_the_reference_implementations_solve_the_engines_problems(inputs: wealth.Inputs) -> None:
    """SLSQP and PyPortfolioOpt land on the engine's max Sharpe and frontier: the benchmark times
    like against like."""
    mu, cov = inputs.mu, inputs.cov
    ours = optimize(mu, cov, Objective.MAX_SHARPE, risk_free=wealth.RISK_FREE)
    frontier = efficient_frontier(mu, cov, points=4, risk_free=wealth.RISK_FREE)
    targets = wealth.frontier_targets(frontier, mu)

    slsqp, _ = wealth.slsqp_max_sharpe(mu, cov, wealth.RISK_FREE)
    library = wealth.pypfopt_max_sharpe(mu, cov, wealth.RISK_FREE)
    for w in (slsqp, library):
        assert np.max(np.abs(w - ours.weights)) < 1e-3
        assert wealth.sharpe(w, mu, cov, wealth.RISK_FREE) == pytest.approx(ours.sharpe, abs=1e-5)
    for points in (wealth.slsqp_frontier(mu, cov, targets), wealth.pypfopt_frontier(mu, cov, targets)):
        assert len(points) == 4
        for w, p in zip(points, frontier, strict=True):
            assert float(np.sqrt(w @ cov @ w)) == pytest.approx(p.volatility, abs=1e-4)


def test_timed_warms_up_then_records_each_repeat() -> None:
    calls: list[int] = []

    timing, result = wealth.timed(lambda: calls.append(1) or len(calls), 3)

    assert len(calls) == 4 and len(timing.runs) == 3 and result == 4
    assert timing.best <= timing.median


@pytest.mark.slow
def test_given_a_tiny_wealth_run_then_it_exits_0_and_writes_its_section(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"

    done = subprocess.run(
        [
            *(sys.executable, "-m", "bench.wealth", "--assets", "20", "--days", "120", "--points", "3"),
            *("--repeats", "1", "--paths", "200", "--months", "12", "--docs", str(docs)),
        ],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "max Sharpe: ours" in done.stdout
    text = docs.read_text()
    assert "<!-- bench:wealth:begin -->" in text and "## Wealth engine" in text
    assert "| max Sharpe, 20 assets |" in text and "| 3-point frontier |" in text
    assert "| < 0.5 s: " in text and "| < 3.0 s: " in text and "| < 0.1 s: " in text
    assert "scipy SLSQP" in text and "PyPortfolioOpt" in text


def test_make_bench_runs_the_wealth_benchmark() -> None:
    from bench.__main__ import BENCHMARKS

    assert "wealth" in BENCHMARKS
