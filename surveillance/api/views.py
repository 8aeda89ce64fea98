"""Surveillance API: the alert queue and its review, cases and STOR, detector settings, runs.

Thin adapters: validate the request, find the object in the user's scope (404 otherwise), call
one service. Reads need the surveillance area (auditors included); writes also need a role that
is not read-only, and the services add the finer rules (four eyes, supervisors only).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.schema import ErrorSerializer
from core.api.views import CalculationRunSerializer
from core.models import CalculationRun
from core.permissions import area_permission
from core.roles import Area
from surveillance import selectors, services, stor
from surveillance.api import serializers as s
from surveillance.filters import AlertFilterSet

SurveillancePermission = area_permission(Area.SURVEILLANCE)

_E400 = OpenApiResponse(ErrorSerializer, description="Invalid input; `error.fields` names each bad field.")
_E403 = OpenApiResponse(ErrorSerializer, description="Your role may not do this (auditors only read).")
_E404 = OpenApiResponse(ErrorSerializer, description="No such object, or not in your scope.")
_E409 = OpenApiResponse(ErrorSerializer, description="Not allowed from the current state (or four eyes required).")
WRITE_ERRORS: dict[int, OpenApiResponse] = {400: _E400, 403: _E403, 404: _E404, 409: _E409}


def _user_or_none(pk: int | None) -> User | None:
    """The user named by id; an unknown id is left to the service, which answers on ``assignee``."""
    return User.objects.filter(pk=pk).first() if pk else None


class StorXmlRenderer(BaseRenderer):
    """Passes the STOR XML document through; an error body becomes a small XML document."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, bytes):
            return data
        import xml.etree.ElementTree as ET

        error = (data or {}).get("error", {}) if isinstance(data, dict) else {}
        root = ET.Element("error")
        ET.SubElement(root, "code").text = str(error.get("code", ""))
        ET.SubElement(root, "message").text = str(error.get("message", ""))
        document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        return document


# ---------------------------------------------------------------------------- alerts


