"""One viewset shape for every ingestible entity: cursor-paginated, filtered reads (GET) and
atomic bulk ingestion (POST) with Idempotency-Key support."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.schema import ERROR_RESPONSES, ErrorSerializer
from core.ingest.pipeline import ingest_request
from core.ingest.spec import EntitySpec
from core.permissions import area_permission
from core.roles import Area


@cache
def ingest_body_serializer(spec: EntitySpec) -> type[serializers.Serializer]:  # type: ignore[type-arg]
    """The documented request body of ``spec``: ``{"rows": [row, ...]}`` (docs only; the
    pipeline validates rows itself, much faster than a serializer would)."""
    stored = [f for f in spec.fields if f.stored]
    row_fields: dict[str, Any] = {}
    model_ser = type(
        f"{spec.model.__name__}RowBase",
        (serializers.ModelSerializer,),
        {"Meta": type("Meta", (), {"model": spec.model, "fields": [f.db_column for f in stored]})},
    )()
    for f in stored:
        field = model_ser.fields[f.db_column]
        field.required = f.required
        field.read_only = False
        row_fields[f.name] = field
    for f in spec.fields:
        if not f.stored:
            row_fields[f.name] = serializers.ListField(child=serializers.CharField(), required=f.required)
    for ref in spec.references:
        row_fields[ref.name] = serializers.CharField(
            required=ref.required,
            help_text=f"{ref.model._meta.verbose_name} {ref.key}",
            max_length=ref.max_length,
        )
    row = type(f"{spec.model.__name__}IngestRow", (serializers.Serializer,), row_fields)
    return type(
        f"{spec.model.__name__}IngestRequest",
        (serializers.Serializer,),
        {"rows": row(many=True)},
    )


class IngestResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    entity = serializers.CharField()
    received = serializers.IntegerField(help_text="Rows in the batch.")
    created = serializers.IntegerField(help_text="Rows written by this request.")
    existing = serializers.IntegerField(help_text="Rows already present by natural key (re-sent): no-ops.")
    audit_event_id = serializers.IntegerField()


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Up to 255 characters. The first successful response is stored and replayed for the same key and "
        "body (header Idempotent-Replayed: true); the same key with another body answers 422; while the "
        "first request is in flight, 409."
    ),
)


class IngestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Subclasses set ``spec``, ``serializer_class``, ``filterset_class`` and ``get_queryset``."""

    spec: EntitySpec
    permission_classes = [area_permission(Area.DATA, write_area=Area.INGEST)]

    def get_queryset(self) -> QuerySet[Any]:
        """Abstract on purpose: each entity names its own (desk-scoped) selector, so no viewset can
        fall back to an unscoped table by forgetting to."""
        raise NotImplementedError(f"{type(self).__name__} must define get_queryset()")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        content_type = request.content_type.split(";")[0].strip().lower()
        if content_type != "application/json":
            raise UnsupportedMediaType(content_type or "(none)", detail="Send the batch as application/json.")
        status_code, body, replayed = ingest_request(
            spec=self.spec,
            user=request.user,
            body=request.body,
            endpoint=request.path.rstrip("/"),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(body, status=status_code, headers=headers)


def ingest_schema(spec: EntitySpec) -> Any:
    """OpenAPI description of the POST (bulk ingestion) of ``spec``."""
    return extend_schema(
        summary=f"Ingest a batch of {spec.name.replace('_', ' ')}",
        description=(
            f"{spec.description}\n\nAll rows or none: one bad row fails the batch and every bad row is "
            "reported with its index and field errors. Rows whose natural key "
            f"({', '.join(spec.natural_key)}) already exists are no-ops, counted as `existing`."
        ),
        request=ingest_body_serializer(spec),
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: OpenApiResponse(IngestResultSerializer, description="At least one row was created."),
            200: OpenApiResponse(IngestResultSerializer, description="Every row already existed (a re-send)."),
            **ERROR_RESPONSES,
            409: OpenApiResponse(ErrorSerializer, description="The same Idempotency-Key is still in flight."),
            413: OpenApiResponse(ErrorSerializer, description="More rows than INGEST_MAX_ROWS."),
            415: OpenApiResponse(ErrorSerializer, description="The body is not application/json."),
            422: OpenApiResponse(ErrorSerializer, description="Idempotency-Key reused with a different body."),
        },
        examples=[
            OpenApiExample(
                "Invalid batch",
                status_codes=["400"],
                response_only=True,
                value={
                    "error": {
                        "code": "validation_failed",
                        "message": "1 of 2 rows are invalid; nothing was written.",
                        "invalid_rows": 1,
                        "rows": [{"index": 1, "errors": {"price": ["Must be greater than 0."]}}],
                    }
                },
            )
        ],
    )
