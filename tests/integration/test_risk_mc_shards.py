"""Given two real Celery worker processes on the risk queue (Redis broker and result backend,
PostgreSQL), when a risk run with a large Monte Carlo is queued, then its shards run on both
workers and the stored VaR/ES equal a one-process computation with the same seed; and when a
shard fails, the run fails with that shard's error. (One test: starting two workers costs more
than both runs.)"""

from __future__ import annotations

import signal
import threading
import time
from decimal import Decimal

import pytest

from config.celery import app as celery_app
from core.models import CalculationRun
from portfolios.models import PriceBar
from riskapp.engine import var
from riskapp.models import RiskRun
from riskapp.services.runs import risk_run_create, risk_run_inputs
from tests.factories import InstrumentFactory, PortfolioFactory, PositionFactory
from tests.integration.conftest import wait_for
from tests.riskapp.books import OPENING_DAY, priced_book

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# 160,000 scenarios = 8 blocks of 20,000: 8 shards per Monte Carlo method, 16 tasks in the chord.
SHARDED = {"RISK_MC_SHARDS": "8", "RISK_MC_SHARD_MIN_SCENARIOS": "1000"}
PARAMETERS = {"n_scenarios": 160_000, "methods": ["historical", "monte_carlo", "monte_carlo_t"]}
NAMES = ("risk-a@integration", "risk-b@integration")


class Workers:
    """Two workers on the risk queue; their output is drained (a full pipe would stall them)."""

    def __init__(self, start_worker) -> None:
        self.procs = {name: start_worker(queues="risk", env=SHARDED, name=name) for name in NAMES}
        self.output = {name: bytearray() for name in NAMES}
        for name, proc in self.procs.items():
            threading.Thread(target=self._drain, args=(name, proc), daemon=True).start()

    def _drain(self, name, proc) -> None:
        for line in iter(proc.stdout.readline, b""):
            self.output[name] += line

    def wait_until_they_answer_ping(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        answered: set[str] = set()
        while time.monotonic() < deadline and answered != set(NAMES):
            for reply in celery_app.control.ping(destination=list(NAMES), timeout=1.0):
                answered |= set(reply) & set(NAMES)
        if answered != set(NAMES):
            self.fail(f"workers answering a ping: {sorted(answered)}")

    def fail(self, message: str) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        time.sleep(2)
        logs = "\n".join(
            f"--- {name}\n{bytes(out[-3000:]).decode(errors='replace')}" for name, out in self.output.items()
        )
        pytest.fail(f"{message}\n{logs}")


def _finished(workers: Workers, run: RiskRun) -> CalculationRun:
    calc = wait_for(run.calculation, timeout_s=300)
    if not calc.is_finished:
        workers.fail(f"run did not finish; status={calc.status} progress={calc.progress} message={calc.message}")
    return calc


def test_two_workers_share_a_runs_shards_and_a_failing_shard_fails_its_run(transactional_db, start_worker, desk):
    # Given a priced book with an option (every shard revalues it in full) and two risk workers
    book = priced_book(desk)
    workers = Workers(start_worker)
    workers.wait_until_they_answer_ping(timeout_s=90)

    # When a run of 160,000 scenarios is queued
    run = risk_run_create(portfolio=book.portfolio, user=None, parameters=PARAMETERS)
    calc = _finished(workers, run)

    # Then it succeeded through 16 shards, each block of each method once, on both workers
    assert calc.status == CalculationRun.Status.SUCCEEDED, calc.error
    assert calc.progress == 100
    shards = calc.result["monte_carlo_shards"]
    assert sorted((s["method"], *s["blocks"]) for s in shards) == [
        (m, b, b + 1) for m in ("monte_carlo", "monte_carlo_t") for b in range(8)
    ]
    assert {s["hostname"] for s in shards} == set(NAMES)
    assert {s["pid"] for s in shards} == {proc.pid for proc in workers.procs.values()}

    # ... and its Monte Carlo VaR/ES equal this process's one-process computation, same seed
    run.refresh_from_db()
    inp = risk_run_inputs(risk_run=run)
    assert run.inputs_hash == inp.inputs_hash
    p = run.parameters
    for method in ("monte_carlo", "monte_carlo_t"):
        expected = var.var_all(
            inp.returns,
            inp.exposures,
            methods=[method],
            confidences=p["confidences"],
            horizons=p["horizons"],
            seed=p["seed"],
            n_scenarios=p["n_scenarios"],
            revalue=inp.revalue(),
        )
        assert len(expected) == 6
        for r in expected:
            row = run.results.get(method=method, confidence=Decimal(str(r.confidence)), horizon_days=r.horizon_days)
            assert (row.var, row.es) == (Decimal(f"{r.var:.4f}"), Decimal(f"{r.es:.4f}")), (method, r)
            # Stored as doubles: equal to the last bit.
            assert (row.var_pct_nav, row.es_pct_nav) == (r.var / inp.nav, r.es / inp.nav), (method, r)

    # Given now a book holding a position without any price: each shard's input load fails on it
    # (the same workers: starting two more would double the test's time)
    other = PortfolioFactory(code="RISK-NOPX", desk=desk)
    PositionFactory(portfolio=other, instrument=book.instruments["AAPL"], as_of=OPENING_DAY, quantity=Decimal(100))
    PositionFactory(portfolio=other, instrument=InstrumentFactory(symbol="NOPX"), as_of=OPENING_DAY)
    assert not PriceBar.objects.filter(instrument__symbol="NOPX").exists()

    # When a sharded run of it is queued
    failing = risk_run_create(portfolio=other, user=None, parameters=PARAMETERS)
    calc = _finished(workers, failing)

    # Then it failed with the first failing shard's error, and nothing was stored
    assert calc.status == CalculationRun.Status.FAILED
    assert calc.error.startswith("Monte Carlo shard monte_carlo"), calc.error
    assert "MissingPricesError: No price on or before 2022-12-28 for NOPX" in calc.error
    failing.refresh_from_db()
    assert not failing.results.exists() and not failing.summary
