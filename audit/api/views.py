"""API of the audit trail: read-only, for auditors and superusers."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from audit.api.serializers import AuditEventSerializer
from audit.filters import AuditEventFilterSet
from audit.models import AuditEvent
from audit.selectors import audit_event_list
from core.api.schema import NOT_FOUND_RESPONSE, READ_ERROR_RESPONSES
from core.permissions import area_permission
from core.roles import Area


@extend_schema_view(
    list=extend_schema(
        summary="List audit events",
        description=(
            "Newest first, cursor-paginated. Filters are the same as on the audit viewer page. "
            "Auditors and superusers only."
        ),
        responses={200: AuditEventSerializer(many=True), **READ_ERROR_RESPONSES},
    ),
    retrieve=extend_schema(
        summary="Read one audit event",
        responses={200: AuditEventSerializer, 404: NOT_FOUND_RESPONSE, **READ_ERROR_RESPONSES},
    ),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet
    permission_classes = [area_permission(Area.AUDIT)]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return audit_event_list()
