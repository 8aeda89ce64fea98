"""Surveillance services: the only place that writes (see docs/surveillance-methodology.md).

Modules: ``alerts`` (raising and storing alerts, the action-likelihood ranking), ``runs`` (detection
runs: incremental and nightly sweep), ``workflow`` (review transitions with four-eyes), ``cases``
(cases and STOR), ``detectors`` (detector parameters). Import the functions from here.
"""

from __future__ import annotations

from surveillance.services.alerts import AlertInput, StoreOutcome, alert_raise, alerts_raise, alerts_store
from surveillance.services.cases import (
    case_alerts_add,
    case_close,
    case_create,
    case_stor_file,
    case_stor_propose,
    case_stor_reject,
    case_stor_update,
)
from surveillance.services.detectors import (
    DetectorSetting,
    detector_config_get,
    detector_config_list,
    detector_config_update,
    detector_parameters_effective,
    detectors_enabled,
)
from surveillance.services.ranking import alerts_rank
from surveillance.services.runs import (
    surveillance_incremental_create,
    surveillance_run_execute,
    surveillance_sweep_create,
)
from surveillance.services.workflow import (
    TRANSITIONS,
    FourEyesRequired,
    alert_assign,
    alert_close,
    alert_close_approve,
    alert_close_propose,
    alert_close_reject,
    alert_comment_add,
    alert_escalate,
    alert_review_start,
    alert_transition,
    alerts_assign,
    four_eyes_required,
    is_supervisor,
)

__all__ = [
    "TRANSITIONS",
    "AlertInput",
    "DetectorSetting",
    "FourEyesRequired",
    "StoreOutcome",
    "alert_assign",
    "alert_close",
    "alert_close_approve",
    "alert_close_propose",
    "alert_close_reject",
    "alert_comment_add",
    "alert_escalate",
    "alert_raise",
    "alert_review_start",
    "alert_transition",
    "alerts_assign",
    "alerts_raise",
    "alerts_rank",
    "alerts_store",
    "case_alerts_add",
    "case_close",
    "case_create",
    "case_stor_file",
    "case_stor_propose",
    "case_stor_reject",
    "case_stor_update",
    "detector_config_get",
    "detector_config_list",
    "detector_config_update",
    "detector_parameters_effective",
    "detectors_enabled",
    "four_eyes_required",
    "is_supervisor",
    "surveillance_incremental_create",
    "surveillance_run_execute",
    "surveillance_sweep_create",
]
