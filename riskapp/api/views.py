"""Risk API: pre-trade check, runs and results, limits, breaches, scenarios."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.api.schema import ErrorSerializer
from core.permissions import area_permission, deny_record
from core.roles import Area, has_area, is_read_only
from portfolios import selectors as book_selectors
from riskapp import selectors
from riskapp.api import serializers as s
from riskapp.models import Limit, RiskRun, Scenario
from riskapp.services.limits import limit_delete, limit_save
from riskapp.services.pretrade import pretrade_check
from riskapp.services.runs import risk_run_create
from riskapp.services.scenarios import scenario_delete, scenario_save

RiskPermission = area_permission(Area.RISK)


def _by_portfolio(qs: QuerySet[Any], request: Request) -> QuerySet[Any]:
    """``?portfolio=CODE`` filter; a NUL in the code is a 400 (PostgreSQL would refuse it: a 500)."""
    code = request.query_params.get("portfolio")
    if code and "\x00" in code:
        raise serializers.ValidationError({"portfolio": "May not contain NUL characters."})
    return qs.filter(portfolio__code=code) if code else qs


class CanCheckPretrade(BasePermission):
    """OMS clients and risk officers may ask; auditors and others may not."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        ok = bool(user and user.is_authenticated) and (has_area(user, Area.INGEST) or has_area(user, Area.RISK))
        ok = ok and not is_read_only(user)
        if user and user.is_authenticated and not ok:
            deny_record(request._request, Area.RISK)
        return ok


class PretradeCheckView(APIView):
    permission_classes = [CanCheckPretrade]
    # An OMS asks before every order: its own, higher rate (API_THROTTLE_PRETRADE).
    throttle_scope = "pretrade"
    throttle_classes = [ScopedRateThrottle]

    @extend_schema(
        summary="Pre-trade check: may this order go out?",
        description=(
            "Answers allow or deny with every reason (restricted instrument, halted portfolio, position/sector/"
            "leverage limits the book would break after the order) from cached state. Orders that reduce an "
            "existing breach are allowed with a warning. Every decision is audited."
        ),
        request=s.PretradeRequestSerializer,
        responses={
            200: s.PretradeResponseSerializer,
            404: OpenApiResponse(ErrorSerializer, description="Unknown portfolio (or not yours) or instrument."),
        },
    )
    def post(self, request: Request) -> Response:
        req = s.PretradeRequestSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        data = req.validated_data
        decision = pretrade_check(
            user=request.user,
            portfolio_code=data["portfolio"],
            symbol=data["instrument"],
            side=data["side"],
            quantity=data["quantity"],
            price=data.get("price"),
        )
        return Response(decision.as_dict())


class LimitCreateSerializer(s.LimitSerializer):
    portfolio = serializers.CharField(max_length=64, write_only=True)  # type: ignore[assignment]


@extend_schema_view(
    list=extend_schema(summary="List limits"),
    retrieve=extend_schema(summary="Read one limit"),
    create=extend_schema(
        summary="Create a limit",
        request=LimitCreateSerializer,
        responses={
            201: s.LimitSerializer,
            404: OpenApiResponse(ErrorSerializer, description="Unknown portfolio (or not yours)."),
        },
    ),
    partial_update=extend_schema(summary="Change a limit"),
    destroy=extend_schema(summary="Delete a limit"),
)
class LimitViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    serializer_class = s.LimitSerializer
    permission_classes = [RiskPermission]
    filterset_fields = ["kind", "is_active"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Limit]:
        return _by_portfolio(selectors.limit_list(user=self.request.user), self.request)

    def get_serializer_class(self) -> Any:
        return LimitCreateSerializer if self.action == "create" else s.LimitSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ser = LimitCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        portfolio = get_object_or_404(book_selectors.portfolio_list(user=request.user), code=data.pop("portfolio"))
        limit = limit_save(user=request.user, limit=Limit(portfolio=portfolio), data=data)
        return Response(s.LimitSerializer(limit).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        limit = self.get_object()
        ser = s.LimitSerializer(limit, data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        limit = limit_save(user=request.user, limit=limit, data=dict(ser.validated_data))
        return Response(s.LimitSerializer(limit).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        limit_delete(user=request.user, limit=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(list=extend_schema(summary="List limit breaches"), retrieve=extend_schema(summary="Read a breach"))
class LimitBreachViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    serializer_class = s.LimitBreachSerializer
    permission_classes = [RiskPermission]
    filterset_fields = ["severity", "status"]

    def get_queryset(self) -> QuerySet[Any]:
        return _by_portfolio(selectors.breach_list(user=self.request.user), self.request)


@extend_schema_view(
    list=extend_schema(summary="List stress scenarios"),
    retrieve=extend_schema(summary="Read a scenario"),
    create=extend_schema(summary="Create a user-defined scenario"),
    partial_update=extend_schema(summary="Change a scenario"),
    destroy=extend_schema(summary="Delete a scenario"),
)
class ScenarioViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    serializer_class = s.ScenarioSerializer
    permission_classes = [RiskPermission]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = Scenario.objects.all()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ser = s.ScenarioSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        scenario = scenario_save(user=request.user, scenario=Scenario(), data=dict(ser.validated_data))
        return Response(s.ScenarioSerializer(scenario).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        scenario = self.get_object()
        ser = s.ScenarioSerializer(scenario, data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        scenario = scenario_save(user=request.user, scenario=scenario, data=dict(ser.validated_data))
        return Response(s.ScenarioSerializer(scenario).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        scenario_delete(user=request.user, scenario=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List risk runs with their VaR/ES results"),
    retrieve=extend_schema(summary="Read a risk run: results, components, stress results, factor exposures"),
    create=extend_schema(
        summary="Queue a risk run",
        description=(
            "Queues a risk run of the portfolio on the risk queue and answers 202 with the risk run id and the "
            "calculation run id; poll /api/v1/runs/{calculation} until it succeeds, then read "
            "/api/v1/risk/runs/{id}. Parameters are validated (confidences in (0, 1), horizons ≥ 1, known methods, "
            "bounded scenario count, whole-number seed)."
        ),
        request=s.RiskRunCreateSerializer,
        responses={
            202: s.RiskRunQueuedSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid parameters."),
            404: OpenApiResponse(ErrorSerializer, description="Unknown portfolio (or not yours)."),
        },
    ),
)
class RiskRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Risk runs of the user's portfolios; ``?portfolio=CODE`` filters by portfolio."""

    permission_classes = [RiskPermission]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[RiskRun]:
        qs = selectors.run_list(user=self.request.user).prefetch_related("results")
        if self.action == "retrieve":
            qs = qs.prefetch_related("components__instrument", "stress_results", "factor_exposures")
        return _by_portfolio(qs, self.request)

    def get_serializer_class(self) -> Any:
        return s.RiskRunDetailSerializer if self.action == "retrieve" else s.RiskRunSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ser = s.RiskRunCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        portfolio = get_object_or_404(book_selectors.portfolio_list(user=request.user), code=data["portfolio"])
        run = risk_run_create(
            portfolio=portfolio, user=request.user, as_of=data.get("as_of"), parameters=data.get("parameters")
        )
        body = {
            "id": run.pk,
            "calculation": run.calculation_id,
            "status": run.calculation.status,
            "portfolio": portfolio.code,
            "as_of": run.as_of,
            "poll_url": f"/api/v1/runs/{run.calculation_id}",
        }
        return Response(s.RiskRunQueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)
