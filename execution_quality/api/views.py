"""Best execution API under /api/v1/tca/: TCA results, pre-trade estimates, league tables,
the RTS 28-style report, runs and cost models.

Thin adapters: validate the request, read through ``execution_quality.selectors`` (scoped to the
user's desks; another desk's order is 404) or call one service. Reads need the execution area
(auditors included); writes also need a role that is not read-only, and training a cost model
needs a compliance supervisor. TCA runs and cost model trainings are queued as calculation runs
and answer 202 with the run to poll. Report endpoints answer CSV with ``?format=csv``.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import ErrorSerializer
from core.api.views import CalculationRunSerializer
from core.errors import PermissionDenied
from core.models import CalculationRun
from core.permissions import area_permission
from core.roles import Area, Role, user_roles
from core.selectors import run_list
from execution_quality import exports, selectors
from execution_quality.api import serializers as s
from execution_quality.filters import TcaExecutionFilterSet, TcaOrderFilterSet
from execution_quality.models import CostModel
from execution_quality.services import cost_model_train_create, pretrade_estimate, tca_run_create
from execution_quality.services.model import TRAIN_KIND

ExecutionPermission = area_permission(Area.EXECUTION)

_E400 = OpenApiResponse(ErrorSerializer, description="Invalid input; `error.fields` names each bad field.")
_E403 = OpenApiResponse(ErrorSerializer, description="Your role may not do this (auditors only read).")
_E404 = OpenApiResponse(ErrorSerializer, description="No such order, or not on your desks.")

_FORMAT = OpenApiParameter("format", str, enum=["json", "csv"], description="Default json; csv for a download")
_EXECUTION_FILTERS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First UTC day of fills (included)"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last UTC day of fills (included)"),
    OpenApiParameter("instrument", str, description="Instrument symbol"),
    OpenApiParameter("venue", str, description="Venue"),
    OpenApiParameter("broker", str, description="Broker"),
    OpenApiParameter("side", str, enum=["buy", "sell"]),
]
_LEAGUE_FILTER_NAMES = ("date_from", "date_to", "instrument", "venue", "broker", "side")


class CsvRenderer(BaseRenderer):
    """Passes a CSV document through; an error body becomes a two-column CSV (code, message)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, str):
            return data.encode("utf-8")
        error = (data or {}).get("error", {}) if isinstance(data, dict) else {}
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["code", "message"])
        writer.writerow([error.get("code", ""), error.get("message", "")])
        return buf.getvalue().encode("utf-8")


def _wants_csv(request: Request) -> bool:
    return getattr(request.accepted_renderer, "format", "json") == "csv"


