"""Risk API serializers: pre-trade requests, runs and results, limits, breaches, scenarios."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from portfolios.models import Side
from riskapp.engine.limits import EXPOSURE_KINDS
from riskapp.engine.var import ALL_METHODS
from riskapp.models import (
    FactorExposure,
    Limit,
    LimitBreach,
    RiskComponent,
    RiskResult,
    RiskRun,
    Scenario,
    StressResult,
)


class PretradeRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    portfolio = serializers.CharField(max_length=64, help_text="Portfolio code")
    instrument = serializers.CharField(max_length=64, help_text="Instrument symbol")
    side = serializers.ChoiceField(choices=Side.choices)
    quantity = serializers.DecimalField(max_digits=24, decimal_places=6, min_value=Decimal("0.000001"))
    price = serializers.DecimalField(
        max_digits=20,
        decimal_places=8,
        min_value=Decimal("0.00000001"),
        required=False,
        allow_null=True,
        help_text="Limit price; the last close when omitted",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("portfolio", "instrument"):
            if "\x00" in attrs[name]:
                raise serializers.ValidationError({name: "May not contain NUL characters."})
        return attrs


class PretradeReasonSerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField(help_text="restricted_instrument | portfolio_halted | limit | no_price")
    message = serializers.CharField()
    limit_id = serializers.IntegerField(required=False)
    kind = serializers.CharField(required=False)
    subject = serializers.CharField(required=False)
    measured = serializers.FloatField(required=False)
    limit = serializers.FloatField(required=False)


class PretradeResponseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    decision = serializers.ChoiceField(choices=["allow", "deny"])
    reasons = PretradeReasonSerializer(many=True)
    warnings = PretradeReasonSerializer(many=True)
    state_built_at = serializers.DateTimeField()


class LimitSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    portfolio = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Limit
        fields = [
            "id",
            "portfolio",
            "kind",
            "threshold",
            "warning_ratio",
            "method",
            "confidence",
            "horizon_days",
            "sector",
            "is_active",
            "updated_at",
        ]
        read_only_fields = ["id", "portfolio", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        threshold = attrs.get("threshold", getattr(self.instance, "threshold", None))
        if threshold is not None and threshold <= 0:
            raise serializers.ValidationError({"threshold": "Must be greater than 0."})
        if kind in EXPOSURE_KINDS and threshold is not None and threshold > 100:
            raise serializers.ValidationError({"threshold": "Exposure limits are fractions of NAV (0.02 = 2 %)."})
        if kind in {"var", "es"}:
            conf = attrs.get("confidence", getattr(self.instance, "confidence", None))
            if conf is None or not (0 < conf < 1):
                raise serializers.ValidationError({"confidence": "VaR and ES limits need a confidence in (0, 1)."})
            if not attrs.get("horizon_days", getattr(self.instance, "horizon_days", None)):
                raise serializers.ValidationError({"horizon_days": "VaR and ES limits need a horizon in days."})
            # An unknown method never matches a run's results: the limit would silently never be checked.
            method = attrs.get("method", getattr(self.instance, "method", None))
            if method and method not in ALL_METHODS:
                raise serializers.ValidationError({"method": f"Choose a method among {', '.join(ALL_METHODS)}."})
        ratio = attrs.get("warning_ratio")
        if ratio is not None and not (0 < ratio <= 1):
            raise serializers.ValidationError({"warning_ratio": "Between 0 (excluded) and 1."})
        return attrs


class LimitBreachSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    portfolio = serializers.SlugRelatedField(slug_field="code", read_only=True)
    kind = serializers.CharField(source="limit.kind", read_only=True)

    class Meta:
        model = LimitBreach
        fields = [
            "id",
            "portfolio",
            "limit",
            "kind",
            "run",
            "severity",
            "status",
            "measured",
            "limit_value",
            "utilisation",
            "subject",
            "recommended_action",
            "created_at",
        ]


class ScenarioSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Scenario
        fields = ["id", "name", "description", "shocks", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_shocks(self, value: Any) -> dict[str, float]:
        from riskapp.forms import validate_shocks

        try:
            return validate_shocks(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class RiskResultSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = RiskResult
        fields = ["method", "confidence", "horizon_days", "var", "es", "var_pct_nav", "es_pct_nav", "details"]


class RiskRunSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    portfolio = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status = serializers.CharField(source="calculation.status", read_only=True)
    progress = serializers.IntegerField(source="calculation.progress", read_only=True)
    error = serializers.CharField(source="calculation.error", read_only=True)
    results = RiskResultSerializer(many=True, read_only=True)

    class Meta:
        model = RiskRun
        fields = [
            "id",
            "calculation",
            "portfolio",
            "as_of",
            "status",
            "progress",
            "error",
            "parameters",
            "inputs_hash",
            "code_version",
            "summary",
            "results",
            "created_at",
        ]


class RiskComponentSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    instrument = serializers.SlugRelatedField(slug_field="symbol", read_only=True)

    class Meta:
        model = RiskComponent
        fields = ["instrument", "value", "marginal_var", "component_var", "component_es"]


class StressResultSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = StressResult
        fields = ["scenario", "kind", "pnl", "pnl_pct_nav", "details"]


class FactorExposureSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = FactorExposure
        fields = ["factor", "beta", "contribution"]


class RiskRunDetailSerializer(RiskRunSerializer):
    """A run with everything it stored: results, Euler components, stress results, factor betas."""

    components = RiskComponentSerializer(many=True, read_only=True)
    stress_results = StressResultSerializer(many=True, read_only=True)
    factor_exposures = FactorExposureSerializer(many=True, read_only=True)

    class Meta(RiskRunSerializer.Meta):
        fields = [*RiskRunSerializer.Meta.fields, "components", "stress_results", "factor_exposures"]


class RiskRunCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    portfolio = serializers.CharField(max_length=64, help_text="Portfolio code")
    as_of = serializers.DateField(required=False, help_text="Valuation day; the latest day with prices when omitted")
    parameters = serializers.DictField(
        required=False,
        help_text=(
            "Overrides of the defaults: confidences, horizons, methods, window_days, n_scenarios, seed, "
            "ewma_lambda, participation, reverse_stress_pct_nav, rate"
        ),
    )

    def validate_portfolio(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError("May not contain NUL characters.")
        return value


class RiskRunQueuedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField(help_text="Risk run id (GET /api/v1/risk/runs/{id} for results)")
    calculation = serializers.IntegerField(help_text="Calculation run id to poll at /api/v1/runs/{id}")
    status = serializers.CharField()
    portfolio = serializers.CharField()
    as_of = serializers.DateField()
    poll_url = serializers.CharField()
