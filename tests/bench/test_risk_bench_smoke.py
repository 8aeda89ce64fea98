"""The risk and pre-trade benchmarks cannot rot: their pieces are checked on tiny sizes, and one
tiny end-to-end run of each (the engine alone; a real gunicorn with Redis and a scratch
database) must succeed and write its section."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from bench import pretrade, risk
from riskapp.engine import tail
from riskapp.engine import var as engine
from riskapp.engine.covariance import covariance_prepare, sample_cov

ROOT = Path(__file__).resolve().parents[2]


def _run(module: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# ---------------------------------------------------------------------------- risk: data


@pytest.fixture(scope="module")
def universe() -> risk.Universe:
    return risk.universe_build(n_assets=60, days=250, seed=3)


def test_given_a_seed_the_synthetic_universe_is_reproducible_and_calibrated_on_the_real_stocks(
    universe: risk.Universe,
) -> None:
    again = risk.universe_build(n_assets=60, days=250, seed=3)

    assert universe.returns.shape == (250, 60)
    assert np.array_equal(universe.returns, again.returns)
    assert universe.real_last_day == "2022-12-28" and universe.n_real == 20
    # Calibrated, not copied: correlation and median volatility near the real stocks'.
    assert abs(universe.synthetic_corr - universe.real_corr) < 0.15
    assert 0.6 < universe.synthetic_vol[1] / universe.real_vol[1] < 1.6
    # More days than assets: a positive-definite covariance, so the engine takes its Cholesky path.
    assert covariance_prepare(sample_cov(universe.returns), 60, factor=True).factor_is_lower


def test_the_book_is_mostly_long_and_sums_to_its_nav_in_absolute_value() -> None:
    values = risk.book_values(500, seed=1)

    assert math.isclose(float(np.abs(values).sum()), 1e9)
    assert 0.7 < float((values > 0).mean()) < 0.9


# ---------------------------------------------------------------------------- risk: the floor


@pytest.mark.parametrize("triangular", [True, False])
def test_the_floor_draws_the_engines_very_scenarios(universe: risk.Universe, triangular: bool) -> None:
    """Given the engine's covariance factor, seed and chunks, when the floor runs, then its losses
    give the engine's Monte Carlo VaR and ES: the ratio compares like with like."""
    values = risk.book_values(60, seed=3)
    prepared = covariance_prepare(sample_cov(universe.returns), 60, factor=True)

    run = risk.floor_run(prepared, values, n_scenarios=5_000, chunk_size=1_500, seed=9, triangular=triangular)
    ours = engine.monte_carlo(universe.returns, values, confidence=0.99, n_scenarios=5_000, chunk_size=1_500, seed=9)

    var, es = tail.var_es_from_losses(run.losses, 0.99)
    assert var == pytest.approx(ours.var, rel=1e-9) and es == pytest.approx(ours.es, rel=1e-9)
    assert run.seconds >= run.draw_s + run.correlate_s + run.pnl_s > 0


def test_monte_carlo_measure_times_every_step_and_checks_the_decomposition(universe: risk.Universe) -> None:
    values = risk.book_values(60, seed=3)

    mc = risk.monte_carlo_measure(universe.returns, values, n_scenarios=4_000, chunk_size=1_000, seed=2, repeats=2)

    assert len(mc.full.runs) == len(mc.mc.runs) == len(mc.floor.runs) == len(mc.floor_plain.runs) == 2
    assert mc.mc_var99 == pytest.approx(mc.floor_var99, rel=1e-9)
    assert mc.component_sum_error < 1e-9
    assert set(mc.var99) == set(engine.DEFAULT_METHODS)
    assert mc.ratio > 0


# ---------------------------------------------------------------------------- risk: library


def test_the_library_and_our_historical_var_agree_to_rounding(universe: risk.Universe) -> None:
    """Given 1,000 P&L days, empyrical's percentile (linear) and tail count int((n−1)(1−c)) + 1
    equal our linear quantile and ceil(n(1−c)) at 95/97.5/99%."""
    pnl = np.random.default_rng(4).standard_t(4, 1000) * 1e4

    for c in (0.95, 0.975, 0.99):
        ours = tail.var_es_from_losses(-pnl, c)
        assert risk.library_var_es(pnl, c) == pytest.approx(ours, rel=1e-12)


def test_historical_measure_compares_every_confidence_and_times_both_sides(universe: risk.Universe) -> None:
    matrix = risk.portfolios_values(60, 30, seed=3)

    h = risk.historical_measure(universe.returns, matrix, library_portfolios=12, repeats=2, compare=5)

    assert h.portfolios == 30 and h.library_portfolios == 12 and h.compared == 15
    assert h.max_rel_diff["var"] < 1e-12 and h.max_rel_diff["es"] < 1e-12
    assert len(h.engine.runs) == 2 and len(h.library_calls.runs) == 2


