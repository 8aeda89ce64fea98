"""API viewsets of the shared model: GET list/detail with filters, POST bulk ingestion."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view

from core.api.ingest import IngestViewSet, ingest_schema
from portfolios import filters, selectors
from portfolios import ingest as specs
from portfolios.api import serializers as s
from portfolios.models import FactorReturn, Instrument, MarketEvent, MarketTrade, PriceBar, Quote


def _schema(spec: Any, label: str) -> Any:
    return extend_schema_view(
        list=extend_schema(summary=f"List {label}"),
        retrieve=extend_schema(summary=f"Read one of {label}"),
        create=ingest_schema(spec),
    )


@_schema(specs.INSTRUMENTS, "instruments")
class InstrumentViewSet(IngestViewSet):
    spec = specs.INSTRUMENTS
    serializer_class = s.InstrumentSerializer
    filterset_class = filters.InstrumentFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return Instrument.objects.select_related("underlying")


@_schema(specs.PRICE_BARS, "daily price bars")
class PriceBarViewSet(IngestViewSet):
    spec = specs.PRICE_BARS
    serializer_class = s.PriceBarSerializer
    filterset_class = filters.PriceBarFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return PriceBar.objects.select_related("instrument")


@_schema(specs.QUOTES, "quotes")
class QuoteViewSet(IngestViewSet):
    spec = specs.QUOTES
    serializer_class = s.QuoteSerializer
    filterset_class = filters.QuoteFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return Quote.objects.select_related("instrument")


@_schema(specs.MARKET_TRADES, "market trades (the public tape)")
class MarketTradeViewSet(IngestViewSet):
    spec = specs.MARKET_TRADES
    serializer_class = s.MarketTradeSerializer
    filterset_class = filters.MarketTradeFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return MarketTrade.objects.select_related("instrument")


@_schema(specs.MARKET_EVENTS, "corporate and news events")
class MarketEventViewSet(IngestViewSet):
    spec = specs.MARKET_EVENTS
    serializer_class = s.MarketEventSerializer
    filterset_class = filters.MarketEventFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return MarketEvent.objects.select_related("instrument")


@_schema(specs.FACTOR_RETURNS, "factor returns")
class FactorReturnViewSet(IngestViewSet):
    spec = specs.FACTOR_RETURNS
    serializer_class = s.FactorReturnSerializer
    filterset_class = filters.FactorReturnFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return FactorReturn.objects.all()


@_schema(specs.DESKS, "desks")
class DeskViewSet(IngestViewSet):
    spec = specs.DESKS
    serializer_class = s.DeskSerializer
    filterset_fields = ["code"]

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.desk_list(user=self.request.user)


@_schema(specs.OWNERS, "beneficial owners")
class BeneficialOwnerViewSet(IngestViewSet):
    spec = specs.OWNERS
    serializer_class = s.BeneficialOwnerSerializer
    filterset_fields = ["code", "kind", "is_employee"]

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.owner_list(user=self.request.user)


@_schema(specs.PORTFOLIOS, "portfolios")
class PortfolioViewSet(IngestViewSet):
    spec = specs.PORTFOLIOS
    serializer_class = s.PortfolioSerializer
    filterset_class = filters.PortfolioFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.portfolio_list(user=self.request.user)


@_schema(specs.ACCOUNTS, "accounts")
class AccountViewSet(IngestViewSet):
    spec = specs.ACCOUNTS
    serializer_class = s.AccountSerializer
    filterset_class = filters.AccountFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.account_list(user=self.request.user).prefetch_related("linked_accounts")


@_schema(specs.POSITIONS, "positions (opening and end-of-day snapshots)")
class PositionViewSet(IngestViewSet):
    spec = specs.POSITIONS
    serializer_class = s.PositionSerializer
    filterset_class = filters.PositionFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.position_list(user=self.request.user)


@_schema(specs.ORDERS, "orders")
class OrderViewSet(IngestViewSet):
    spec = specs.ORDERS
    serializer_class = s.OrderSerializer
    filterset_class = filters.OrderFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.order_list(user=self.request.user)


@_schema(specs.ORDER_EVENTS, "order events")
class OrderEventViewSet(IngestViewSet):
    spec = specs.ORDER_EVENTS
    serializer_class = s.OrderEventSerializer
    filterset_class = filters.OrderEventFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.order_event_list(user=self.request.user)


@_schema(specs.TRADES, "executions (trades)")
class TradeViewSet(IngestViewSet):
    spec = specs.TRADES
    serializer_class = s.TradeSerializer
    filterset_class = filters.TradeFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.trade_list(user=self.request.user)
