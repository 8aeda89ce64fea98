"""Fixtures for the OMS API tests: a small book on the client's desk and one on another desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import psycopg
import pytest
from django.db import connection
from rest_framework.test import APIClient

from audit.models import AuditEvent
from portfolios import models as m
from tests.factories import AccountFactory, InstrumentFactory, OrderFactory, OwnerFactory, PortfolioFactory

ARRIVAL = datetime(2022, 12, 28, 14, 30, tzinfo=UTC)


@dataclass
class World:
    """What the OMS client's desk holds (``desk``) and what another desk holds (``other_*``)."""

    aapl: m.Instrument
    msft: m.Instrument
    owner: m.BeneficialOwner
    portfolio: m.Portfolio
    account: m.Account
    account2: m.Account
    order: m.Order
    other_portfolio: m.Portfolio
    other_account: m.Account
    other_order: m.Order


@pytest.fixture
def world(desk, other_desk) -> World:
    owner = OwnerFactory(code="BO1", name="Ada Owner")
    portfolio = PortfolioFactory(code="PF1", desk=desk)
    account = AccountFactory(code="ACC1", owner=owner, desk=desk, portfolio=portfolio)
    aapl = InstrumentFactory(symbol="AAPL")
    other_portfolio = PortfolioFactory(code="PF-OTHER", desk=other_desk)
    other_account = AccountFactory(code="ACC-OTHER", owner=owner, desk=other_desk, portfolio=other_portfolio)
    return World(
        aapl=aapl,
        msft=InstrumentFactory(symbol="MSFT"),
        owner=owner,
        portfolio=portfolio,
        account=account,
        account2=AccountFactory(code="ACC2", owner=owner, desk=desk, portfolio=portfolio),
        order=OrderFactory(client_order_id="ORD1", account=account, instrument=aapl, arrival_ts=ARRIVAL),
        other_portfolio=other_portfolio,
        other_account=other_account,
        other_order=OrderFactory(
            client_order_id="ORD-OTHER", account=other_account, instrument=aapl, arrival_ts=ARRIVAL
        ),
    )


def post_rows(client: APIClient, entity: str, rows: Any, *, key: str | None = None, body: bytes | None = None) -> Any:
    """POST ``{"rows": rows}`` (or raw ``body``) to ``/api/v1/<entity>`` as JSON."""
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    data = body if body is not None else orjson.dumps({"rows": rows})
    return client.post(f"/api/v1/{entity}", data=data, content_type="application/json", **headers)


def trade_row(**overrides: Any) -> dict[str, Any]:
    """A valid trade of the OMS client's desk (account ACC1, AAPL); override any field."""
    row: dict[str, Any] = {
        "trade_id": "T1",
        "account": "ACC1",
        "instrument": "AAPL",
        "side": "buy",
        "price": "101.25",
        "quantity": "10",
        "ts": "2022-12-28T14:31:00.123456Z",
    }
    row.update(overrides)
    return {k: v for k, v in row.items() if v is not _DROP}


_DROP = object()
DROP: Any = _DROP  # trade_row(price=DROP) leaves the field out


def ingest_events() -> int:
    return AuditEvent.objects.filter(action__startswith="ingest.").count()


def as_decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def second_connection() -> psycopg.Connection[Any]:
    """A separate session on the test database (the test's own runs inside a transaction)."""
    s = connection.settings_dict
    return psycopg.connect(
        dbname=s["NAME"],
        user=s["USER"],
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        password=s["PASSWORD"] or None,
    )
