"""Surveillance pages, by subject: ``alerts`` (queue, alert page, actions), ``cases`` (cases and
STOR), ``operations`` (dashboard, sweep, detector parameters); ``common`` holds their helpers."""

from surveillance.views.alerts import alert_act, alert_assign_bulk, alert_detail, alert_export, alert_queue
from surveillance.views.cases import (
    case_act,
    case_detail,
    case_list,
    case_stor_edit,
    case_stor_json,
    case_stor_pdf,
    case_stor_xml,
)
from surveillance.views.operations import dashboard, detector_edit, detector_list, sweep

__all__ = [
    "alert_act",
    "alert_assign_bulk",
    "alert_detail",
    "alert_export",
    "alert_queue",
    "case_act",
    "case_detail",
    "case_list",
    "case_stor_edit",
    "case_stor_json",
    "case_stor_pdf",
    "case_stor_xml",
    "dashboard",
    "detector_edit",
    "detector_list",
    "sweep",
]
