"""A risk run's Monte Carlo split over Celery workers (a chord), with the figures of one process.

When a run's Monte Carlo is large (:func:`mc_shard_plan`), the ``risk.run`` task does not
compute the run itself (:func:`risk_run_execute_or_scatter`): it queues a chord whose header
holds, per Monte Carlo method, up to ``RISK_MC_SHARDS`` tasks
``risk_mc_shard(run_id, method, horizon, block_start, block_stop)`` and whose body is
``risk_run_gather(shards, run_id)``. Each shard loads the run's inputs with the run's own loader
(``runs.risk_run_inputs``: the stored as-of date and parameters), simulates its seeded blocks
(``engine.montecarlo.mc_block_tail``) and returns their largest losses as a JSON list, with the
worker's hostname and pid. The body checks that the shards cover every block once and loaded
the same inputs, merges the tails and computes, saves and finishes the run through
``runs.risk_run_execute`` — the very code of the one-process path, so the stored rows are the
same (block seeding makes the simulated losses independent of the split).

Failure: a shard whose work fails on its inputs, or fails ``RUN_MAX_RETRIES`` + 1 times, marks
the run failed with its error and raises, so the chord never calls its body; the body's error
callback (``risk_run_shards_failed``) fails the run for any other way a shard ends in failure.
A shard that finds the run already finished returns at once. Progress: each shard moves the
run's progress forward (5 → 50 %) and its heartbeat, so the run keeps its lease while it waits.

Only the shard tasks store results (Celery's result backend, read by the chord alone; pages and
the API keep reading ``CalculationRun``). A tail is at most ``tail.tail_keep`` floats — about
5 % of the scenarios at 95 % confidence — so the body's message is ~20 bytes × that × shards.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from celery import Task, chord, group
from celery.exceptions import Ignore
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone

from core.models import CalculationRun
from core.services import FAIL_AT_ONCE, run_finish, run_progress, run_retry_delay
from riskapp.engine import montecarlo
from riskapp.engine.types import RiskInputError
from riskapp.models import RiskRun
from riskapp.services.runs import MonteCarloShards, Progress, method_options, risk_run_execute, risk_run_inputs

#: Progress while the shards run: the scatter reports the first figure, the shards together
#: move it to the second, the body continues from there.
PROGRESS_QUEUED, PROGRESS_SHARDS_DONE = 5, 50


@dataclass(frozen=True)
class Shard:
    """The arguments of one shard task."""

    method: str
    horizon: int
    block_start: int
    block_stop: int


def _retry_if_transient(task: Task | None, exc: Exception) -> None:
    """Have Celery try ``task`` again, with the runs' backoff, when ``exc`` is not an input error
    and retries remain (a real worker only: eager shards fail at once). Returns otherwise."""
    request = task.request if task is not None else None
    if task is None or request is None or request.is_eager or isinstance(exc, FAIL_AT_ONCE):
        return
    if request.retries < settings.RUN_MAX_RETRIES:
        countdown = run_retry_delay(attempt=request.retries + 1)
        raise task.retry(exc=exc, countdown=countdown, max_retries=settings.RUN_MAX_RETRIES) from exc


def mc_shard_plan(*, parameters: dict[str, Any]) -> list[Shard]:
    """The shards of a run with these (cleaned) parameters, or [] to compute it in one process.

    Sharded when ``RISK_MC_SHARDS`` ≥ 2, a Monte Carlo method is asked for, ``n_scenarios`` ≥
    ``RISK_MC_SHARD_MIN_SCENARIOS`` and a broker is configured (or ``RISK_MC_SHARD_EAGER``).
    The blocks of each method are split into up to ``RISK_MC_SHARDS`` contiguous ranges of
    near-equal size. Runs scale Monte Carlo by √h, so every shard simulates 1 day.
    """
    shards = settings.RISK_MC_SHARDS
    methods = [m for m in parameters["methods"] if m in montecarlo.MC_METHODS]
    eager = bool(settings.CELERY_TASK_ALWAYS_EAGER) and not settings.RISK_MC_SHARD_EAGER
    n = parameters["n_scenarios"]
    if shards < 2 or not methods or n < settings.RISK_MC_SHARD_MIN_SCENARIOS or eager:
        return []
    n_blocks = montecarlo.mc_block_count(n)
    k = min(shards, n_blocks)
    if k < 2:
        return []
    bounds = [round(i * n_blocks / k) for i in range(k + 1)]
    return [Shard(m, 1, a, b) for m in methods for a, b in pairwise(bounds)]


# ---------------------------------------------------------------------------- scatter


def risk_run_execute_or_scatter(*, run: CalculationRun, progress: Progress) -> dict[str, Any]:
    """Body of the ``risk.run`` task: compute the run here, or queue its Monte Carlo shards.

    When sharded, raises Celery's ``Ignore`` once the chord is queued: the run stays running and
    the chord's body finishes it. (Without a broker the chord runs in-process first.)
    """
    from riskapp.tasks import risk_mc_shard_task, risk_run_gather_task, risk_run_shards_failed_task

    risk_run = RiskRun.objects.get(calculation=run)
    plan = [] if risk_run.summary.get("saved_at") else mc_shard_plan(parameters=risk_run.parameters)
    if not plan:
        return risk_run_execute(run=run, progress=progress)
    progress(PROGRESS_QUEUED, f"Monte Carlo: {len(plan)} shards queued")
    header = group(risk_mc_shard_task.si(run.pk, s.method, s.horizon, s.block_start, s.block_stop) for s in plan)
    body = risk_run_gather_task.s(run.pk).on_error(risk_run_shards_failed_task.s(run_id=run.pk))
    try:
        chord(header)(body)
    except Exception:
        # In-process (eager) chords raise a shard's error here; the shard recorded it already.
        if CalculationRun.objects.filter(pk=run.pk, status=CalculationRun.Status.FAILED).exists():
            raise Ignore() from None
        raise
    raise Ignore()


# ---------------------------------------------------------------------------- one shard


def risk_mc_shard(
    *,
    run_id: int,
    method: str,
    horizon_days: int,
    block_start: int,
    block_stop: int,
    task: Task | None = None,
) -> dict[str, Any]:
    """Simulate blocks [block_start, block_stop) of the run's ``method`` and return their tail.

    A failure on the inputs, or the last allowed attempt's failure, fails the run with this
    shard's error and is raised again (so the chord stops); other failures are retried.
    """
    began = time.monotonic()
    blocks = f"block {block_start}" if block_stop == block_start + 1 else f"blocks {block_start}–{block_stop - 1}"
    where = f"Monte Carlo shard {method} {blocks}"
    risk_run = RiskRun.objects.select_related("portfolio", "calculation").get(calculation_id=run_id)
    if risk_run.calculation.is_finished:
        return {"method": method, "finished": True}  # another shard failed the run: nothing to add
    try:
        payload = _shard_compute(risk_run, method, horizon_days, block_start, block_stop)
    except Exception as exc:
        _retry_if_transient(task, exc)
        run_fail_once(run_id=run_id, error=f"{where} failed: {type(exc).__name__}: {exc}".strip())
        raise
    hostname = (task.request.hostname if task is not None else None) or os.uname().nodename
    step = max(1, (PROGRESS_SHARDS_DONE - PROGRESS_QUEUED) // _shard_count(risk_run))
    CalculationRun.objects.filter(pk=run_id, status=CalculationRun.Status.RUNNING).update(
        progress=Least(F("progress") + step, PROGRESS_SHARDS_DONE),
        message=f"{where} done on {hostname}"[:255],
        heartbeat_at=timezone.now(),
    )
    return {
        **payload,
        "method": method,
        "horizon": horizon_days,
        "block_start": block_start,
        "block_stop": block_stop,
        "hostname": hostname,
        "pid": os.getpid(),
        "seconds": round(time.monotonic() - began, 3),
    }


def _shard_compute(
    risk_run: RiskRun, method: str, horizon_days: int, block_start: int, block_stop: int
) -> dict[str, Any]:
    p = risk_run.parameters
    inp = risk_run_inputs(risk_run=risk_run)
    kw = method_options(method=method, parameters=p, revalue=inp.revalue())
    try:
        tail = montecarlo.mc_block_tail(
            inp.returns,
            inp.exposures,
            method=method,
            confidences=p["confidences"],
            n_scenarios=p["n_scenarios"],
            block_start=block_start,
            block_stop=block_stop,
            seed=p["seed"],
            horizon_days=horizon_days,
            **kw,
        )
    except RiskInputError as exc:
        # The engine refuses this book for this method: one process would skip the method with
        # this reason, and so does the body.
        return {"inputs_hash": inp.inputs_hash, "skipped": str(exc)}
    # float64 → JSON → float64 is exact (shortest round-trip repr), so the tail arrives intact.
    return {"inputs_hash": inp.inputs_hash, "tail": tail.losses.tolist(), "details": tail.details}


def _shard_count(risk_run: RiskRun) -> int:
    return max(1, len(mc_shard_plan(parameters=risk_run.parameters)))


def run_fail_once(*, run_id: int, error: str) -> bool:
    """Fail the run with ``error`` unless it already finished (the first failing shard wins).
    Returns whether this call failed it."""
    with transaction.atomic():
        run = CalculationRun.objects.select_for_update().get(pk=run_id)
        if run.is_finished:
            return False
        run_finish(run_id=run_id, error=error)
    return True


# ---------------------------------------------------------------------------- gather


def risk_run_gather(*, run_id: int, shards: list[dict[str, Any]], task: Task | None = None) -> CalculationRun | None:
    """The chord's body: merge the shards' tails, compute the rest and finish the run.

    Same retry policy as a run (``core.services.run_execute``): a failure on the inputs fails
    the run at once, another is retried up to ``RUN_MAX_RETRIES`` times with back-off.
    """
    run = CalculationRun.objects.filter(pk=run_id).first()
    if run is None or run.is_finished:
        return None

    def report(pct: int, message: str = "") -> None:
        # Monotone: the body's own steps start below where the shards left the bar.
        run_progress(run_id=run_id, progress=max(pct, PROGRESS_SHARDS_DONE), message=message)

    try:
        mc = _merge_plan(shards)
        result = risk_run_execute(run=run, progress=report, mc=mc)
    except Exception as exc:  # noqa: BLE001 - after the retries, every failure ends the run failed
        _retry_if_transient(task, exc)
        return run_finish(run_id=run_id, error=f"{type(exc).__name__}: {exc}".strip())
    result["monte_carlo_shards"] = [
        {
            "method": s["method"],
            "blocks": [s["block_start"], s["block_stop"]],
            "hostname": s["hostname"],
            "pid": s["pid"],
            "seconds": s["seconds"],
        }
        for s in shards
    ]
    return run_finish(run_id=run_id, result=result)


def _merge_plan(shards: list[dict[str, Any]]) -> MonteCarloShards:
    """The shards' results as the run's ``MonteCarloShards`` (coverage is checked by the engine)."""
    hashes = {s["inputs_hash"] for s in shards}
    if len(hashes) != 1:
        raise RiskInputError("The Monte Carlo shards loaded different inputs (positions or prices changed meanwhile).")
    tails: dict[str, list[montecarlo.McTail] | str] = {}
    for s in sorted(shards, key=lambda s: (s["method"], s["block_start"])):
        method = s["method"]
        if "skipped" in s:
            tails[method] = s["skipped"]
            continue
        current = tails.setdefault(method, [])
        if isinstance(current, list):
            current.append(
                montecarlo.McTail(
                    np.asarray(s["tail"], dtype=np.float64), s["block_start"], s["block_stop"], s["details"]
                )
            )
    return MonteCarloShards(tails=tails, inputs_hash=hashes.pop())


def risk_run_shards_failed(*, run_id: int, exc: BaseException | None) -> None:
    """Error callback of the chord: fail the run if no shard did (e.g. a shard task that never
    reached its own error handling)."""
    run_fail_once(run_id=run_id, error=f"Monte Carlo shards failed: {type(exc).__name__}: {exc}")
