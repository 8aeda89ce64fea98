"""Best execution services: the only place that writes (see docs/tca-methodology.md).

Modules: ``runs`` (TCA runs: create, the ingestion follow-up, execute), ``model`` (the cost
model: training runs, train, load, expected costs), ``alerts`` (poor executions into the
surveillance queue), ``pretrade`` (pre-trade estimates) and ``inputs`` (the read-only loader of the engine's inputs).
The league tables and the RTS 28 report are reads (``execution_quality.selectors``); their CSV and
PDF files are built by ``execution_quality.exports``. Import the functions from here.
"""

from __future__ import annotations

from execution_quality.services.model import (
    cost_model_active,
    cost_model_train,
    cost_model_train_create,
    cost_model_train_execute,
    expected_costs,
)
from execution_quality.services.pretrade import pretrade_estimate
from execution_quality.services.runs import tca_after_trades, tca_run_create, tca_run_execute

__all__ = [
    "cost_model_active",
    "cost_model_train",
    "cost_model_train_create",
    "cost_model_train_execute",
    "expected_costs",
    "pretrade_estimate",
    "tca_after_trades",
    "tca_run_create",
    "tca_run_execute",
]
