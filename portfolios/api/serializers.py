"""Read serializers (references by code) and the documented shapes of ingestion bodies."""

from __future__ import annotations

from rest_framework import serializers

from portfolios.models import (
    Account,
    BeneficialOwner,
    Desk,
    FactorReturn,
    Instrument,
    MarketEvent,
    MarketTrade,
    Order,
    OrderEvent,
    Portfolio,
    Position,
    PriceBar,
    Quote,
    Trade,
)


def _code(field: str, *, null: bool = False) -> serializers.SlugRelatedField:  # type: ignore[type-arg]
    """A reference shown by its code rather than its id; ``null`` for an optional reference, so
    the schema says the value may be null."""
    return serializers.SlugRelatedField(slug_field=field, read_only=True, allow_null=null)


class InstrumentSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    underlying = _code("symbol", null=True)

    class Meta:
        model = Instrument
        fields = [
            "id",
            "symbol",
            "name",
            "kind",
            "currency",
            "sector",
            "country",
            "isin",
            "tick_size",
            "lot_size",
            "multiplier",
            "underlying",
            "strike",
            "expiry",
            "option_right",
            "is_active",
        ]


class PriceBarSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    instrument = _code("symbol")

    class Meta:
        model = PriceBar
        fields = ["id", "instrument", "date", "open", "high", "low", "close", "adj_close", "volume", "source"]


class QuoteSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    instrument = _code("symbol")

    class Meta:
        model = Quote
        fields = ["id", "instrument", "ts", "venue", "bid", "ask", "bid_size", "ask_size"]


class MarketTradeSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    instrument = _code("symbol")

    class Meta:
        model = MarketTrade
        fields = ["id", "instrument", "ts", "venue", "tape_id", "price", "quantity"]


class MarketEventSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    instrument = _code("symbol")

    class Meta:
        model = MarketEvent
        fields = ["id", "instrument", "ts", "event_type", "headline", "price_sensitive"]


class FactorReturnSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = FactorReturn
        fields = ["id", "factor", "frequency", "period_end", "value", "source"]


class DeskSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Desk
        fields = ["id", "code", "name"]


class BeneficialOwnerSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = BeneficialOwner
        fields = ["id", "code", "name", "kind", "is_employee"]


class PortfolioSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    desk = _code("code")

    class Meta:
        model = Portfolio
        fields = ["id", "code", "name", "desk", "base_currency", "nav", "halted"]


class AccountSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    owner = _code("code")
    desk = _code("code")
    portfolio = _code("code", null=True)
    linked_accounts = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Account
        fields = ["id", "code", "name", "kind", "owner", "desk", "portfolio", "linked_accounts"]


class PositionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    portfolio = _code("code")
    instrument = _code("symbol")

    class Meta:
        model = Position
        fields = ["id", "portfolio", "instrument", "as_of", "kind", "quantity", "cost_basis"]


class OrderSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    account = _code("code")
    instrument = _code("symbol")
    parent = _code("client_order_id", null=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "client_order_id",
            "parent",
            "account",
            "instrument",
            "side",
            "order_type",
            "limit_price",
            "quantity",
            "time_in_force",
            "venue",
            "broker",
            "arrival_ts",
        ]


class OrderEventSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    order = _code("client_order_id")

    class Meta:
        model = OrderEvent
        fields = ["id", "order", "sequence", "event_type", "ts", "price", "quantity", "reason"]


class TradeSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    account = _code("code")
    counterparty_account = _code("code", null=True)
    instrument = _code("symbol")
    order = _code("client_order_id", null=True)

    class Meta:
        model = Trade
        fields = [
            "id",
            "trade_id",
            "order",
            "account",
            "counterparty_account",
            "instrument",
            "side",
            "price",
            "quantity",
            "venue",
            "broker",
            "commission",
            "ts",
        ]
