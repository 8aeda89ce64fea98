"""Loading detection inputs from PostgreSQL: conventions of ``surveillance.inputs``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from portfolios.models import Account, OrderEvent
from surveillance.engine.types import AccountKind, EventKind
from surveillance.inputs import accounts_load, surveillance_data_load
from tests.factories import AccountFactory, InstrumentFactory, OrderFactory, OwnerFactory, TradeFactory

T0 = datetime(2022, 12, 28, 14, 30, 0, 123456, tzinfo=UTC)


def _us(dt: datetime) -> int:
    return int((dt - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def _event(order, seq, kind, ts, price=None, qty=None):
    return OrderEvent.objects.create(order=order, sequence=seq, event_type=kind, ts=ts, price=price, quantity=qty)


@pytest.fixture
def book(db):
    inst = InstrumentFactory(symbol="ABC")
    acc = AccountFactory(code="A1")
    # given a limit order that is replaced to a larger size, partly filled, then cancelled
    order = OrderFactory(account=acc, instrument=inst, side="sell", limit_price=Decimal("101"), quantity=Decimal("500"))
    _event(order, 1, "new", T0, Decimal("101"), Decimal("500"))
    _event(order, 2, "replace", T0 + timedelta(seconds=1), Decimal("100.5"), Decimal("800"))
    _event(order, 3, "partial_fill", T0 + timedelta(seconds=2), Decimal("100.5"), Decimal("300"))
    _event(order, 4, "cancel", T0 + timedelta(seconds=3))
    # and a parent whose fills mirror its child's: only the child reaches the market
    parent = OrderFactory(account=acc, instrument=inst, quantity=Decimal("100"))
    _event(parent, 1, "new", T0, Decimal("100"), Decimal("100"))
    child = OrderFactory(account=acc, instrument=inst, quantity=Decimal("100"), parent=parent)
    _event(child, 1, "new", T0 + timedelta(seconds=4), Decimal("100"), Decimal("100"))
    TradeFactory(account=acc, instrument=inst, side="sell", ts=T0 + timedelta(seconds=2), order=order)
    return order, child


def test_order_events_follow_the_engine_conventions(book):
    order, child = book
    # when the window is loaded
    data = surveillance_data_load(since=T0 - timedelta(minutes=1), until=T0 + timedelta(minutes=1))
    o = data.orders
    # then the parent is left out, times are exact microseconds and sides are signed
    assert set(o.order_id.tolist()) == {order.pk, child.pk}
    rows = o.order_id == order.pk
    assert o.ts_us[rows][0] == _us(T0)
    assert (o.side[rows] == -1).all()
    assert o.kind[rows].tolist() == [EventKind.NEW, EventKind.REPLACE, EventKind.PARTIAL_FILL, EventKind.CANCEL]
    # the replace sets the size in force; the cancel removes what was still open (800 - 300)
    assert o.order_quantity[rows].tolist() == [500.0, 800.0, 800.0, 800.0]
    assert o.quantity[rows].tolist() == [500.0, 800.0, 300.0, 500.0]
    # the cancel carries the limit in force after the replace
    assert o.price[rows].tolist() == [101.0, 100.5, 100.5, 100.5]
    assert np.all(np.diff(o.ts_us) >= 0)
    assert len(data.trades) == 1 and data.trades.counterparty[0] == -1 and data.trades.side[0] == -1


def test_groups_join_same_owner_and_linked_accounts(db):
    # given two accounts of one owner, a third linked to the second, and an unrelated fourth
    owner = OwnerFactory(code="O1", is_employee=True)
    a = AccountFactory(code="G1", owner=owner)
    b = AccountFactory(code="G2", owner=owner, kind=Account.Kind.PROPRIETARY)
    c = AccountFactory(code="G3")
    d = AccountFactory(code="G4", kind=Account.Kind.MARKET_MAKER)
    b.linked_accounts.add(c)
    # when accounts are loaded
    acc = accounts_load()
    group = dict(zip(acc.account_id.tolist(), acc.group.tolist(), strict=True))
    # then a, b and c share one economic group and d has its own
    assert group[a.pk] == group[b.pk] == group[c.pk] != group[d.pk]
    kinds = dict(zip(acc.account_id.tolist(), acc.kind.tolist(), strict=True))
    assert kinds[b.pk] == AccountKind.PROPRIETARY and kinds[d.pk] == AccountKind.MARKET_MAKER
    employee = dict(zip(acc.account_id.tolist(), acc.is_employee.tolist(), strict=True))
    assert employee[a.pk] and not employee[d.pk]


def test_an_empty_window_loads_empty_tables(book):
    data = surveillance_data_load(since=T0 + timedelta(days=5), until=T0 + timedelta(days=6))
    assert len(data.orders) == 0 and len(data.trades) == 0 and len(data.tape) == 0
