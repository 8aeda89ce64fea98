"""Filter sets shared by the API viewsets and the browser list views."""

from __future__ import annotations

import django_filters as df

from core.filters import UtcIsoDateTimeFilter
from portfolios.models import (
    Account,
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


class _TimeRange(df.FilterSet):
    """``ts_after`` (inclusive) and ``ts_before`` (exclusive), ISO 8601 with offset."""

    ts_after = UtcIsoDateTimeFilter(field_name="ts", lookup_expr="gte")
    ts_before = UtcIsoDateTimeFilter(field_name="ts", lookup_expr="lt")


class InstrumentFilterSet(df.FilterSet):
    symbol = df.CharFilter()
    underlying = df.CharFilter(field_name="underlying__symbol")

    class Meta:
        model = Instrument
        fields = ["symbol", "kind", "currency", "sector", "country", "is_active"]


class PriceBarFilterSet(df.FilterSet):
    instrument = df.CharFilter(field_name="instrument__symbol")
    date_after = df.DateFilter(field_name="date", lookup_expr="gte")
    date_before = df.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = PriceBar
        fields = ["instrument", "source"]


class QuoteFilterSet(_TimeRange):
    instrument = df.CharFilter(field_name="instrument__symbol")

    class Meta:
        model = Quote
        fields = ["instrument", "venue"]


class MarketTradeFilterSet(_TimeRange):
    instrument = df.CharFilter(field_name="instrument__symbol")

    class Meta:
        model = MarketTrade
        fields = ["instrument", "venue"]


class MarketEventFilterSet(_TimeRange):
    instrument = df.CharFilter(field_name="instrument__symbol")

    class Meta:
        model = MarketEvent
        fields = ["instrument", "event_type", "price_sensitive"]


class FactorReturnFilterSet(df.FilterSet):
    period_after = df.DateFilter(field_name="period_end", lookup_expr="gte")
    period_before = df.DateFilter(field_name="period_end", lookup_expr="lte")

    class Meta:
        model = FactorReturn
        fields = ["factor", "frequency"]


class PortfolioFilterSet(df.FilterSet):
    desk = df.CharFilter(field_name="desk__code")

    class Meta:
        model = Portfolio
        fields = ["desk", "base_currency", "halted"]


class AccountFilterSet(df.FilterSet):
    desk = df.CharFilter(field_name="desk__code")
    owner = df.CharFilter(field_name="owner__code")
    portfolio = df.CharFilter(field_name="portfolio__code")

    class Meta:
        model = Account
        fields = ["desk", "owner", "portfolio", "kind"]


class PositionFilterSet(df.FilterSet):
    portfolio = df.CharFilter(field_name="portfolio__code")
    instrument = df.CharFilter(field_name="instrument__symbol")

    class Meta:
        model = Position
        fields = ["portfolio", "instrument", "as_of", "kind"]


class OrderFilterSet(df.FilterSet):
    account = df.CharFilter(field_name="account__code")
    instrument = df.CharFilter(field_name="instrument__symbol")
    parent = df.CharFilter(field_name="parent__client_order_id")
    arrival_after = UtcIsoDateTimeFilter(field_name="arrival_ts", lookup_expr="gte")
    arrival_before = UtcIsoDateTimeFilter(field_name="arrival_ts", lookup_expr="lt")

    class Meta:
        model = Order
        fields = ["account", "instrument", "parent", "side", "order_type", "venue", "broker"]


class OrderEventFilterSet(_TimeRange):
    order = df.CharFilter(field_name="order__client_order_id")
    account = df.CharFilter(field_name="order__account__code")

    class Meta:
        model = OrderEvent
        fields = ["order", "account", "event_type"]


class TradeFilterSet(_TimeRange):
    account = df.CharFilter(field_name="account__code")
    instrument = df.CharFilter(field_name="instrument__symbol")
    order = df.CharFilter(field_name="order__client_order_id")

    class Meta:
        model = Trade
        fields = ["account", "instrument", "order", "side", "venue", "broker"]
