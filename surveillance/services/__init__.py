"""Surveillance services: the only place that writes (see docs/surveillance-methodology.md).

Modules: ``alerts`` (raising and storing alerts, the action-likelihood ranking), ``runs`` (detection
runs: incremental and nightly sweep), ``workflow`` (review transitions with four-eyes), ``cases``
(cases and STOR), ``detectors`` (detector parameters). Import the functions from here.
"""

from __future__ import annotations

from surveillance.services.alerts import StoreOutcome, alert_raise, alerts_store
from surveillance.services.ranking import alerts_rank
from surveillance.services.runs import (
    surveillance_incremental_create,
    surveillance_run_execute,
    surveillance_sweep_create,
)

__all__ = [
    "StoreOutcome",
    "alert_raise",
    "alerts_rank",
    "alerts_store",
    "surveillance_incremental_create",
    "surveillance_run_execute",
    "surveillance_sweep_create",
]
