"""Reads: cursor pagination walks every row exactly once; filters narrow lists on several endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from portfolios import models as m
from tests.factories import OrderFactory, TradeFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2022, 12, 28, 14, 30, tzinfo=UTC)


def _walk(client: APIClient, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        url = body["next"]
        pages += 1
        assert pages < 100, "pagination does not terminate"
    return rows


@pytest.fixture
def trades(world) -> list[m.Trade]:
    """24 trades a minute apart: AAPL/MSFT alternating, buy/sell every third, on ACC1 and ACC2."""
    made = []
    for i in range(24):
        made.append(
            TradeFactory(
                trade_id=f"T{i:02d}",
                account=world.account if i % 2 == 0 else world.account2,
                instrument=world.aapl if i % 4 < 2 else world.msft,
                side="sell" if i % 3 == 0 else "buy",
                ts=T0 + timedelta(minutes=i),
            )
        )
    TradeFactory(trade_id="FOREIGN", account=world.other_account, instrument=world.aapl, ts=T0)
    return made


def test_given_pages_of_seven_when_following_next_then_every_row_exactly_once_newest_first(oms, trades):
    rows = _walk(oms, "/api/v1/trades?page_size=7")

    ids = [r["id"] for r in rows]
    assert sorted(ids) == sorted(t.pk for t in trades)
    assert ids == sorted(ids, reverse=True)


def test_given_rows_inserted_during_the_walk_then_no_row_is_skipped_or_repeated(oms, trades, world):
    first = oms.get("/api/v1/trades?page_size=5").json()
    TradeFactory(trade_id="LATE", account=world.account, instrument=world.aapl, ts=T0)

    rest = _walk(oms, first["next"])

    ids = [r["id"] for r in first["results"] + rest]
    assert len(ids) == len(set(ids)) == len(trades)


def test_given_filters_on_trades_then_walk_returns_exactly_the_matching_rows(oms, trades):
    url = (
        "/api/v1/trades?page_size=2&instrument=AAPL&account=ACC1&side=buy"
        "&ts_after=2022-12-28T14:34:00Z&ts_before=2022-12-28T14:50:00%2B00:00"
    )

    rows = _walk(oms, url)

    expected = {
        t.trade_id
        for t in trades
        if t.instrument.symbol == "AAPL"
        and t.account.code == "ACC1"
        and t.side == "buy"
        and T0 + timedelta(minutes=4) <= t.ts < T0 + timedelta(minutes=20)
    }
    assert expected  # the filter is not trivially empty
    assert {r["trade_id"] for r in rows} == expected


def test_given_time_range_then_after_is_inclusive_and_before_exclusive(oms, trades):
    rows = oms.get("/api/v1/trades?ts_after=2022-12-28T14:31:00Z&ts_before=2022-12-28T14:33:00Z").json()["results"]

    assert sorted(r["trade_id"] for r in rows) == ["T01", "T02"]


def test_given_offset_in_time_filter_then_instant_is_compared(oms, trades):
    rows = oms.get("/api/v1/trades", {"ts_after": "2022-12-28T15:52:00+01:00"}).json()["results"]

    assert sorted(r["trade_id"] for r in rows) == ["T22", "T23"]


def test_given_other_desks_account_as_filter_then_empty_not_leaked(oms, trades):
    assert oms.get("/api/v1/trades?account=ACC-OTHER").json()["results"] == []
    assert "FOREIGN" not in {r["trade_id"] for r in _walk(oms, "/api/v1/trades")}


def test_given_filters_on_orders_then_side_parent_and_arrival_range_apply(oms, world):
    parent = OrderFactory(client_order_id="P", account=world.account, instrument=world.aapl, arrival_ts=T0)
    for i in range(6):
        OrderFactory(
            client_order_id=f"C{i}",
            parent=parent if i < 4 else None,
            account=world.account,
            instrument=world.aapl,
            side="buy",
            arrival_ts=T0 + timedelta(seconds=i),
        )

    children = _walk(oms, "/api/v1/orders?parent=P&page_size=3")
    ranged = oms.get("/api/v1/orders?arrival_after=2022-12-28T14:30:01Z&arrival_before=2022-12-28T14:30:03Z")
    sells = oms.get("/api/v1/orders?side=sell").json()["results"]

    assert sorted(r["client_order_id"] for r in children) == ["C0", "C1", "C2", "C3"]
    assert sorted(r["client_order_id"] for r in ranged.json()["results"]) == ["C1", "C2"]
    assert sells == []


def test_given_quotes_and_tape_then_instrument_and_time_filters_apply(oms, world):
    for i in range(10):
        instrument = world.aapl if i % 2 == 0 else world.msft
        ts = T0 + timedelta(microseconds=i)
        m.Quote.objects.create(
            instrument=instrument, ts=ts, venue="XNAS", bid=Decimal(10), ask=Decimal(11), bid_size=1, ask_size=1
        )
        m.MarketTrade.objects.create(
            instrument=instrument, ts=ts, venue="XNAS", tape_id=f"X{i}", price=Decimal(10), quantity=1
        )

    quotes = _walk(oms, "/api/v1/quotes?instrument=AAPL&ts_after=2022-12-28T14:30:00.000002Z&page_size=1")
    tape = _walk(oms, "/api/v1/market-trades?instrument=MSFT&ts_before=2022-12-28T14:30:00.000005Z")

    assert sorted(q["ts"] for q in quotes) == [f"2022-12-28T14:30:00.00000{i}Z" for i in (2, 4, 6, 8)]
    assert sorted(t["tape_id"] for t in tape) == ["X1", "X3"]


def test_given_order_events_then_order_and_account_filters_apply(oms, world):
    for seq in range(3):
        m.OrderEvent.objects.create(order=world.order, sequence=seq, event_type="new", ts=T0)
    m.OrderEvent.objects.create(order=world.other_order, sequence=0, event_type="new", ts=T0)

    by_order = oms.get("/api/v1/order-events?order=ORD1").json()["results"]
    by_account = oms.get("/api/v1/order-events?account=ACC1").json()["results"]
    foreign = oms.get("/api/v1/order-events?order=ORD-OTHER").json()["results"]

    assert sorted(e["sequence"] for e in by_order) == [0, 1, 2]
    assert len(by_account) == 3
    assert foreign == []


@pytest.mark.parametrize(
    "query",
    [
        "ts_after=yesterday",
        "ts_before=2022-13-45T00:00:00Z",
        "side=short",
        "cursor=not-a-cursor",
        "cursor=%00",
        "cursor=cD1hYmM%3D",  # base64 of "p=abc": a forged position that is not an id (was a 500)
        "ts_after=9999-12-31T23:59:59-10:00",
        "ts_after=0001-01-01T00:00:00%2B10:00",
        "page_size=-1",
        "page_size=abc",
        "account=%00",
        "instrument=" + "A" * 5000,
    ],
)
def test_given_bad_filter_or_cursor_then_4xx_or_ignored_never_5xx(oms, trades, query):
    response = oms.get(f"/api/v1/trades?{query}")

    assert response.status_code in {200, 400, 404}, response.content
    if response.status_code != 200:
        assert set(response.json()) == {"error"}


def test_given_an_unusable_cursor_then_400_naming_it(oms, trades):
    for cursor in ("not-a-cursor", "cD1hYmM%3D"):
        response = oms.get(f"/api/v1/trades?cursor={cursor}")
        assert response.status_code == 400, response.content
        assert "cursor" in response.json()["error"]["fields"]


def test_given_huge_page_size_then_capped(oms, trades):
    assert len(oms.get("/api/v1/trades?page_size=1000000").json()["results"]) == 24


@pytest.mark.parametrize("pk", ["abc", "0", "-1", "99999999999999999999", "%00"])
def test_given_bad_or_unknown_id_then_404(oms, trades, pk):
    response = oms.get(f"/api/v1/trades/{pk}")

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"


# Each value once per filter of every list endpoint (~700 requests): NUL, overflowing dates at
# both ends, a non-number, invalid UTF-8, a long value.
_NASTY = ["%00", "9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00%2B10:00", "1e400", "%FF", "x" * 300]


def _list_endpoints() -> list[tuple[str, list[str]]]:
    """Every list URL under /api/v1 with the names of its filters."""
    from django.urls import get_resolver

    found = []
    api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")
    stack = list(api.url_patterns)
    while stack:
        p = stack.pop()
        if hasattr(p, "url_patterns"):
            stack += p.url_patterns
            continue
        view = getattr(p.callback, "cls", None)
        if view is None or not (p.name or "").endswith("-list"):
            continue
        filterset = getattr(view, "filterset_class", None)
        names = list(filterset.base_filters) if filterset else list(getattr(view, "filterset_fields", []))
        segment = str(p.pattern).strip("^$").removesuffix("/?")
        found.append((f"/api/v1/{segment}", [*names, "cursor", "page_size"]))
    return sorted(found)


@pytest.mark.parametrize(("url", "filters"), _list_endpoints(), ids=[u for u, _ in _list_endpoints()])
def test_given_nasty_filter_values_on_any_list_endpoint_then_never_5xx(superuser_api, world, url, filters):
    for name in filters:
        for value in _NASTY:
            response = superuser_api.get(f"{url}?{name}={value}")
            assert response.status_code < 500, (url, name, value, response.content[:300])


@pytest.fixture
def superuser_api(api_client_for):
    from tests.factories import UserFactory

    return api_client_for(UserFactory(username="root", is_superuser=True))
