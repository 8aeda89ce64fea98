"""API for calculation runs: pages and clients poll a run's status and progress here."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from core.models import CalculationRun
from core.permissions import area_permission
from core.roles import Area, Role, user_roles


class CalculationRunSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CalculationRun
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "message",
            "parameters",
            "result",
            "error",
            "user",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]


def run_list(*, user: Any) -> QuerySet[CalculationRun]:
    """Runs a user may see: their own and scheduled (user-less) ones; auditors and superusers all."""
    qs = CalculationRun.objects.select_related("user")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser or Role.AUDITOR in user_roles(user):
        return qs
    return qs.filter(Q(user=user) | Q(user__isnull=True))


@extend_schema_view(
    list=extend_schema(summary="List calculation runs"),
    retrieve=extend_schema(summary="Poll one calculation run"),
)
class CalculationRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    serializer_class = CalculationRunSerializer
    permission_classes = [area_permission(Area.DATA)]
    filterset_fields = ["kind", "status"]

    def get_queryset(self) -> QuerySet[CalculationRun]:
        return run_list(user=self.request.user)
