"""Defects the schema fuzz test found in the shared model's API (tests/core/test_schema_fuzz.py).

- A time filter with an offset PostgreSQL cannot store (it allows ±15:59) was a 500; it is now
  compared in UTC. A time with no UTC equivalent (year 1 with a positive offset) is a 400.
- An unknown ``?format=`` was a bare 404; it is a 400 naming ``format``.
- Optional references (an order's parent, a trade's counterparty and order, an instrument's
  underlying, an account's portfolio) are served as null, but the schema said "string".
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import TradeFactory
from tests.openapi import api_component, assert_matches_schema

pytestmark = pytest.mark.django_db


TIME_FILTERS = [
    ("/api/v1/events/", "ts_before"),
    ("/api/v1/trades/", "ts_after"),
    ("/api/v1/orders/", "arrival_before"),
]


@pytest.mark.parametrize(("path", "name"), TIME_FILTERS)
@pytest.mark.parametrize("value", ["0822-01-01T00:42:23-16:57", "2022-12-28T14:30:00+23:59"])
def test_given_an_offset_beyond_what_postgres_stores_when_filtering_then_200_not_500(oms, world, path, name, value):
    response = oms.get(path, {name: value})

    assert response.status_code == 200, response.content
    assert_matches_schema(response, "GET", path)


@pytest.mark.parametrize(("path", "name"), TIME_FILTERS)
def test_given_a_time_without_a_utc_equivalent_when_filtering_then_400_naming_the_filter(oms, world, path, name):
    # 0001-01-01T00:00+05:00 is 19:00 on the day before year 1 in UTC: no Python datetime holds it.
    response = oms.get(path, {name: "0001-01-01T00:00+05:00"})

    assert response.status_code == 400, response.content
    assert name in response.json()["error"]["fields"]
    assert_matches_schema(response, "GET", path)


def test_given_a_time_with_an_offset_when_filtering_then_it_is_compared_in_utc(oms, world):
    # The trade at 14:31Z is 16:31 at +02:00; ts_before is exclusive (portfolios/filters.py).
    trade = TradeFactory(account=world.account, instrument=world.aapl, ts=world.order.arrival_ts + timedelta(minutes=1))

    at = oms.get("/api/v1/trades/", {"ts_before": "2022-12-28T16:31:00+02:00"}).json()["results"]
    after = oms.get("/api/v1/trades/", {"ts_before": "2022-12-28T16:31:00.000001+02:00"}).json()["results"]

    assert [row["id"] for row in at] == []
    assert [row["id"] for row in after] == [trade.pk]


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("Order", "parent"),
        ("Trade", "order"),
        ("Trade", "counterparty_account"),
        ("Instrument", "underlying"),
        ("Account", "portfolio"),
    ],
)
def test_schema_says_optional_references_may_be_null(component, field):
    # drf-spectacular writes a nullable read-only field as anyOf [..., {"type": "null"}] or nullable.
    prop = api_component(component)["properties"][field]

    assert prop.get("nullable") is True or {"type": "null"} in prop.get("anyOf", []), prop


def test_given_rows_without_optional_references_when_read_then_null_and_as_the_schema_says(oms, world):
    trade = TradeFactory(account=world.account, instrument=world.aapl, order=None)
    world.account2.portfolio = None
    world.account2.save()

    reads = {
        "/api/v1/orders/{id}/": (world.order.pk, "parent"),
        "/api/v1/trades/{id}/": (trade.pk, "counterparty_account"),
        "/api/v1/instruments/{id}/": (world.aapl.pk, "underlying"),
        "/api/v1/accounts/{id}/": (world.account2.pk, "portfolio"),
    }
    for path, (pk, field) in reads.items():
        response = oms.get(path.replace("{id}", str(pk)))

        assert response.status_code == 200, (path, response.content)
        assert response.json()[field] is None
        assert_matches_schema(response, "GET", path, id=pk)


def test_given_an_unknown_format_when_reading_then_400_naming_format_not_404(oms, world):
    # DRF answers a ?format= no renderer offers with a bare 404, as if the path did not exist.
    response = oms.get("/api/v1/trades/", {"format": "xml"})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"format": ["Unknown format; this endpoint offers: json."]}
