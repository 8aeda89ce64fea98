"""The audit viewer for auditors."""

from __future__ import annotations

from typing import Any

from django.views.generic import ListView

from audit.models import AuditEvent
from core.permissions import AreaRequiredMixin
from core.roles import Area


class AuditEventListView(AreaRequiredMixin, ListView):  # type: ignore[type-arg]
    area = Area.AUDIT
    template_name = "audit/event_list.html"
    paginate_by = 100

    def get_queryset(self) -> Any:
        return AuditEvent.objects.all()