@extend_schema_view(
    list=extend_schema(
        summary="List alerts (the review queue)",
        description="Alerts on your desks, newest first, filtered by the same filters as the queue page.",
    ),
    retrieve=extend_schema(
        summary="Read an alert", description="With evidence ids, features, explanation, transitions and comments."
    ),
)
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    permission_classes = [SurveillancePermission]
    filterset_class = AlertFilterSet
    serializer_class = s.AlertSerializer

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.alert_list(user=self.request.user)

    def get_serializer_class(self) -> Any:
        return s.AlertSerializer if self.action == "list" else s.AlertDetailSerializer

    def _detail(self, pk: Any) -> Response:
        alert = selectors.alert_get(user=self.request.user, pk=pk)
        return Response(s.AlertDetailSerializer(alert).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._detail(kwargs["pk"])

    @extend_schema(
        summary="Review an alert: start review, assign, escalate, close, propose, approve or reject",
        description=(
            "Closing an alert scored at or above the four-eyes threshold (or with outcome `stor_filed`) needs "
            "`propose_close` and then `approve` by a compliance supervisor other than the proposer; `close` "
            "answers 409 `four_eyes_required`. Rationale is mandatory for escalate, close, propose_close, reject."
        ),
        request=s.AlertTransitionRequestSerializer,
        responses={200: s.AlertDetailSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: Any = None) -> Response:
        req = s.AlertTransitionRequestSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        data = req.validated_data
        alert = selectors.alert_get(user=request.user, pk=pk)
        services.alert_transition(
            alert=alert,
            user=request.user,  # type: ignore[arg-type]
            action=data["action"],
            rationale=data.get("rationale", ""),
            outcome=data.get("outcome", ""),
            assignee=_user_or_none(data.get("assignee")),
        )
        return self._detail(pk)

    @extend_schema(
        summary="Assign several alerts to one reviewer (all or none)",
        request=s.AlertBulkAssignSerializer,
        responses={200: s.AlertSerializer(many=True), **WRITE_ERRORS},
    )
    @action(detail=False, methods=["post"], url_path="assign", url_name="assign")
    def bulk_assign(self, request: Request) -> Response:
        req = s.AlertBulkAssignSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        done = services.alerts_assign(
            alerts=req.validated_data["alert_ids"],
            assignee=_user_or_none(req.validated_data["assignee"]),
            user=request.user,  # type: ignore[arg-type]
        )
        return Response(s.AlertSerializer(done, many=True).data)

    @extend_schema(methods=["GET"], summary="List an alert's comments", responses=s.AlertCommentSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        summary="Comment on an alert",
        request=s.AlertCommentCreateSerializer,
        responses={201: s.AlertCommentSerializer, 400: _E400, 403: _E403, 404: _E404},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def comments(self, request: Request, pk: Any = None) -> Response:
        alert = selectors.alert_get(user=request.user, pk=pk)
        if request.method == "GET":
            return Response(s.AlertCommentSerializer(alert.comments.all(), many=True).data)
        req = s.AlertCommentCreateSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        comment = services.alert_comment_add(
            alert=alert,
            user=request.user,  # type: ignore[arg-type]
            body=req.validated_data["body"],
        )
        return Response(s.AlertCommentSerializer(comment).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------- cases


@extend_schema_view(
    list=extend_schema(summary="List cases"),
    retrieve=extend_schema(summary="Read a case with its alerts"),
    create=extend_schema(
        summary="Open a case on alerts of one desk",
        request=s.CaseCreateSerializer,
        responses={201: s.CaseDetailSerializer, **WRITE_ERRORS},
    ),
)
class CaseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    permission_classes = [SurveillancePermission]
    serializer_class = s.CaseSerializer
    filterset_fields = ["state", "stor_status"]

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.case_list(user=self.request.user)

    def get_serializer_class(self) -> Any:
        return s.CaseSerializer if self.action == "list" else s.CaseDetailSerializer

    def _detail(self, pk: Any, *, code: int = status.HTTP_200_OK) -> Response:
        case = selectors.case_get(user=self.request.user, pk=pk)
        return Response(s.CaseDetailSerializer(case).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._detail(kwargs["pk"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        req = s.CaseCreateSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        data = req.validated_data
        case = services.case_create(
            user=request.user,  # type: ignore[arg-type]
            title=data["title"],
            description=data["description"],
            alerts=data["alert_ids"],
        )
        return self._detail(case.pk, code=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Add alerts of the case's desk to an open case",
        request=s.CaseAlertsSerializer,
        responses={200: s.CaseDetailSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="alerts", url_name="alerts")
    def alerts_add(self, request: Request, pk: Any = None) -> Response:
        req = s.CaseAlertsSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        case = selectors.case_get(user=request.user, pk=pk)
        services.case_alerts_add(case=case, alerts=req.validated_data["alert_ids"], user=request.user)  # type: ignore[arg-type]
        return self._detail(pk)

    @extend_schema(
        methods=["GET"],
        summary="Read the STOR draft (JSON or XML)",
        parameters=[
            OpenApiParameter("format", str, enum=["json", "xml"], description="Default json; xml for the document")
        ],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "application/xml"): OpenApiTypes.BINARY},
    )
    @extend_schema(
        methods=["PATCH"],
        summary="Edit fields of the STOR draft",
        request=s.StorFieldsSerializer,
        responses={200: OpenApiTypes.OBJECT, **WRITE_ERRORS},
    )
    @action(
        detail=True,
        methods=["get", "patch"],
        url_path="stor",
        url_name="stor",
        renderer_classes=[JSONRenderer, StorXmlRenderer],
    )
    def stor(self, request: Request, pk: Any = None) -> Response:
        case = selectors.case_get(user=request.user, pk=pk)
        if request.method == "PATCH":
            req = s.StorFieldsSerializer(data=request.data)
            req.is_valid(raise_exception=True)
            case = services.case_stor_update(case=case, user=request.user, fields=req.validated_data)  # type: ignore[arg-type]
        if getattr(request.accepted_renderer, "format", "json") == "xml":
            return Response(stor.stor_xml(case), content_type="application/xml; charset=utf-8")
        return Response(stor.stor_draft(case))

    def _case_action(self, request: Request, pk: Any, service: Any, **kwargs: Any) -> Response:
        case = selectors.case_get(user=request.user, pk=pk)
        service(case=case, user=request.user, **kwargs)
        return self._detail(pk)

    @extend_schema(
        summary="Propose filing the STOR (a supervisor other than you files it)",
        request=s.RationaleSerializer,
        responses={200: s.CaseDetailSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="stor/propose", url_name="stor_propose")
    def stor_propose(self, request: Request, pk: Any = None) -> Response:
        req = s.RationaleSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        return self._case_action(request, pk, services.case_stor_propose, rationale=req.validated_data["rationale"])

    @extend_schema(
        summary="File the proposed STOR (compliance supervisor, not the proposer); closes the case's alerts",
        request=None,
        responses={200: s.CaseDetailSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="stor/file", url_name="stor_file")
    def stor_file(self, request: Request, pk: Any = None) -> Response:
        return self._case_action(request, pk, services.case_stor_file)

    @extend_schema(
        summary="Send the proposed STOR back to draft (compliance supervisor, not the proposer)",
        request=s.RationaleSerializer,
        responses={200: s.CaseDetailSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="stor/reject", url_name="stor_reject")
    def stor_reject(self, request: Request, pk: Any = None) -> Response:
        req = s.RationaleSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        return self._case_action(request, pk, services.case_stor_reject, rationale=req.validated_data["rationale"])

    @extend_schema(
        summary="Close a case without filing",
        request=s.RationaleSerializer,
        responses={200: s.CaseDetailSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: Any = None) -> Response:
        req = s.RationaleSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        return self._case_action(request, pk, services.case_close, rationale=req.validated_data["rationale"])


# ---------------------------------------------------------------------------- detectors


@extend_schema_view(
    list=extend_schema(summary="List rule detectors with their effective parameters"),
    retrieve=extend_schema(summary="Read one detector's parameters"),
    partial_update=extend_schema(
        summary="Change a detector's parameters or switch it off (compliance supervisor)",
        description="Bad values answer 400 with `error.fields` naming each parameter. Every change is audited.",
        request=s.DetectorUpdateSerializer,
        responses={200: s.DetectorSerializer, 400: _E400, 403: _E403, 404: _E404},
    ),
)
class DetectorViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    permission_classes = [SurveillancePermission]
    serializer_class = s.DetectorSerializer
    pagination_class = None
    filter_backends: list[Any] = []
    lookup_field = "scenario"
    lookup_value_regex = "[a-z_]{1,32}"
    http_method_names = ["get", "patch", "head", "options"]

    def list(self, request: Request) -> Response:
        return Response(s.DetectorSerializer(services.detector_config_list(), many=True).data)

    def retrieve(self, request: Request, scenario: str) -> Response:
        return Response(s.DetectorSerializer(services.detector_config_get(scenario=scenario)).data)

    def partial_update(self, request: Request, scenario: str) -> Response:
        req = s.DetectorUpdateSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        setting = services.detector_config_update(
            scenario=scenario,
            parameters=req.validated_data.get("parameters"),
            enabled=req.validated_data.get("enabled"),
            user=request.user,  # type: ignore[arg-type]
        )
        return Response(s.DetectorSerializer(setting).data)


# ---------------------------------------------------------------------------- runs


@extend_schema_view(
    list=extend_schema(summary="List surveillance runs (sweeps and incremental runs)"),
    retrieve=extend_schema(summary="Read a surveillance run"),
    create=extend_schema(
        summary="Start a sweep of every detector over a window",
        description="Queues the sweep and answers 202; poll /api/v1/runs/{id} or this endpoint until it ends.",
        request=s.SweepCreateSerializer,
        responses={202: s.RunQueuedSerializer, 400: _E400, 403: _E403},
    ),
)
class SurveillanceRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Surveillance runs are firm-wide (every desk's orders), so every surveillance user sees them."""

    permission_classes = [SurveillancePermission]
    serializer_class = CalculationRunSerializer
    filterset_fields = ["kind", "status"]

    def get_queryset(self) -> QuerySet[CalculationRun]:
        return CalculationRun.objects.select_related("user").filter(kind__startswith="surveillance.")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        req = s.SweepCreateSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        run = services.surveillance_sweep_create(
            user=request.user,  # type: ignore[arg-type]
            since=req.validated_data.get("since"),
            until=req.validated_data.get("until"),
        )
        body = {"id": run.pk, "kind": run.kind, "status": run.status, "poll_url": f"/api/v1/runs/{run.pk}"}
        return Response(s.RunQueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)