# ---------------------------------------------------------------------------- risk: end to end


@pytest.mark.slow
def test_given_a_tiny_risk_run_then_it_exits_0_and_writes_its_section(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"

    done = _run(
        "bench.risk",
        *("--positions", "30", "--days", "80", "--scenarios", "3000", "--chunk-size", "1000"),
        *("--portfolios", "40", "--library-portfolios", "10", "--repeats", "1", "--docs", str(docs)),
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Monte Carlo / floor =" in done.stdout
    text = docs.read_text()
    assert "<!-- bench:risk:begin -->" in text and "## Risk engine" in text
    assert "**Monte Carlo / floor =" in text and "(target ≤ 1.5:" in text
    assert "**40 portfolios in" in text and "empyrical-reloaded" in text


# ---------------------------------------------------------------------------- the runner


def test_make_bench_runs_ingest_risk_and_pretrade_and_refuses_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.__main__ import BENCHMARKS, main

    assert BENCHMARKS[:3] == ("ingest", "risk", "pretrade")
    assert main(["risk", "nope"]) == 2
    assert "unknown benchmark(s): nope" in capsys.readouterr().err


# ---------------------------------------------------------------------------- pretrade: pieces


def _book() -> pretrade.Book:
    closes = {f"PT{i:04d}": 10.0 + i for i in range(12)}
    return pretrade.Book(
        portfolio="PT-BOOK", closes=closes, held=list(closes)[:10], restricted="PT0011", api_key="x", limits=[]
    )


def test_orders_are_reproducible_valid_requests_over_held_new_and_restricted_names() -> None:
    bodies = pretrade.orders_generate(_book(), 500)

    assert bodies == pretrade.orders_generate(_book(), 500)
    orders = [json.loads(b) for b in bodies]
    assert {o["portfolio"] for o in orders} == {"PT-BOOK"}
    assert {o["side"] for o in orders} == {"buy", "sell"}
    assert all(int(o["quantity"]) >= 1 for o in orders)
    assert any(o["instrument"] == "PT0011" for o in orders)
    assert 0.3 < sum("price" in o for o in orders) / 500 < 0.7


def test_percentiles_are_nearest_rank_latencies_a_request_really_had() -> None:
    m = pretrade.Measurement(
        clients=1,
        latencies_s=[i / 1000 for i in range(1, 101)],
        seconds=1.0,
        decisions={"allow": 100},
        app_cpu_s=0.2,
        pg_cpu_s=None,
    )

    assert m.percentile_ms(99) == pytest.approx(99.0)
    assert m.percentile_ms(95) == pytest.approx(95.0)
    assert m.percentile_ms(100) == pytest.approx(100.0) == pytest.approx(m.max_ms)
    assert m.cpu_ms_per_request(m.app_cpu_s) == pytest.approx(2.0) and m.cpu_ms_per_request(m.pg_cpu_s) is None


# ---------------------------------------------------------------------------- pretrade: end to end


def _redis_answers(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.mark.integration
@pytest.mark.slow
def test_given_a_tiny_pretrade_run_then_it_exits_0_and_writes_its_section(tmp_path: Path) -> None:
    """Given PostgreSQL and Redis, when `python -m bench.pretrade` sends 40 orders from 1 then 2
    clients, then every answer is a decision and the latency table lands in the docs file."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        pytest.skip("the benchmark needs PostgreSQL (DATABASE_URL)")
    cache_url = os.environ.get("BENCH_SMOKE_CACHE_URL", pretrade.DEFAULT_CACHE_URL)
    if not _redis_answers(cache_url):
        pytest.skip(f"the benchmark needs Redis at {cache_url}")
    database = f"{parts.path.lstrip('/') or 'vigil'}_pretrade_bench_smoke"  # per test database: runs never meet
    docs = tmp_path / "benchmarks.md"
    env = dict(os.environ, BENCH_PG_URL=f"{parts.scheme}://{parts.netloc}")

    done = _run(
        "bench.pretrade",
        *("--requests", "40", "--warmup", "5", "--clients", "2", "--positions", "12"),
        *("--database", database, "--cache-url", cache_url, "--docs", str(docs)),
        env=env,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "p99" in done.stdout
    text = docs.read_text()
    assert "<!-- bench:pretrade:begin -->" in text and "## Pre-trade check" in text
    assert "| 1 client, sequential | 40 |" in text and "| 2 concurrent clients | 80 |" in text
    assert "(target < 10 ms on loopback:" in text
