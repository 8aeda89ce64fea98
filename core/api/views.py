"""API for calculation runs: pages and clients poll a run's status and progress here."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from core.models import CalculationRun
from core.permissions import area_permission
from core.roles import Area
from core.selectors import run_list


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
