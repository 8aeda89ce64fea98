"""Wealth API under /api/v1/wealth/: clients, the questionnaire, risk profiles, goals, plans,
recommendations and the wealth scan.

Thin adapters: validate the request, find the object in the user's scope through
``wealth.selectors`` (another advisor's client, goal, plan or recommendation is 404, and one
named in a body is "Not found." on that field) and call one service, which validates the values,
writes and audits. Reads need the wealth area (advisors and auditors); writes also need a role
that is not read-only, so auditors only read, and find only the user's own clients (``write=True``):
a user who is both advisor and auditor reads the desk's clients but changes only their own.
"""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import ErrorSerializer
from core.api.views import CalculationRunSerializer
from core.errors import NotFound
from core.models import CalculationRun
from core.permissions import area_permission
from core.roles import Area, is_read_only
from core.selectors import run_list
from wealth import selectors
from wealth.api import serializers as s
from wealth.filters import (
    ClientFilterSet,
    GoalFilterSet,
    GoalPlanFilterSet,
    RecommendationFilterSet,
    RiskProfileFilterSet,
)
from wealth.models import Client, GoalPlan, Recommendation, RiskProfile, TaxLot, WealthAccount
from wealth.services import (
    allocation_propose,
    client_create,
    client_update,
    goal_create,
    goal_delete,
    goal_plan,
    goal_update,
    harvest_propose,
    profile_submit,
    rebalance_propose,
    recommendation_accept,
    recommendation_decline,
    wealth_scan_queue,
)
from wealth.services.profiling import questionnaire_shown

WealthPermission = area_permission(Area.WEALTH)

SCAN_KIND = "wealth.scan"

_E400 = OpenApiResponse(ErrorSerializer, description="Invalid input; `error.fields` names each bad field.")
_E403 = OpenApiResponse(ErrorSerializer, description="Your role may not do this (auditors only read).")
_E404 = OpenApiResponse(ErrorSerializer, description="No such object, or not one of your clients'.")
_E409 = OpenApiResponse(ErrorSerializer, description="Already decided (accepted, declined or superseded).")
WRITE_ERRORS: dict[int, OpenApiResponse] = {400: _E400, 403: _E403, 404: _E404}


def _user(request: Request) -> Any:
    return request.user


def _client_data(validated: dict[str, Any]) -> dict[str, Any]:
    """The service takes a household by id (already checked to be one of the user's)."""
    data = dict(validated)
    if "household" in data:
        data["household"] = data["household"].pk if data["household"] is not None else None
    return data


# ---------------------------------------------------------------------------- clients


def _with_profile(qs: QuerySet[Client]) -> QuerySet[Client]:
    """Clients with their current risk profile (the newest) as ``current_profile``."""
    newest = RiskProfile.objects.filter(client=OuterRef("pk")).order_by("-created_at", "-id").values("profile")[:1]
    return qs.annotate(current_profile=Subquery(newest))


