"""Reads of the audit trail shared by the viewer pages and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from audit.models import AuditEvent

# What the list page and CSV header need without the JSON payloads, which can be large
# (explanations carry SHAP values); the detail page and the API read whole rows.
LIST_FIELDS = ("id", "occurred_at", "actor_name", "action", "object_type", "object_id", "object_repr", "request_id")


def audit_event_list() -> QuerySet[AuditEvent]:
    """Every event, newest first.

    No desk scoping: the trail is only reachable through the audit area (auditors and
    superusers), and an auditor must see everything, including events about other desks.
    """
    return AuditEvent.objects.order_by("-id")
