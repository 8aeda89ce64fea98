"""Best execution API serializers: TCA results, pre-trade estimates, league tables, RTS 28, runs, models.

Costs and spreads are in bps, positive = cost to the client; markouts in bps, positive = the
price moved the trade's way (docs/tca-methodology.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from execution_quality.models import CostModel, TcaExecutionResult, TcaOrderResult
from execution_quality.selectors import flag_names
from portfolios.models import Order, Side


class _Flags(serializers.Serializer):  # type: ignore[type-arg]
    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_flag_names(self, obj: Any) -> list[str]:
        return flag_names(int(obj.flags))


class TcaExecutionSerializer(_Flags, serializers.ModelSerializer):  # type: ignore[type-arg]
    trade_ref = serializers.CharField(source="trade.trade_id", read_only=True, help_text="The OMS trade id")
    order_id = serializers.IntegerField(source="order_result.order_id", read_only=True, help_text="Parent order id")
    flag_names = serializers.SerializerMethodField()

    class Meta:
        model = TcaExecutionResult
        fields = [
            "id",
            "trade",
            "trade_ref",
            "order_id",
            "venue",
            "broker",
            "ts",
            "price",
            "quantity",
            "mid",
            "bid",
            "ask",
            "effective_spread_bps",
            "realised_spread_bps",
            "spread_capture",
            "outside_quote",
            "markout_1s_bps",
            "markout_5s_bps",
            "markout_60s_bps",
            "markout_300s_bps",
            "cost_arrival_bps",
            "cost_vwap_bps",
            "flags",
            "flag_names",
        ]


class TcaOrderSerializer(_Flags, serializers.ModelSerializer):  # type: ignore[type-arg]
    client_order_id = serializers.CharField(source="order.client_order_id", read_only=True)
    desk = serializers.SlugRelatedField(slug_field="code", read_only=True)
    account = serializers.SlugRelatedField(slug_field="code", read_only=True)
    instrument = serializers.SlugRelatedField(slug_field="symbol", read_only=True)
    flag_names = serializers.SerializerMethodField()

    class Meta:
        model = TcaOrderResult
        fields = [
            "order_id",
            "client_order_id",
            "desk",
            "account",
            "instrument",
            "side",
            "order_type",
            "venue",
            "broker",
            "arrival_ts",
            "end_ts",
            "quantity",
            "filled_quantity",
            "n_fills",
            "avg_price",
            "notional",
            "fees",
            "arrival_price",
            "vwap",
            "twap",
            "pwp",
            "prev_close",
            "open_price",
            "close_price",
            "cost_arrival_bps",
            "cost_vwap_bps",
            "cost_twap_bps",
            "cost_pwp_bps",
            "cost_prev_close_bps",
            "cost_open_bps",
            "cost_close_bps",
            "shortfall_bps",
            "shortfall_delay_bps",
            "shortfall_trading_bps",
            "shortfall_opportunity_bps",
            "shortfall_fees_bps",
            "size_adv",
            "volatility_daily_bps",
            "arrival_spread_bps",
            "minutes_since_open",
            "duration_s",
            "pov",
            "pretrade_sqrt_bps",
            "pretrade_istar_bps",
            "predicted_cost_bps",
            "model_version",
            "poor_execution",
            "flags",
            "flag_names",
            "run",
            "computed_at",
        ]


class TcaOrderDetailSerializer(TcaOrderSerializer):
    """An order's TCA with its explanation (SHAP values by feature), details and executions."""

    executions = TcaExecutionSerializer(many=True, read_only=True)

    class Meta(TcaOrderSerializer.Meta):
        fields = [*TcaOrderSerializer.Meta.fields, "explanation", "details", "executions"]


# ---------------------------------------------------------------------------- pre-trade


class TcaPretradeRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    instrument = serializers.CharField(max_length=64, help_text="Instrument symbol")
    side = serializers.ChoiceField(choices=Side.choices)
    quantity = serializers.DecimalField(
        max_digits=24, decimal_places=6, min_value=Decimal("0.000001"), max_value=Decimal("1e12")
    )
    risk_aversion = serializers.FloatField(
        required=False, default=1e-6, min_value=0.0, max_value=1.0, help_text="Almgren–Chriss λ per currency unit"
    )
    horizon_minutes = serializers.FloatField(
        required=False, allow_null=True, min_value=5.0, max_value=390.0, help_text="Default: the I-Star duration"
    )
    arrival = serializers.DateTimeField(required=False, allow_null=True, help_text="Default: now")
    order_type = serializers.ChoiceField(choices=Order.Type.choices, required=False, default="market")
    venue = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)
    broker = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("instrument", "venue", "broker"):
            if "\x00" in attrs.get(name, ""):
                raise serializers.ValidationError({name: "May not contain NUL characters."})
        return attrs


class TcaPretradeResponseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    instrument = serializers.CharField()
    side = serializers.CharField()
    quantity = serializers.FloatField()
    arrival = serializers.DateTimeField()
    price = serializers.FloatField(help_text="Arrival mid (or last close), currency")
    price_source = serializers.CharField()
    notional = serializers.FloatField()
    market = serializers.DictField(help_text="adv, size_adv, volatility_daily_bps, volatility_annual, spread")
    sqrt_law = serializers.DictField(help_text="Square-root law: cost_bps, cost (currency), y")
    istar = serializers.DictField(help_text="I-Star: instantaneous_bps, cost_bps, cost, pov, params")
    model = serializers.DictField(allow_null=True, help_text="Active cost model: version, cost_bps, cost, explanation")
    schedule = serializers.DictField(
        help_text="Almgren–Chriss: times_minutes, holdings, trades, expected_cost(_bps), cost_std(_bps), parameters"
    )
    assumptions = serializers.ListField(child=serializers.CharField())


# ---------------------------------------------------------------------------- reports


class LeagueRowSerializer(serializers.Serializer):  # type: ignore[type-arg]
    key = serializers.CharField(help_text="Venue or broker")
    fills = serializers.IntegerField()
    orders = serializers.IntegerField()
    volume = serializers.FloatField()
    notional = serializers.FloatField()
    avg_cost_arrival_bps = serializers.FloatField(allow_null=True)
    weighted_cost_arrival_bps = serializers.FloatField(allow_null=True)
    avg_cost_vwap_bps = serializers.FloatField(allow_null=True)
    weighted_cost_vwap_bps = serializers.FloatField(allow_null=True)
    fill_rate = serializers.FloatField(allow_null=True)
    markouts_bps = serializers.DictField(child=serializers.FloatField(allow_null=True))
    avg_effective_spread_bps = serializers.FloatField(allow_null=True)
    outside_quote_share = serializers.FloatField(allow_null=True)


class LeagueTableSerializer(serializers.Serializer):  # type: ignore[type-arg]
    by = serializers.CharField()
    filters = serializers.DictField(child=serializers.CharField())
    results = LeagueRowSerializer(many=True)


class Rts28VenueSerializer(serializers.Serializer):  # type: ignore[type-arg]
    venue = serializers.CharField()
    notional = serializers.FloatField()
    fills = serializers.IntegerField()
    orders = serializers.IntegerField()
    pct_volume = serializers.FloatField()
    pct_orders = serializers.FloatField()
    pct_passive = serializers.FloatField(allow_null=True)
    pct_aggressive = serializers.FloatField(allow_null=True)
    pct_directed = serializers.FloatField(allow_null=True, help_text="Not recorded: always null (n/a)")


class Rts28ClassSerializer(serializers.Serializer):  # type: ignore[type-arg]
    label = serializers.CharField()
    kinds = serializers.ListField(child=serializers.CharField())
    notional = serializers.FloatField()
    orders = serializers.IntegerField()
    fills = serializers.IntegerField()
    less_than_one_trade_per_business_day = serializers.BooleanField()
    venues = Rts28VenueSerializer(many=True)
    previous_top = serializers.ListField(child=serializers.CharField())


class Rts28ReportSerializer(serializers.Serializer):  # type: ignore[type-arg]
    year = serializers.IntegerField()
    business_days = serializers.IntegerField()
    classes = Rts28ClassSerializer(many=True)
    summary = serializers.ListField(child=serializers.CharField())


# ---------------------------------------------------------------------------- runs and models


class TcaRunCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    order_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        min_length=1,
        max_length=100_000,
        help_text="Parent order ids (or give since/until, or nothing for every order with fills and no TCA yet)",
    )
    since = serializers.DateTimeField(required=False, help_text="Orders arriving at or after (with until)")
    until = serializers.DateTimeField(required=False, help_text="Orders arriving before; default now")


class TcaRunQueuedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A queued calculation run: a TCA run (``tca.run``) or a cost model training (``tca.model_train``)."""

    id = serializers.IntegerField(help_text="Calculation run id")
    kind = serializers.CharField(help_text="tca.run or tca.model_train")
    status = serializers.CharField(help_text="The run's status when the request ended (usually queued)")
    poll_url = serializers.CharField(help_text="GET it until status is succeeded (see result) or failed (see error)")


class CostModelSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    trained_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = CostModel
        fields = ["id", "version", "trained_at", "trained_by", "is_active", "card"]