@extend_schema_view(
    list=extend_schema(
        summary="List your clients",
        description="Advisors see their own clients; auditors those of advisors sharing one of their desks.",
    ),
    retrieve=extend_schema(
        summary="Read a client",
        description=(
            "With the accounts and their holdings at cost (open tax lots added up by instrument), the current "
            "risk profile and the latest daily review."
        ),
        responses={200: s.ClientDetailSerializer, 404: _E404},
    ),
    create=extend_schema(
        summary="Create a client (you become the advisor)",
        description="`household` (optional) must be one of your households. Every creation is audited.",
        request=s.ClientWriteSerializer,
        responses={201: s.ClientDetailSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Replace a client's details",
        request=s.ClientWriteSerializer,
        responses={200: s.ClientDetailSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some of a client's details",
        request=s.ClientWriteSerializer,
        responses={200: s.ClientDetailSerializer, **WRITE_ERRORS},
    ),
)
class ClientViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    permission_classes = [WealthPermission]
    serializer_class = s.ClientSerializer
    filterset_class = ClientFilterSet

    def get_queryset(self) -> QuerySet[Client]:
        return _with_profile(selectors.client_scope(self.request.user))

    def _detail(self, pk: Any, *, code: int = status.HTTP_200_OK) -> Response:
        client = selectors.client_get(user=self.request.user, pk=pk)
        lots = TaxLot.objects.filter(quantity__gt=0).select_related("instrument")
        accounts = WealthAccount.objects.prefetch_related(Prefetch("lots", queryset=lots))
        detail = self.get_queryset().prefetch_related(Prefetch("accounts", queryset=accounts)).get(pk=client.pk)
        return Response(s.ClientDetailSerializer(detail).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._detail(kwargs["pk"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        req = s.ClientWriteSerializer(data=request.data, context=self.get_serializer_context())
        req.is_valid(raise_exception=True)
        client = client_create(actor=_user(request), data=_client_data(req.validated_data))
        return self._detail(client.pk, code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        client = selectors.client_get(user=request.user, pk=kwargs["pk"], write=True)
        partial = kwargs.pop("partial", False)
        req = s.ClientWriteSerializer(client, data=request.data, partial=partial, context=self.get_serializer_context())
        req.is_valid(raise_exception=True)
        client_update(actor=_user(request), client=client, data=_client_data(req.validated_data))
        return self._detail(client.pk)


# ---------------------------------------------------------------------------- questionnaire and profiles


class QuestionnaireView(APIView):
    permission_classes = [WealthPermission]

    @extend_schema(
        summary="The active risk questionnaire",
        description=(
            "Its version and questions, each with its dimension (`willingness` or `capacity`), weight and "
            "choices (value, label, points). Answer it with `POST /api/v1/wealth/profiles`."
        ),
        responses={200: s.QuestionnaireSerializer, 404: _E404},
    )
    def get(self, request: Request) -> Response:
        # A read-only user's read writes nothing: version 1 is created only for a user who can answer.
        version = questionnaire_shown(create=not is_read_only(request.user))
        if version is None:
            raise NotFound("No questionnaire is set up yet: it is created when an advisor first opens it.")
        return Response(s.QuestionnaireSerializer(version).data)


@extend_schema_view(
    list=extend_schema(summary="List risk profiles of your clients (newest first)"),
    retrieve=extend_schema(summary="Read a risk profile with its reasons and answers"),
    create=extend_schema(
        summary="Answer the active questionnaire for a client and score it",
        description=(
            "`answers` maps every question code to a choice value. A missing or unknown answer is reported "
            "under its question code in `error.fields`, and nothing is stored. The new profile becomes the "
            "client's current one; the scoring is audited."
        ),
        request=s.RiskProfileSubmitSerializer,
        responses={201: s.RiskProfileSerializer, **WRITE_ERRORS},
    ),
)
class RiskProfileViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    permission_classes = [WealthPermission]
    serializer_class = s.RiskProfileSerializer
    filterset_class = RiskProfileFilterSet

    def get_queryset(self) -> QuerySet[RiskProfile]:
        return selectors.profile_scope(self.request.user).select_related("response__submitted_by")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        req = s.RiskProfileSubmitSerializer(data=request.data, context=self.get_serializer_context())
        req.is_valid(raise_exception=True)
        profile = profile_submit(
            actor=_user(request), client=req.validated_data["client"], answers=req.validated_data["answers"]
        )
        profile = self.get_queryset().get(pk=profile.pk)
        return Response(s.RiskProfileSerializer(profile).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------- goals and plans


_GOAL_RULES = (
    "Amounts are in today's money. The target must be more than 0, the horizon 1–80 years, the initial "
    "amount and contribution at least 0; yearly rates are fractions: contribution growth −0.20 to 0.20, "
    "inflation −0.10 to 0.20, fee 0 to 0.05. A bad value answers 400 naming the field and nothing is written."
)


@extend_schema_view(
    list=extend_schema(summary="List your clients' goals"),
    retrieve=extend_schema(summary="Read a goal with its latest plan"),
    create=extend_schema(
        summary="Add a goal to a client", description=_GOAL_RULES, responses={201: s.GoalSerializer, **WRITE_ERRORS}
    ),
    update=extend_schema(
        summary="Replace a goal", description=_GOAL_RULES, responses={200: s.GoalSerializer, **WRITE_ERRORS}
    ),
    partial_update=extend_schema(
        summary="Change some of a goal's values",
        description=_GOAL_RULES,
        responses={200: s.GoalSerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(summary="Delete a goal and its plans", responses={204: None, 403: _E403, 404: _E404}),
)
class GoalViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    permission_classes = [WealthPermission]
    serializer_class = s.GoalSerializer
    filterset_class = GoalFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        newest = GoalPlan.objects.order_by("-created_at", "-id").defer("fan", "parameters")
        return selectors.goal_scope(self.request.user).prefetch_related(
            Prefetch("plans", queryset=newest, to_attr="latest_plans")
        )

    def _detail(self, pk: Any, *, code: int = status.HTTP_200_OK) -> Response:
        goal = selectors.goal_get(user=self.request.user, pk=pk)
        goal = self.get_queryset().get(pk=goal.pk)
        return Response(s.GoalSerializer(goal, context=self.get_serializer_context()).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._detail(kwargs["pk"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        req = s.GoalSerializer(data=request.data, context=self.get_serializer_context())
        req.is_valid(raise_exception=True)
        data = dict(req.validated_data)
        client = data.pop("client")
        goal = goal_create(actor=_user(request), client=client, data=data)
        return self._detail(goal.pk, code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        goal = selectors.goal_get(user=request.user, pk=kwargs["pk"], write=True)
        partial = kwargs.pop("partial", False)
        req = s.GoalSerializer(goal, data=request.data, partial=partial, context=self.get_serializer_context())
        req.is_valid(raise_exception=True)
        goal_update(actor=_user(request), goal=goal, data=dict(req.validated_data))
        return self._detail(goal.pk)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        goal = selectors.goal_get(user=request.user, pk=kwargs["pk"], write=True)
        goal_delete(actor=_user(request), goal=goal)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List goal plans of your clients (newest first, without the fan chart)"),
    retrieve=extend_schema(
        summary="Read a goal plan with its fan chart", responses={200: s.GoalPlanDetailSerializer, 404: _E404}
    ),
    create=extend_schema(
        summary="Project a goal (Monte Carlo, 10,000 paths)",
        description=(
            "Simulates the goal with the moments of the client's model portfolio (gliding toward the most "
            "conservative one when the goal says so): the probability of reaching the target, the fan chart and "
            "the monthly contribution that would give 80 %. Give `seed` to reproduce a plan; the plan is "
            "stored and audited."
        ),
        request=s.GoalPlanCreateSerializer,
        responses={201: s.GoalPlanDetailSerializer, **WRITE_ERRORS},
    ),
)
class GoalPlanViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    permission_classes = [WealthPermission]
    serializer_class = s.GoalPlanSerializer
    filterset_class = GoalPlanFilterSet

    def get_queryset(self) -> QuerySet[GoalPlan]:
        qs = selectors.plan_scope(self.request.user).select_related("created_by")
        return qs.defer("fan") if self.action == "list" else qs

    def get_serializer_class(self) -> Any:
        return s.GoalPlanSerializer if self.action == "list" else s.GoalPlanDetailSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        req = s.GoalPlanCreateSerializer(data=request.data, context=self.get_serializer_context())
        req.is_valid(raise_exception=True)
        plan = goal_plan(actor=_user(request), goal=req.validated_data["goal"], seed=req.validated_data.get("seed"))
        return Response(s.GoalPlanDetailSerializer(plan).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------- recommendations


@extend_schema_view(
    list=extend_schema(summary="List recommendations for your clients (newest first)"),
    retrieve=extend_schema(
        summary="Read a recommendation with its explanation",
        responses={200: s.RecommendationDetailSerializer, 404: _E404},
    ),
)
class RecommendationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    permission_classes = [WealthPermission]
    serializer_class = s.RecommendationSerializer
    filterset_class = RecommendationFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        qs = selectors.recommendation_scope(self.request.user)
        return qs.defer("explanation") if self.action == "list" else qs

    def get_serializer_class(self) -> Any:
        return s.RecommendationSerializer if self.action == "list" else s.RecommendationDetailSerializer

    def _detail(self, pk: Any, *, code: int = status.HTTP_200_OK) -> Response:
        recommendation = selectors.recommendation_get(user=self.request.user, pk=pk)
        return Response(s.RecommendationDetailSerializer(recommendation).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._detail(kwargs["pk"])

    @extend_schema(
        summary="Propose an allocation, a rebalance or a tax-loss harvest for a client",
        description=(
            "`allocation`: optimise on the client's universe (`objective` target_risk (default: at the volatility of "
            "the client's model portfolio, or `target`), min_variance, max_sharpe, or target_return with `target`; "
            "`max_turnover` one-way; `returns` historical (default), equilibrium or black_litterman with `views` "
            '`[{"symbol", "return", "confidence"}]`). Constraints that cannot all hold answer 400 with the '
            "reasons under `error.fields.constraints`. `rebalance`: back to the profile's model portfolio within "
            "the drift bands, lots sold in the cheapest tax order, with an optional `cash_flow` (deposit > 0, "
            "withdrawal < 0). `harvest`: sell taxable lots at a loss worth harvesting and buy substitutes. A new "
            "proposal supersedes the client's open one of the same kind. Answers 201 with the proposal, or 200 "
            'with `{"detail": "nothing to do"}` when no trade is needed.'
        ),
        request=s.RecommendationProposeSerializer,
        responses={201: s.RecommendationDetailSerializer, 200: s.NothingToDoSerializer, **WRITE_ERRORS},
    )
    @action(detail=False, methods=["post"])
    def propose(self, request: Request) -> Response:
        req = s.RecommendationProposeSerializer(data=request.data, context=self.get_serializer_context())
        req.is_valid(raise_exception=True)
        data = req.validated_data
        actor, client, kind = _user(request), data["client"], data["kind"]
        proposal: Recommendation | None
        if kind == "allocation":
            given = {k: data[k] for k in ("objective", "target", "max_turnover", "returns") if data.get(k) is not None}
            views = [dict(v) for v in data.get("views") or []] or None
            proposal = allocation_propose(actor=actor, client=client, views=views, **given)
        elif kind == "rebalance":
            proposal = rebalance_propose(actor=actor, client=client, cash_flow=data.get("cash_flow") or 0)
        else:
            proposal = harvest_propose(actor=actor, client=client)
        if proposal is None:
            return Response(s.NothingToDoSerializer({"detail": "nothing to do"}).data)
        return self._detail(proposal.pk, code=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Accept a recommendation",
        description=(
            "Books its trades at their prices into the client's lots and transactions (wash-sale rules applied) "
            "and records the acceptance with its explanation in the audit trail. A recommendation is decided "
            "once: accepting or declining it again answers 409."
        ),
        request=s.RecommendationAcceptSerializer,
        responses={200: s.RecommendationDetailSerializer, **WRITE_ERRORS, 409: _E409},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: Any = None) -> Response:
        recommendation = selectors.recommendation_get(user=request.user, pk=pk, write=True)
        req = s.RecommendationAcceptSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        recommendation_accept(actor=_user(request), recommendation=recommendation, note=req.validated_data["note"])
        return self._detail(pk)

    @extend_schema(
        summary="Decline a recommendation (a note is required)",
        description="The note says why; the decision is audited. Deciding twice answers 409.",
        request=s.RecommendationDeclineSerializer,
        responses={200: s.RecommendationDetailSerializer, **WRITE_ERRORS, 409: _E409},
    )
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: Any = None) -> Response:
        recommendation = selectors.recommendation_get(user=request.user, pk=pk, write=True)
        req = s.RecommendationDeclineSerializer(data=request.data)
        req.is_valid(raise_exception=True)
        recommendation_decline(actor=_user(request), recommendation=recommendation, note=req.validated_data["note"])
        return self._detail(pk)


# ---------------------------------------------------------------------------- runs


@extend_schema_view(
    list=extend_schema(summary="List wealth scans (yours; auditors see all)", description="`kind` is `wealth.scan`."),
    retrieve=extend_schema(summary="Read a wealth scan run"),
    create=extend_schema(
        summary="Queue the wealth scan",
        description=(
            "Reviews your clients (all clients for a superuser): drift against the target, tax-loss harvesting "
            "opportunities, goals off track and coaching flags; stores each client's daily review (the "
            "dashboard's attention list) and refreshes the proposals of those needing attention. The same scan "
            "runs daily on the scheduler for every client. Answers 202 with the run; poll /api/v1/runs/{id}."
        ),
        request=None,
        responses={202: s.WealthRunQueuedSerializer, 403: _E403},
    ),
)
class WealthRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    permission_classes = [WealthPermission]
    serializer_class = CalculationRunSerializer
    filterset_fields = ["status"]

    def get_queryset(self) -> QuerySet[CalculationRun]:
        # The project's run visibility (own runs; auditors and superusers see all): a scheduled scan
        # covers every advisor's clients, so its result is not shown to each advisor.
        return run_list(user=self.request.user).filter(kind=SCAN_KIND)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = wealth_scan_queue(actor=_user(request))
        run.refresh_from_db(fields=["status"])
        body = {"id": run.pk, "kind": run.kind, "status": run.status, "poll_url": f"/api/v1/runs/{run.pk}"}
        return Response(s.WealthRunQueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)
