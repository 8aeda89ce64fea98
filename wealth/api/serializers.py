"""Wealth API serializers: clients with their accounts, the questionnaire, risk profiles, goals,
plans, recommendations and scan runs.

Serializers shape input and output only; the rules (amounts, horizons, questionnaire answers,
recommendation states) are the services' and come back field by field through the project's
error body. Every object named in a request body is looked up in the user's scope: another
advisor's client or goal is "not found" exactly like an id that does not exist.

Money is in the account's currency, weights and rates are fractions (0.05 = 5 %), ESG scores
0–10, probabilities 0–1 (docs/wealth-methodology.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS

from wealth import selectors
from wealth.engine.profiling import PROFILE_NAMES
from wealth.models import (
    Client,
    ClientReview,
    Goal,
    GoalPlan,
    Household,
    Questionnaire,
    Recommendation,
    RiskProfile,
    WealthAccount,
)
from wealth.services.clients import GOAL_RATE_BOUNDS

NOTE_MAX_CHARS = 4000
_NOT_FOUND = "Not found."


def _slug(field: str, *, null: bool = False) -> Any:
    """A related object shown by its natural key (client code, username, symbol, ...)."""
    return serializers.SlugRelatedField(slug_field=field, read_only=True, allow_null=null)


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """A primary key looked up in the requesting user's scope: ``scope(user)`` for a read,
    ``scope(user, write=True)`` (the objects the user may change) when the request writes. Out of
    scope and missing answer the same "Not found." so ids reveal nothing. Only a whole number or
    a string of ASCII digits is an id: 1.5, true, "²", lists and objects are refused, never
    rounded or passed to the database."""

    default_error_messages = {
        "required": "This field is required.",
        "does_not_exist": _NOT_FOUND,
        "incorrect_type": "Incorrect type. Expected pk value, received {data_type}.",
    }

    def __init__(self, *, scope: Any, **kwargs: Any) -> None:
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        write = getattr(request, "method", "GET") not in SAFE_METHODS
        return self.scope(getattr(request, "user", None), write=write)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            if not (data.isascii() and data.isdigit()):
                self.fail("does_not_exist")
            pk = int(data)
        elif isinstance(data, int) and not isinstance(data, bool):
            pk = data
        else:
            self.fail("incorrect_type", data_type=type(data).__name__)
        # Ids beyond bigint would be a database error, not a field error.
        if not 0 < pk < 2**63:
            self.fail("does_not_exist")
        return super().to_internal_value(pk)


def _households_in_scope(user: Any, *, write: bool = False) -> Any:
    """Households the user may put a client into: their own (all for superusers), read or write."""
    qs = Household.objects.all()
    if getattr(user, "is_superuser", False):
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(advisor=user)


# ---------------------------------------------------------------------------- clients


class RiskProfileSummarySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    profile_name = serializers.SerializerMethodField()
    questionnaire_version = serializers.IntegerField(source="response.questionnaire.version", read_only=True)

    class Meta:
        model = RiskProfile
        fields = [
            "id",
            "profile",
            "profile_name",
            "willingness",
            "capacity",
            "score",
            "questionnaire_version",
            "created_at",
        ]
        read_only_fields = fields

    def get_profile_name(self, obj: RiskProfile) -> str:
        return PROFILE_NAMES.get(int(obj.profile), "")


class ClientReviewSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = ClientReview
        fields = [
            "as_of",
            "market_value",
            "drift",
            "harvest_saving",
            "goals_off_track",
            "coaching_flags",
            "attention",
            "reasons",
            "created_at",
        ]
        read_only_fields = fields


class AccountHoldingSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The account's open lots of one instrument, added up."""

    symbol = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=24, decimal_places=6)
    cost_basis = serializers.DecimalField(max_digits=20, decimal_places=2)
    lots = serializers.IntegerField(help_text="Open tax lots")


class WealthAccountSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """An account with its holdings summary (open lots by instrument, at cost)."""

    holdings = serializers.SerializerMethodField()

    class Meta:
        model = WealthAccount
        fields = ["id", "code", "name", "kind", "cash", "opened_on", "holdings"]
        read_only_fields = fields

    @extend_schema_field(AccountHoldingSerializer(many=True))
    def get_holdings(self, obj: WealthAccount) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for lot in obj.lots.all():  # prefetched with their instruments
            if lot.quantity <= 0:
                continue
            symbol = lot.instrument.symbol
            row = rows.setdefault(
                symbol, {"symbol": symbol, "quantity": Decimal(0), "cost_basis": Decimal(0), "lots": 0}
            )
            row["quantity"] += lot.quantity
            row["cost_basis"] += lot.cost_basis
            row["lots"] += 1
        return AccountHoldingSerializer(sorted(rows.values(), key=lambda r: r["symbol"]), many=True).data  # type: ignore[return-value]


class ClientSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """One row of the client list; ``profile`` is the current risk profile (null before the
    questionnaire is answered)."""

    advisor = _slug("username")
    household_name = serializers.CharField(source="household.name", read_only=True, allow_null=True, default=None)
    profile = serializers.IntegerField(read_only=True, allow_null=True, source="current_profile", default=None)

    class Meta:
        model = Client
        fields = [
            "id",
            "code",
            "name",
            "advisor",
            "household",
            "household_name",
            "birth_date",
            "retirement_age",
            "annual_income",
            "net_worth",
            "tax_rate_short",
            "tax_rate_long",
            "esg_min_score",
            "esg_excluded_sectors",
            "profile",
            "created_at",
        ]
        read_only_fields = fields


class ClientDetailSerializer(ClientSerializer):
    """A client with their accounts (holdings at cost), current profile and latest review."""

    accounts = WealthAccountSerializer(many=True, read_only=True)
    current_profile = serializers.SerializerMethodField()
    latest_review = serializers.SerializerMethodField()

    class Meta(ClientSerializer.Meta):
        fields = [*ClientSerializer.Meta.fields, "current_profile", "latest_review", "accounts"]
        read_only_fields = fields

    @extend_schema_field(RiskProfileSummarySerializer(allow_null=True))
    def get_current_profile(self, obj: Client) -> dict[str, Any] | None:
        profile = selectors.profile_current(obj)
        return RiskProfileSummarySerializer(profile).data if profile is not None else None

    @extend_schema_field(ClientReviewSerializer(allow_null=True))
    def get_latest_review(self, obj: Client) -> dict[str, Any] | None:
        review = obj.reviews.order_by("-as_of").first()
        return ClientReviewSerializer(review).data if review is not None else None


class ClientWriteSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """What a client is created or updated with. The advisor creating a client becomes its
    advisor; ``household`` must be one of the advisor's households."""

    household = ScopedPrimaryKeyField(scope=_households_in_scope, required=False, allow_null=True)
    esg_excluded_sectors = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=50
    )

    class Meta:
        model = Client
        fields = [
            "code",
            "name",
            "household",
            "birth_date",
            "retirement_age",
            "annual_income",
            "net_worth",
            "tax_rate_short",
            "tax_rate_long",
            "esg_min_score",
            "esg_excluded_sectors",
        ]


# ---------------------------------------------------------------------------- questionnaire and profiles


class QuestionChoiceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    value = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    points = serializers.FloatField()


class QuestionSerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField()
    text = serializers.CharField()
    dimension = serializers.ChoiceField(choices=["willingness", "capacity"])
    weight = serializers.FloatField(required=False, default=1.0)
    choices = QuestionChoiceSerializer(many=True)


class QuestionnaireSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    questions = QuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Questionnaire
        fields = ["id", "version", "title", "is_active", "created_at", "questions"]
        read_only_fields = fields