def _csv_response(body: str, filename: str) -> Response:
    response = Response(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# ---------------------------------------------------------------------------- results


@extend_schema_view(
    list=extend_schema(
        summary="List TCA results of parent orders",
        description=(
            "One row per parent order of your desks (its child fills aggregated): benchmarks, costs in bps "
            "(positive = cost to the client), implementation shortfall, context, expected cost and the poor-"
            "execution flag. Filters as on the TCA dashboard."
        ),
    ),
    retrieve=extend_schema(
        summary="Read the TCA of one parent order",
        description="By order id, with the cost explanation (SHAP values by feature, bps) and every execution.",
        responses={200: s.TcaOrderDetailSerializer, 404: _E404},
    ),
)
class TcaOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    permission_classes = [ExecutionPermission]
    serializer_class = s.TcaOrderSerializer
    filterset_class = TcaOrderFilterSet
    lookup_field = "order_id"
    lookup_value_regex = "[0-9]{1,19}"

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.tca_order_list(user=self.request.user)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        result = selectors.tca_order_get(user=request.user, order_id=kwargs["order_id"])
        return Response(s.TcaOrderDetailSerializer(result).data)


@extend_schema_view(
    list=extend_schema(
        summary="List TCA results of executions",
        description="One row per fill of your desks' orders: spreads, markouts (positive = moved your way), costs.",
    )
)
class TcaExecutionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    permission_classes = [ExecutionPermission]
    serializer_class = s.TcaExecutionSerializer
    filterset_class = TcaExecutionFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.tca_execution_list(user=self.request.user)


# ---------------------------------------------------------------------------- pre-trade


class PretradeEstimateView(APIView):
    permission_classes = [ExecutionPermission]

    @extend_schema(
        summary="Pre-trade cost estimate and Almgren–Chriss schedule",
        description=(
            "Expected cost of an order by the square-root law and I-Star (bps and currency), the active cost "
            "model's prediction with its SHAP explanation, and the Almgren–Chriss schedule for the risk aversion "
            "over the horizon (minutes). Nothing is stored."
        ),
        request=s.TcaPretradeRequestSerializer,
        responses={200: s.TcaPretradeResponseSerializer, 400: _E400, 403: _E403},
    )
    def post(self, request: Request) -> Response:
        req = s.TcaPretradeRequestSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        data = req.validated_data
        estimate = pretrade_estimate(
            instrument=data["instrument"],
            side=data["side"],
            quantity=data["quantity"],
            user=request.user,  # type: ignore[arg-type]
            arrival=data.get("arrival"),
            risk_aversion=data["risk_aversion"],
            horizon_minutes=data.get("horizon_minutes"),
            order_type=data["order_type"],
            venue=data["venue"],
            broker=data["broker"],
        )
        return Response(estimate)


# ---------------------------------------------------------------------------- reports


def _league_filters(request: Request) -> dict[str, str]:
    return {k: request.query_params[k] for k in _LEAGUE_FILTER_NAMES if request.query_params.get(k)}


class _LeagueView(APIView):
    permission_classes = [ExecutionPermission]
    renderer_classes = [JSONRenderer, CsvRenderer]
    by = "venue"

    def get(self, request: Request) -> Response:
        filters = _league_filters(request)
        rows = selectors.league_table(user=request.user, by=self.by, filters=filters)
        if _wants_csv(request):
            return _csv_response(exports.league_csv(rows, by=self.by), f"tca-{self.by}s.csv")
        body = {"by": self.by, "filters": filters, "results": [vars(r) for r in rows]}
        return Response(s.LeagueTableSerializer(body).data)


_LEAGUE_RESPONSES = {
    (200, "application/json"): s.LeagueTableSerializer,
    (200, "text/csv"): OpenApiTypes.STR,
    400: _E400,
}


class VenueLeagueView(_LeagueView):
    by = "venue"

    @extend_schema(
        summary="Venue league table",
        description=(
            "Per execution venue over the period: orders, fills, volume, notional, average and notional-weighted "
            "cost vs arrival and VWAP (bps), fill rate, average markouts per horizon, effective spread and the "
            "share of fills outside the quote."
        ),
        parameters=[*_EXECUTION_FILTERS, _FORMAT],
        responses=_LEAGUE_RESPONSES,
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


class BrokerLeagueView(_LeagueView):
    by = "broker"

    @extend_schema(
        summary="Broker league table",
        description="The venue league table's figures per broker.",
        parameters=[*_EXECUTION_FILTERS, _FORMAT],
        responses=_LEAGUE_RESPONSES,
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


class _YearSerializer(serializers.Serializer):  # type: ignore[type-arg]
    year = serializers.IntegerField(min_value=1970, max_value=9998, required=False)


class Rts28ReportView(APIView):
    permission_classes = [ExecutionPermission]
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        summary="RTS 28-style annual top five execution venues",
        description=(
            "Per class of instruments: the top five venues by volume with % of volume, % of orders, % passive "
            "and aggressive fills (price against the prevailing quote), % directed (not recorded: null), and a "
            "summary of execution quality generated from the figures. Default year: the current UTC year."
        ),
        parameters=[OpenApiParameter("year", int, description="Calendar year (UTC)"), _FORMAT],
        responses={
            (200, "application/json"): s.Rts28ReportSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
            400: _E400,
        },
    )
    def get(self, request: Request) -> Response:
        req = _YearSerializer(data=request.query_params)
        req.is_valid(raise_exception=True)
        year = req.validated_data.get("year") or datetime.now(tz=UTC).year
        report = selectors.rts28_report(user=request.user, year=year)
        if _wants_csv(request):
            return _csv_response(exports.rts28_csv(report), f"rts28-{year}.csv")
        return Response(s.Rts28ReportSerializer(report).data)


# ---------------------------------------------------------------------------- runs and models


@extend_schema_view(
    list=extend_schema(
        summary="List TCA runs and cost model trainings (yours and the system's)",
        description="`kind` is `tca.run` for an analysis and `tca.model_train` for a cost model training.",
    ),
    retrieve=extend_schema(summary="Read a TCA run or a cost model training run"),
    create=extend_schema(
        summary="Start a TCA run",
        description=(
            "Analyse parent orders of your desks: by id, by arrival window (since/until), or with an empty body "
            "every order with fills and no TCA yet. Answers 202; poll /api/v1/runs/{id} until it ends."
        ),
        request=s.TcaRunCreateSerializer,
        responses={202: s.TcaRunQueuedSerializer, 400: _E400, 403: _E403},
    ),
)
class TcaRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    permission_classes = [ExecutionPermission]
    serializer_class = CalculationRunSerializer
    filterset_fields = ["status", "kind"]

    def get_queryset(self) -> QuerySet[CalculationRun]:
        # The project's run visibility (own runs; auditors and superusers see all): follow-up runs
        # after ingestion name orders of every desk, so they are not shown to everyone.
        return run_list(user=self.request.user).filter(kind__in=("tca.run", TRAIN_KIND))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        req = s.TcaRunCreateSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        data = req.validated_data
        run = tca_run_create(
            user=request.user,  # type: ignore[arg-type]
            order_ids=data.get("order_ids"),
            since=data.get("since"),
            until=data.get("until"),
        )
        return _queued(run)


def _queued(run: CalculationRun) -> Response:
    """202 with the run to poll (its status when the request ended: eager mode may have finished it)."""
    run.refresh_from_db(fields=["status"])
    body = {"id": run.pk, "kind": run.kind, "status": run.status, "poll_url": f"/api/v1/runs/{run.pk}"}
    return Response(s.TcaRunQueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(list=extend_schema(summary="List cost models with their model cards (active first)"))
class CostModelViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    permission_classes = [ExecutionPermission]
    serializer_class = s.CostModelSerializer
    filterset_fields = ["is_active"]

    def get_queryset(self) -> QuerySet[CostModel]:
        return CostModel.objects.select_related("trained_by").defer("artifact")

    @extend_schema(
        summary="Train a new cost model (compliance supervisor)",
        description=(
            "Queues a training run (kind `tca.model_train`) and answers 202 with it; poll /api/v1/runs/{id} until "
            "it ends. The run fits the cost model on the stored TCA results (time-ordered hold-out), makes it the "
            "active model and writes its card to the audit trail; its result holds the new `version` and the "
            "hold-out `metrics`. Too little data ends the run as `failed` with the reason in `error`."
        ),
        request=None,
        responses={202: s.TcaRunQueuedSerializer, 403: _E403},
    )
    @action(detail=False, methods=["post"])
    def train(self, request: Request) -> Response:
        user = request.user
        if not (user.is_superuser or Role.COMPLIANCE_SUPERVISOR in user_roles(user)):
            raise PermissionDenied("Only a compliance supervisor may train the cost model.")
        return _queued(cost_model_train_create(user=user))  # type: ignore[arg-type]
