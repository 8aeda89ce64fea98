"""Happy paths: every ingestion endpoint accepts a valid batch, writes it, audits it, and the
rows read back through the same endpoint's GET with the values that were sent."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from audit.models import AuditEvent
from portfolios import models as m
from portfolios.ingest import SPECS
from tests.portfolios.api.conftest import post_rows

pytestmark = pytest.mark.django_db

# entity spec name -> (URL segment, rows to post, GET query string, field used to match rows)
CASES: dict[str, tuple[str, list[dict[str, Any]], str, str]] = {
    "instruments": (
        "instruments",
        [
            {
                "symbol": "NVDA",
                "name": "NVIDIA",
                "kind": "equity",
                "sector": "Semis",
                "country": "US",
                "isin": "US67066G1040",
                "tick_size": "0.01",
                "lot_size": 1,
            },
            # An option on an instrument of an earlier batch, and one on an instrument of this batch.
            {
                "symbol": "AAPL-C150",
                "kind": "option",
                "underlying": "AAPL",
                "strike": "150",
                "expiry": "2023-01-20",
                "option_right": "call",
                "multiplier": 100,
            },
            {
                "symbol": "NVDA-P100",
                "kind": "option",
                "underlying": "NVDA",
                "strike": 100.5,
                "expiry": "2023-03-17",
                "option_right": "put",
                "multiplier": "100",
            },
        ],
        "",
        "symbol",
    ),
    "price_bars": (
        "price-bars",
        [
            {
                "instrument": "AAPL",
                "date": "2022-12-27",
                "open": "131.38",
                "high": "131.41",
                "low": "128.72",
                "close": "130.03",
                "adj_close": "129.50",
                "volume": 69007800,
                "source": "vendor",
            },
            {"instrument": "MSFT", "date": "2022-12-27", "close": 236.96, "adj_close": 235.1},
        ],
        "?date_after=2022-12-27",
        "instrument",
    ),
    "quotes": (
        "quotes",
        [
            {
                "instrument": "AAPL",
                "ts": "2022-12-28T14:30:00.000001Z",
                "venue": "XNAS",
                "bid": "129.99",
                "ask": "130.01",
                "bid_size": "300",
                "ask_size": "200",
            },
            {
                "instrument": "AAPL",
                "ts": "2022-12-28T09:30:00.000002-05:00",
                "venue": "XNAS",
                "bid": "130",
                "ask": "130",
                "bid_size": 0,
                "ask_size": 100,
            },
        ],
        "?instrument=AAPL",
        "ts",
    ),
    "market_trades": (
        "market-trades",
        [
            {
                "instrument": "AAPL",
                "ts": "2022-12-28T14:30:01.5Z",
                "venue": "XNAS",
                "tape_id": "X-1",
                "price": "130.00",
                "quantity": "100",
            },
            {
                "instrument": "MSFT",
                "ts": "2022-12-28T14:30:02Z",
                "venue": "XNAS",
                "tape_id": "X-2",
                "price": 236.5,
                "quantity": 0.5,
            },
        ],
        "",
        "tape_id",
    ),
    "events": (
        "events",
        [
            {
                "instrument": "AAPL",
                "ts": "2022-12-29T21:00:00Z",
                "event_type": "earnings",
                "headline": "AAPL beats",
                "price_sensitive": True,
            },
            {"instrument": "MSFT", "ts": "2022-12-29T21:00:00Z", "event_type": "news", "headline": "MSFT news"},
        ],
        "",
        "headline",
    ),
    "factor_returns": (
        "factor-returns",
        [
            {
                "factor": "Mkt-RF",
                "frequency": "D",
                "period_end": "2022-12-28",
                "value": "-0.0123456789",
                "source": "ff",
            },
            {"factor": "SMB", "frequency": "M", "period_end": "2022-12-31", "value": 0.0042},
        ],
        "",
        "factor",
    ),
    "desks": ("desks", [{"code": "FI", "name": "Fixed income"}, {"code": "FX", "name": "FX"}], "", "code"),
    "beneficial_owners": (
        "beneficial-owners",
        # Owners are personal data: the client reads back only owners of accounts it can see,
        # so the read-back below first opens an account for each (see test body).
        [
            {"code": "BO-NEW", "name": "New Owner", "kind": "entity", "is_employee": True},
            {"code": "BO-NEW2", "name": "Second Owner"},
        ],
        "",
        "code",
    ),
    "portfolios": (
        "portfolios",
        [
            {"code": "PF-NEW", "name": "New book", "desk": "EQ", "base_currency": "EUR", "nav": "2500000.50"},
            {"code": "PF-NEW2", "name": "Second book", "desk": "EQ"},
        ],
        "?desk=EQ",
        "code",
    ),
    "accounts": (
        "accounts",
        [
            # Linked both to an account of an earlier batch and to one of this batch.
            {
                "code": "ACC-A",
                "name": "A",
                "kind": "client",
                "owner": "BO1",
                "desk": "EQ",
                "portfolio": "PF1",
                "linked_accounts": ["ACC1", "ACC-B"],
            },
            {"code": "ACC-B", "kind": "proprietary", "owner": "BO1", "desk": "EQ"},
        ],
        "?desk=EQ",
        "code",
    ),
    "positions": (
        "positions",
        [
            {
                "portfolio": "PF1",
                "instrument": "AAPL",
                "as_of": "2022-12-27",
                "quantity": "1500",
                "cost_basis": "190000.1234",
            },
            {"portfolio": "PF1", "instrument": "MSFT", "as_of": "2022-12-27", "quantity": "-200.5"},
        ],
        "?portfolio=PF1",
        "instrument",
    ),
    "orders": (
        "orders",
        [
            # A child whose parent comes later in the same batch, and one whose parent (ORD1) is
            # from an earlier batch.
            {
                "client_order_id": "CHILD-1",
                "parent": "PARENT-1",
                "account": "ACC1",
                "instrument": "MSFT",
                "side": "sell",
                "order_type": "limit",
                "limit_price": "240",
                "quantity": "50",
                "arrival_ts": "2022-12-28T15:00:00.000001Z",
                "venue": "XNAS",
            },
            {
                "client_order_id": "PARENT-1",
                "account": "ACC1",
                "instrument": "MSFT",
                "side": "sell",
                "order_type": "market",
                "quantity": "100",
                "time_in_force": "gtc",
                "arrival_ts": "2022-12-28T14:59:00Z",
                "broker": "GS",
            },
            {
                "client_order_id": "CHILD-2",
                "parent": "ORD1",
                "account": "ACC1",
                "instrument": "AAPL",
                "side": "buy",
                "order_type": "limit",
                "limit_price": 99.5,
                "quantity": 10,
                "arrival_ts": "2022-12-28T14:35:00Z",
            },
        ],
        "?account=ACC1",
        "client_order_id",
    ),
    "order_events": (
        "order-events",
        [
            {"order": "ORD1", "sequence": 0, "event_type": "new", "ts": "2022-12-28T14:30:00Z"},
            {
                "order": "ORD1",
                "sequence": 1,
                "event_type": "partial_fill",
                "ts": "2022-12-28T14:30:00.5Z",
                "price": "100",
                "quantity": "40",
            },
            {
                "order": "ORD1",
                "sequence": 2,
                "event_type": "cancel",
                "ts": "2022-12-28T14:31:00Z",
                "reason": "client request",
            },
        ],
        "?order=ORD1",
        "sequence",
    ),
    "trades": (
        "trades",
        [
            {
                "trade_id": "T-1",
                "order": "ORD1",
                "account": "ACC1",
                "instrument": "AAPL",
                "side": "buy",
                "price": "100.12345678",
                "quantity": "40",
                "commission": "1.25",
                "venue": "XNAS",
                "ts": "2022-12-28T14:30:00.500000Z",
            },
            {
                "trade_id": "T-2",
                "account": "ACC1",
                "counterparty_account": "ACC2",
                "instrument": "MSFT",
                "side": "sell",
                "price": 236,
                "quantity": 1,
                "ts": "2022-12-28T14:32:00+01:00",
            },
        ],
        "?account=ACC1",
        "trade_id",
    ),
}


def test_every_ingestible_entity_has_a_happy_path_case():
    assert set(CASES) == set(SPECS)


def _same(sent: Any, read: Any) -> bool:
    """Compare a sent JSON value with the value read back (decimals as strings, µs timestamps)."""
    if isinstance(sent, list):
        return sorted(sent) == sorted(read)
    if isinstance(sent, bool) or sent is None:
        return sent == read
    if isinstance(sent, int | float) or (isinstance(read, str) and _is_number(read) and _is_number(str(sent))):
        return Decimal(str(sent)) == Decimal(str(read))
    if isinstance(sent, str) and "T" in sent and sent[:4].isdigit():
        return datetime.fromisoformat(sent) == datetime.fromisoformat(read)
    return sent == read


def _key(value: Any) -> Any:
    """A matching key: timestamps compared as instants, everything else as text."""
    if isinstance(value, str) and "T" in value and value[:4].isdigit():
        return datetime.fromisoformat(value)
    return str(value)


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


@pytest.mark.parametrize("entity", list(CASES))
def test_given_valid_batch_when_posted_then_created_audited_and_read_back(entity, oms, world):
    segment, rows, query, match = CASES[entity]
    spec = SPECS[entity]
    before = spec.model.objects.count()

    response = post_rows(oms, segment, rows)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {
        "entity": entity,
        "received": len(rows),
        "created": len(rows),
        "existing": 0,
        "audit_event_id": body["audit_event_id"],
    }
    assert spec.model.objects.count() == before + len(rows)
    event = AuditEvent.objects.get(pk=body["audit_event_id"])
    assert event.action == f"ingest.{entity}"
    assert event.parameters["created"] == len(rows)

    if entity == "beneficial_owners":
        opened = [{"code": f"ACC-{r['code']}", "kind": "client", "owner": r["code"], "desk": "EQ"} for r in rows]
        assert post_rows(oms, "accounts", opened).status_code == 201

    listing = oms.get(f"/api/v1/{segment}{query}")
    assert listing.status_code == 200, listing.content
    read = {_key(r[match]): r for r in listing.json()["results"]}
    for sent in rows:
        got = read[_key(sent[match])]
        for name, value in sent.items():
            assert _same(value, got[name]), (name, value, got[name])
        detail = oms.get(f"/api/v1/{segment}/{got['id']}")
        assert detail.status_code == 200
        assert detail.json() == got


def test_given_new_desk_when_created_then_client_joins_it_and_can_book_on_it(oms, oms_user):
    assert post_rows(oms, "desks", [{"code": "NEWDESK", "name": "New"}]).status_code == 201

    assert m.Desk.objects.get(code="NEWDESK").members.filter(pk=oms_user.pk).exists()
    response = post_rows(oms, "portfolios", [{"code": "PF-ND", "name": "On the new desk", "desk": "NEWDESK"}])
    assert response.status_code == 201, response.content


def test_given_linked_accounts_when_ingested_then_links_are_symmetric(oms, world):
    rows = CASES["accounts"][1]
    assert post_rows(oms, "accounts", rows).status_code == 201

    a = m.Account.objects.get(code="ACC-A")
    assert set(a.linked_accounts.values_list("code", flat=True)) == {"ACC1", "ACC-B"}
    assert set(world.account.linked_accounts.values_list("code", flat=True)) == {"ACC-A"}
    assert set(m.Account.objects.get(code="ACC-B").linked_accounts.values_list("code", flat=True)) == {"ACC-A"}


def test_given_orders_with_parents_when_ingested_then_parents_resolve(oms, world):
    assert post_rows(oms, "orders", CASES["orders"][1]).status_code == 201

    assert m.Order.objects.get(client_order_id="CHILD-1").parent.client_order_id == "PARENT-1"
    assert m.Order.objects.get(client_order_id="CHILD-2").parent_id == world.order.pk
    assert m.Order.objects.get(client_order_id="PARENT-1").parent_id is None


def test_given_timestamps_with_offsets_when_ingested_then_stored_in_utc_with_microseconds(oms, world):
    assert post_rows(oms, "trades", CASES["trades"][1]).status_code == 201

    t1, t2 = m.Trade.objects.order_by("trade_id")
    assert t1.ts.isoformat() == "2022-12-28T14:30:00.500000+00:00"
    assert t2.ts.isoformat() == "2022-12-28T13:32:00+00:00"
    assert oms.get(f"/api/v1/trades/{t1.pk}").json()["ts"] == "2022-12-28T14:30:00.500000Z"
