"""The shared model's invariants are enforced by the database itself, not only by code.

Each case writes one bad row through the ORM's plain ``create`` (no validation in Python) and
expects PostgreSQL to refuse it, naming the constraint we declared.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import DataError, IntegrityError, transaction

from portfolios import models as m
from tests.factories import (
    AccountFactory,
    InstrumentFactory,
    OrderFactory,
    PortfolioFactory,
    PositionFactory,
    PriceBarFactory,
    TradeFactory,
)

pytestmark = pytest.mark.django_db

TS = datetime(2022, 12, 28, 14, 30, tzinfo=UTC)
DAY = date(2022, 12, 28)


@pytest.fixture
def base(desk) -> dict[str, Any]:
    aapl = InstrumentFactory(symbol="AAPL", isin="US0378331005")
    account = AccountFactory(code="ACC1", desk=desk)
    order = OrderFactory(client_order_id="ORD1", account=account, instrument=aapl)
    return {
        "aapl": aapl,
        "account": account,
        "portfolio": PortfolioFactory(code="PF1", desk=desk),
        "order": order,
    }


def _option(b: dict[str, Any], **kw: Any) -> m.Instrument:
    fields = {
        "symbol": "OPT",
        "kind": "option",
        "underlying": b["aapl"],
        "strike": Decimal(150),
        "expiry": DAY,
        "option_right": "call",
    } | kw
    return m.Instrument.objects.create(**fields)


def _quote(b: dict[str, Any], **kw: Any) -> m.Quote:
    fields = {
        "instrument": b["aapl"],
        "ts": TS,
        "venue": "X",
        "bid": Decimal(10),
        "ask": Decimal(11),
        "bid_size": 1,
        "ask_size": 1,
    } | kw
    return m.Quote.objects.create(**fields)


def _order(b: dict[str, Any], **kw: Any) -> m.Order:
    fields = {
        "client_order_id": "O2",
        "account": b["account"],
        "instrument": b["aapl"],
        "side": "buy",
        "order_type": "limit",
        "limit_price": Decimal(1),
        "quantity": Decimal(1),
        "arrival_ts": TS,
    } | kw
    return m.Order.objects.create(**fields)


def _event(b: dict[str, Any], **kw: Any) -> m.OrderEvent:
    fields = {
        "order": b["order"],
        "sequence": 1,
        "event_type": "fill",
        "ts": TS,
        "price": Decimal(1),
        "quantity": Decimal(1),
    } | kw
    return m.OrderEvent.objects.create(**fields)


def _trade(b: dict[str, Any], **kw: Any) -> m.Trade:
    fields = {
        "trade_id": "T2",
        "account": b["account"],
        "instrument": b["aapl"],
        "side": "buy",
        "price": Decimal(1),
        "quantity": Decimal(1),
        "ts": TS,
    } | kw
    return m.Trade.objects.create(**fields)


def _bar(b: dict[str, Any], **kw: Any) -> m.PriceBar:
    fields = {"instrument": b["aapl"], "date": DAY, "close": Decimal(1), "adj_close": Decimal(1)} | kw
    return m.PriceBar.objects.create(**fields)


def _tape(b: dict[str, Any], **kw: Any) -> m.MarketTrade:
    fields = {
        "instrument": b["aapl"],
        "ts": TS,
        "venue": "X",
        "tape_id": "1",
        "price": Decimal(1),
        "quantity": Decimal(1),
    } | kw
    return m.MarketTrade.objects.create(**fields)


# id -> (how to write the bad row, constraint name expected in the error; "" when any unique key)
VIOLATIONS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "instrument-duplicate-symbol": (
        lambda b: InstrumentFactory._meta.model.objects.create(symbol="AAPL", kind="equity"),
        "",
    ),
    "instrument-duplicate-isin": (
        lambda b: m.Instrument.objects.create(symbol="X", kind="equity", isin="US0378331005"),
        "",
    ),
    "instrument-tick-size-zero": (
        lambda b: m.Instrument.objects.create(symbol="X", kind="equity", tick_size=0),
        "instrument_tick_size_positive",
    ),
    "instrument-lot-size-zero": (
        lambda b: m.Instrument.objects.create(symbol="X", kind="equity", lot_size=0),
        "instrument_lot_size_positive",
    ),
    "instrument-multiplier-negative": (
        lambda b: m.Instrument.objects.create(symbol="X", kind="equity", multiplier=-1),
        "instrument_multiplier_positive",
    ),
    "option-without-strike": (lambda b: _option(b, strike=None), "instrument_option_terms_complete"),
    "option-zero-strike": (lambda b: _option(b, strike=0), "instrument_option_terms_complete"),
    "option-without-underlying": (lambda b: _option(b, underlying=None), "instrument_option_terms_complete"),
    "option-without-expiry": (lambda b: _option(b, expiry=None), "instrument_option_terms_complete"),
    "option-without-right": (lambda b: _option(b, option_right=""), "instrument_option_terms_complete"),
    "equity-with-right": (
        lambda b: m.Instrument.objects.create(symbol="X", kind="equity", option_right="put"),
        "instrument_right_only_for_options",
    ),
    "bar-duplicate": (lambda b: [_bar(b), _bar(b)], "pricebar_unique_instrument_date"),
    "bar-zero-close": (lambda b: _bar(b, close=0), "pricebar_close_positive"),
    "bar-negative-adj-close": (lambda b: _bar(b, adj_close=-1), "pricebar_close_positive"),
    "bar-high-below-low": (lambda b: _bar(b, high=1, low=2), "pricebar_high_gte_low"),
    "bar-negative-volume": (lambda b: _bar(b, volume=-1), "pricebar_volume_nonneg"),
    "quote-ask-below-bid": (lambda b: _quote(b, bid=11, ask=10), "quote_ask_gte_bid_positive"),
    "quote-zero-bid": (lambda b: _quote(b, bid=0, ask=1), "quote_ask_gte_bid_positive"),
    "quote-negative-size": (lambda b: _quote(b, ask_size=-1), "quote_sizes_nonneg"),
    "quote-duplicate": (lambda b: [_quote(b), _quote(b)], "quote_unique_instrument_ts_venue"),
    "tape-zero-price": (lambda b: _tape(b, price=0), "markettrade_positive"),
    "tape-negative-quantity": (lambda b: _tape(b, quantity=-1), "markettrade_positive"),
    "tape-duplicate": (lambda b: [_tape(b), _tape(b, ts=TS.replace(minute=31))], "markettrade_unique_venue_tape_id"),
    "portfolio-negative-nav": (lambda b: PortfolioFactory(code="PFN", nav=-1), "portfolio_nav_nonneg"),
    "portfolio-duplicate-code": (
        lambda b: m.Portfolio.objects.create(code="PF1", name="x", desk=b["portfolio"].desk),
        "",
    ),
    "account-duplicate-code": (
        lambda b: m.Account.objects.create(
            code="ACC1", kind="client", owner=b["account"].owner, desk=b["account"].desk
        ),
        "",
    ),
    "position-duplicate": (
        lambda b: [PositionFactory(portfolio=b["portfolio"], instrument=b["aapl"]) for _ in range(2)],
        "position_unique_per_day_kind",
    ),
    "order-zero-quantity": (lambda b: _order(b, quantity=0), "order_quantity_positive"),
    "order-negative-quantity": (lambda b: _order(b, quantity=-1), "order_quantity_positive"),
    "limit-order-without-limit-price": (lambda b: _order(b, limit_price=None), "order_limit_price_matches_type"),
    "limit-order-zero-limit-price": (lambda b: _order(b, limit_price=0), "order_limit_price_matches_type"),
    "market-order-with-limit-price": (lambda b: _order(b, order_type="market"), "order_limit_price_matches_type"),
    "order-duplicate-client-order-id": (lambda b: _order(b, client_order_id="ORD1"), ""),
    "fill-without-price": (lambda b: _event(b, price=None), "orderevent_fill_has_price_quantity"),
    "partial-fill-without-quantity": (
        lambda b: _event(b, event_type="partial_fill", quantity=None),
        "orderevent_fill_has_price_quantity",
    ),
    "event-zero-price": (lambda b: _event(b, event_type="replace", price=0), "orderevent_price_positive"),
    "event-negative-quantity": (lambda b: _event(b, event_type="replace", quantity=-1), "orderevent_quantity_positive"),
    "event-duplicate-sequence": (lambda b: [_event(b), _event(b)], "orderevent_unique_order_sequence"),
    "trade-zero-price": (lambda b: _trade(b, price=0), "trade_price_quantity_positive"),
    "trade-negative-quantity": (lambda b: _trade(b, quantity=-5), "trade_price_quantity_positive"),
    "trade-negative-commission": (lambda b: _trade(b, commission=Decimal("-0.01")), "trade_commission_nonneg"),
    "trade-counterparty-is-self": (
        lambda b: _trade(b, counterparty_account=b["account"]),
        "trade_counterparty_not_self",
    ),
    "trade-duplicate-trade-id": (lambda b: [_trade(b), _trade(b)], ""),
    "market-event-duplicate": (
        lambda b: [
            m.MarketEvent.objects.create(instrument=b["aapl"], ts=TS, event_type="news", headline=h) for h in "ab"
        ],
        "marketevent_unique",
    ),
    "factor-return-duplicate": (
        lambda b: [m.FactorReturn.objects.create(factor="SMB", frequency="D", period_end=DAY, value=v) for v in (0, 1)],
        "factorreturn_unique",
    ),
}


@pytest.mark.parametrize(
    ("write", "constraint"),
    [pytest.param(*v, id=k) for k, v in VIOLATIONS.items()],
)
def test_given_row_breaking_an_invariant_when_written_then_database_refuses_it(base, write, constraint):

    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        write(base)

    if constraint:
        assert refused.value.__cause__.diag.constraint_name == constraint


@pytest.mark.parametrize(
    "write",
    [
        lambda b: _trade(b, price=Decimal("1e12")),  # NUMERIC(20, 8): 12 integer digits at most
        lambda b: _trade(b, quantity=Decimal("1e18")),  # NUMERIC(24, 6)
        lambda b: _trade(b, trade_id="T" * 65),  # varchar(64)
    ],
    ids=["price-overflow", "quantity-overflow", "trade-id-too-long"],
)
def test_given_value_too_large_for_its_column_then_database_refuses_it(base, write):
    with pytest.raises(DataError), transaction.atomic():
        write(base)


def test_given_valid_rows_then_constraints_allow_them(base):
    """The constraints are not over-tight: the edge values the model allows are stored."""
    _option(base)
    _quote(base, bid=10, ask=10, bid_size=0, ask_size=0)  # locked market, empty sizes
    _order(base, client_order_id="MKT", order_type="market", limit_price=None)
    _event(base, event_type="cancel", price=None, quantity=None)
    _trade(base, commission=0)
    _bar(base, high=None, low=None, volume=0)
    PositionFactory(portfolio=base["portfolio"], instrument=base["aapl"], quantity=Decimal(-5))
    PositionFactory(portfolio=base["portfolio"], instrument=base["aapl"], kind=m.Position.Kind.SNAPSHOT)
    PriceBarFactory(instrument=base["aapl"], date=date(2022, 12, 29))
    TradeFactory(
        trade_id="T3",
        account=base["account"],
        instrument=base["aapl"],
        counterparty_account=AccountFactory(code="ACC2"),
    )


def _choice_rows() -> dict[str, Any]:
    order = OrderFactory()
    return {
        "instrument": InstrumentFactory(symbol="CHOICE"),
        "account": order.account,
        "owner": order.account.owner,
        "order": order,
        "trade": TradeFactory(account=order.account, instrument=order.instrument),
        "orderevent": m.OrderEvent.objects.create(order=order, sequence=0, event_type="new", ts=order.arrival_ts),
        "marketevent": m.MarketEvent.objects.create(
            instrument=order.instrument, ts=order.arrival_ts, event_type="news", headline="h"
        ),
        "factorreturn": m.FactorReturn.objects.create(
            factor="SMB", frequency="D", period_end=date(2022, 12, 28), value=Decimal("0.01")
        ),
    }


@pytest.mark.parametrize(
    ("row", "field", "constraint"),
    [
        ("instrument", "kind", "instrument_kind_valid"),
        ("account", "kind", "account_kind_valid"),
        ("owner", "kind", "owner_kind_valid"),
        ("order", "side", "order_side_valid"),
        # An unknown type also fails the limit-price rule; either constraint may be reported first.
        ("order", "order_type", "order_type_valid|order_limit_price_matches_type"),
        ("order", "time_in_force", "order_tif_valid"),
        ("trade", "side", "trade_side_valid"),
        ("orderevent", "event_type", "orderevent_type_valid"),
        ("marketevent", "event_type", "marketevent_type_valid"),
        ("factorreturn", "frequency", "factorreturn_frequency_valid"),
    ],
)
def test_choice_fields_are_enforced_by_the_database(row, field, constraint):
    """Given a valid row, when a choice field is set outside its choices by a path around the
    API (a queryset update), then the database refuses it, naming the constraint."""
    obj = _choice_rows()[row]
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        type(obj).objects.filter(pk=obj.pk).update(**{field: "x"})