class RiskProfileSerializer(RiskProfileSummarySerializer):
    """A scored questionnaire response: willingness and capacity 0–100, score = the lower of the
    two (capacity caps willingness), profile 1 (conservative) to 5, and the reasons."""

    client: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    client_code = serializers.CharField(source="client.code", read_only=True)
    answers = serializers.JSONField(source="response.answers", read_only=True)
    submitted_by: Any = serializers.SlugRelatedField(
        source="response.submitted_by", slug_field="username", read_only=True, allow_null=True
    )

    class Meta(RiskProfileSummarySerializer.Meta):
        fields = [
            *RiskProfileSummarySerializer.Meta.fields,
            "client",
            "client_code",
            "explanation",
            "answers",
            "submitted_by",
        ]
        read_only_fields = fields


class RiskProfileSubmitSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = ScopedPrimaryKeyField(scope=selectors.client_scope)
    answers = serializers.DictField(
        child=serializers.CharField(max_length=100),
        allow_empty=False,
        help_text="Question code → chosen value, one per question of the active questionnaire",
    )


# ---------------------------------------------------------------------------- goals and plans


class GoalPlanSummarySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = GoalPlan
        fields = ["id", "success_probability", "required_contribution", "median_outcome", "created_at"]
        read_only_fields = fields


class GoalSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A goal in today's money; ``latest_plan`` is its newest projection (null before one)."""

    client = ScopedPrimaryKeyField(scope=selectors.client_scope)
    latest_plan = serializers.SerializerMethodField()

    class Meta:
        model = Goal
        fields = [
            "id",
            "client",
            "kind",
            "name",
            "target_amount",
            "horizon_years",
            "priority",
            "initial_amount",
            "monthly_contribution",
            "contribution_growth",
            "inflation",
            "annual_fee",
            "glide_path",
            "latest_plan",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "latest_plan", "created_at", "updated_at"]
        extra_kwargs = {
            name: {"min_value": low, "max_value": high, "help_text": f"A fraction a year, {low} to {high}"}
            for name, (low, high) in GOAL_RATE_BOUNDS.items()
        }

    def get_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple) and "client" in fields:
            # A goal stays with its client.
            fields["client"] = serializers.PrimaryKeyRelatedField(read_only=True)
        return fields

    @extend_schema_field(GoalPlanSummarySerializer(allow_null=True))
    def get_latest_plan(self, obj: Goal) -> dict[str, Any] | None:
        plans = getattr(obj, "latest_plans", None)  # prefetched newest first, without the fan
        if plans is None:
            plans = list(obj.plans.order_by("-created_at", "-id").defer("fan")[:1])
        plan = plans[0] if plans else None
        return GoalPlanSummarySerializer(plan).data if plan is not None else None


class GoalPlanSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A Monte Carlo projection: probability of reaching the target, median outcome and the
    monthly contribution that would give 80 % (today's money)."""

    client = serializers.IntegerField(source="goal.client_id", read_only=True)
    created_by = _slug("username", null=True)

    class Meta:
        model = GoalPlan
        fields = [
            "id",
            "goal",
            "client",
            "success_probability",
            "required_contribution",
            "median_outcome",
            "seed",
            "paths",
            "parameters",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class GoalPlanDetailSerializer(GoalPlanSerializer):
    """With the fan chart: months and the 5/25/50/75/95th percentiles of wealth, today's money."""

    class Meta(GoalPlanSerializer.Meta):
        fields = [*GoalPlanSerializer.Meta.fields, "fan"]
        read_only_fields = fields


class GoalPlanCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    goal = ScopedPrimaryKeyField(scope=selectors.goal_scope)
    seed = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2**63 - 1, help_text="Default: a fresh seed"
    )


# ---------------------------------------------------------------------------- recommendations


class RecommendationSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A proposal; ``trades`` are ``{account, symbol, side, quantity, price, amount,
    realized_gain, short_term, tax}`` and ``tax_effect`` their estimated tax (negative = saving)."""

    client_code = serializers.CharField(source="client.code", read_only=True)
    decided_by = _slug("username", null=True)

    class Meta:
        model = Recommendation
        fields = [
            "id",
            "client",
            "client_code",
            "kind",
            "status",
            "title",
            "reason",
            "trades",
            "tax_effect",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class RecommendationDetailSerializer(RecommendationSerializer):
    """With the explanation the client is shown and the audit trail stores on acceptance."""

    class Meta(RecommendationSerializer.Meta):
        fields = [*RecommendationSerializer.Meta.fields, "explanation"]
        read_only_fields = fields


OBJECTIVES = ["min_variance", "max_sharpe", "target_risk", "target_return"]
RETURN_ESTIMATES = ["historical", "equilibrium", "black_litterman"]
PROPOSE_KINDS = ["allocation", "rebalance", "harvest"]
_ALLOCATION_ONLY = ("objective", "target", "max_turnover", "views", "returns")


class ViewSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A Black–Litterman view: ``symbol`` will return ``return`` a year (a fraction), held with
    ``confidence`` (more than 0, at most 1; default 0.5)."""

    symbol = serializers.CharField(max_length=64)
    confidence = serializers.FloatField(required=False, default=0.5, min_value=0.0, max_value=1.0)

    def get_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = super().get_fields()
        # "return" is a Python keyword, so it cannot be declared as a class attribute.
        fields["return"] = serializers.FloatField(min_value=-1.0, max_value=2.0, help_text="Annual, a fraction")
        return fields


class RecommendationProposeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = ScopedPrimaryKeyField(scope=selectors.client_scope)
    kind = serializers.ChoiceField(choices=PROPOSE_KINDS)
    objective = serializers.ChoiceField(
        choices=OBJECTIVES,
        required=False,
        help_text="allocation; default target_risk at the volatility of the client's model portfolio",
    )
    target = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0.0,
        max_value=10.0,
        help_text="allocation: annual volatility (target_risk) or return (target_return), a fraction",
    )
    max_turnover = serializers.FloatField(
        required=False, allow_null=True, min_value=0.0, max_value=1.0, help_text="allocation: one-way, a fraction"
    )
    views = ViewSerializer(many=True, required=False, allow_null=True, help_text="allocation with black_litterman")
    returns = serializers.ChoiceField(
        choices=RETURN_ESTIMATES, required=False, help_text="allocation: expected returns; default historical"
    )
    cash_flow = serializers.DecimalField(
        max_digits=20,
        decimal_places=2,
        required=False,
        min_value=Decimal("-1e15"),
        max_value=Decimal("1e15"),
        help_text="rebalance: a deposit (positive) or withdrawal (negative)",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["kind"]
        errors: dict[str, list[str]] = {}
        if kind != Recommendation.Kind.ALLOCATION:
            for name in _ALLOCATION_ONLY:
                if attrs.get(name) is not None:
                    errors[name] = ["Only for kind allocation."]
        if kind != Recommendation.Kind.REBALANCE and attrs.get("cash_flow") is not None:
            errors["cash_flow"] = ["Only for kind rebalance."]
        if kind == Recommendation.Kind.ALLOCATION:
            if attrs.get("objective") == "target_return" and attrs.get("target") is None:
                errors["target"] = ["Required for objective target_return."]
            if attrs.get("views") and attrs.get("returns") != "black_litterman":
                errors["views"] = ["Views need returns black_litterman."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class RecommendationAcceptSerializer(serializers.Serializer):  # type: ignore[type-arg]
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTE_MAX_CHARS)


class RecommendationDeclineSerializer(serializers.Serializer):  # type: ignore[type-arg]
    note = serializers.CharField(max_length=NOTE_MAX_CHARS, help_text="Why the client declined (required)")


class NothingToDoSerializer(serializers.Serializer):  # type: ignore[type-arg]
    detail = serializers.CharField(help_text='"nothing to do": no trade is needed now')


# ---------------------------------------------------------------------------- runs


class WealthRunQueuedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField(help_text="Calculation run id")
    kind = serializers.CharField(help_text="wealth.scan")
    status = serializers.CharField(help_text="The run's status when the request ended (usually queued)")
    poll_url = serializers.CharField(help_text="GET it until status is succeeded (see result) or failed (see error)")
