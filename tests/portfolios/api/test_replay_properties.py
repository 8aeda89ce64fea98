"""Property (hypothesis): replaying an ingested batch changes nothing.

For random valid batches of instruments, orders, trades and order events (some rows already
in the table, so ``existing`` is exercised too), docs/api.md ("Exactly once") promises:
- the same body with the same ``Idempotency-Key`` gets the first reply again, status and body,
  with ``Idempotent-Replayed: true``, and writes nothing at all: no row, no audit event, no
  follow-up message, no second stored reply;
- the same rows without a key are no-ops by natural key: 200, ``created`` 0, ``existing`` n,
  the table unchanged row for row; the batch is still recorded by its own audit event (every
  accepted batch is, docs/api.md "Conventions"), and nothing else is written.
Each example runs in a savepoint rolled back at its end.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.apps import apps
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditEvent
from portfolios import models as m
from tests.portfolios.api.conftest import ARRIVAL, post_rows

pytestmark = pytest.mark.django_db

# endpoint -> (table, entity name in the audit action)
ENDPOINTS = {
    "instruments": (m.Instrument, "instruments"),
    "orders": (m.Order, "orders"),
    "trades": (m.Trade, "trades"),
    "order-events": (m.OrderEvent, "order_events"),
}
_keys = itertools.count()

prices = st.decimals(min_value="0.01", max_value="99999", places=4).map(str)
quantities = st.one_of(st.integers(min_value=1, max_value=100_000), st.decimals("0.000001", "9999", places=6).map(str))
instants = st.integers(min_value=0, max_value=6 * 3600 * 10**6).map(
    lambda us: (ARRIVAL + timedelta(microseconds=us)).isoformat().replace("+00:00", "Z")
)
codes = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=6)


def _unique(code_rows: list[tuple[str, dict[str, Any]]], field: str, prefix: str) -> list[dict[str, Any]]:
    return [{field: f"{prefix}{code}", **row} for code, row in code_rows]


def instrument_rows() -> st.SearchStrategy[list[dict[str, Any]]]:
    row = st.fixed_dictionaries(
        {"kind": st.sampled_from(["equity", "etf", "index"]), "currency": st.sampled_from(["USD", "EUR", "GBP"])},
        optional={"name": st.text("abc XYZ", max_size=20), "sector": st.sampled_from(["Energy", "Financials"])},
    )
    new = st.lists(st.tuples(codes, row), max_size=12, unique_by=lambda t: t[0]).map(
        lambda r: _unique(r, "symbol", "H")
    )
    existing = st.lists(st.sampled_from(["AAPL", "MSFT"]), unique=True).map(
        lambda syms: [{"symbol": s, "kind": "equity"} for s in syms]
    )
    return st.tuples(new, existing).map(lambda t: t[0] + t[1]).filter(bool)


def order_rows() -> st.SearchStrategy[list[dict[str, Any]]]:
    limit = st.fixed_dictionaries({"order_type": st.just("limit"), "limit_price": prices})
    market = st.fixed_dictionaries({"order_type": st.just("market")})
    row = st.tuples(
        st.fixed_dictionaries(
            {
                "account": st.sampled_from(["ACC1", "ACC2"]),
                "instrument": st.sampled_from(["AAPL", "MSFT"]),
                "side": st.sampled_from(["buy", "sell"]),
                "quantity": quantities,
                "arrival_ts": instants,
            },
            optional={"venue": st.sampled_from(["XNAS", "XNYS"]), "time_in_force": st.sampled_from(["day", "ioc"])},
        ),
        st.one_of(limit, market),
    ).map(lambda t: {**t[0], **t[1]})
    new = st.lists(st.tuples(codes, row), min_size=1, max_size=12, unique_by=lambda t: t[0])
    return new.map(lambda r: _unique(r, "client_order_id", "HO-"))


def trade_rows() -> st.SearchStrategy[list[dict[str, Any]]]:
    row = st.fixed_dictionaries(
        {
            "account": st.sampled_from(["ACC1", "ACC2"]),
            "instrument": st.sampled_from(["AAPL", "MSFT"]),
            "side": st.sampled_from(["buy", "sell"]),
            "price": prices,
            "quantity": quantities,
            "ts": instants,
        },
        optional={"venue": st.sampled_from(["XNAS", ""]), "commission": st.sampled_from(["0", "1.25"])},
    )
    # Some trades fill the existing order ORD1 (ACC1, AAPL, buy).
    of_ord1 = st.fixed_dictionaries(
        {"order": st.just("ORD1"), "account": st.just("ACC1"), "instrument": st.just("AAPL"), "side": st.just("buy")}
    )
    row = st.one_of(row, st.tuples(row, of_ord1).map(lambda t: {**t[0], **t[1]}))
    new = st.lists(st.tuples(codes, row), min_size=1, max_size=12, unique_by=lambda t: t[0])
    return new.map(lambda r: _unique(r, "trade_id", "HT-"))


def order_event_rows() -> st.SearchStrategy[list[dict[str, Any]]]:
    fill = st.fixed_dictionaries(
        {"event_type": st.sampled_from(["fill", "partial_fill"]), "price": prices, "quantity": quantities}
    )
    other = st.fixed_dictionaries(
        {"event_type": st.sampled_from(["new", "replace", "cancel", "reject"])},
        optional={"reason": st.text("abc ", max_size=10)},
    )
    row = st.tuples(st.one_of(fill, other), instants).map(lambda t: {**t[0], "ts": t[1], "order": "ORD1"})
    seqs = st.lists(st.integers(min_value=0, max_value=2**31 - 1), min_size=1, max_size=12, unique=True)
    return st.tuples(seqs, st.lists(row, min_size=12, max_size=12)).map(
        lambda t: [{**r, "sequence": s} for s, r in zip(t[0], t[1], strict=False)]
    )


batches = st.one_of(
    st.tuples(st.just("instruments"), instrument_rows()),
    st.tuples(st.just("orders"), order_rows()),
    st.tuples(st.just("trades"), trade_rows()),
    st.tuples(st.just("order-events"), order_event_rows()),
)


def table(model: Any) -> list[dict[str, Any]]:
    return list(model.objects.order_by("pk").values())


def counts() -> dict[str, int]:
    """Rows of every table the ingestion path may write (shared model, audit, core, feature
    apps), in one query."""
    tables = sorted(
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in {"portfolios", "audit", "core", "riskapp", "surveillance", "execution_quality"}
    )
    sql = " UNION ALL ".join(f"SELECT %s, count(*) FROM {connection.ops.quote_name(t)}" for t in tables)
    with connection.cursor() as cur:
        cur.execute(sql, tables)
        return dict(cur.fetchall())


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=batches, pre_sent=st.lists(st.booleans(), min_size=12, max_size=12))
def test_given_an_ingested_batch_when_replayed_then_nothing_changes(oms, world, batch, pre_sent):
    endpoint, rows = batch
    model, entity = ENDPOINTS[endpoint]
    key = f"replay-{next(_keys)}"
    with transaction.atomic():
        # Given some of the batch's rows already in the table (sent earlier, without a key)
        earlier = [row for row, pre in zip(rows, pre_sent, strict=False) if pre]
        if earlier:
            assert post_rows(oms, endpoint, earlier).status_code in {200, 201}

        # When the batch is ingested with a key
        first = post_rows(oms, endpoint, rows, key=key)
        assert first.status_code in {200, 201}, first.content
        reply = first.json()
        assert (reply["received"], reply["created"] + reply["existing"]) == (len(rows), len(rows))
        assert reply["existing"] >= len(earlier)
        after_first, rows_after_first = counts(), table(model)

        # Then replaying it with the same key returns the same reply and writes nothing
        replay = post_rows(oms, endpoint, rows, key=key)
        assert (replay.status_code, replay.json()) == (first.status_code, reply)
        assert replay["Idempotent-Replayed"] == "true"
        assert counts() == after_first
        assert table(model) == rows_after_first

        # ... and re-sending the same rows without a key creates nothing: only its audit event
        resend = post_rows(oms, endpoint, rows)
        assert resend.status_code == 200, resend.content
        assert (resend.json()["created"], resend.json()["existing"]) == (0, len(rows))
        assert table(model) == rows_after_first
        audit = AuditEvent._meta.db_table
        assert counts() == {**after_first, audit: after_first[audit] + 1}
        event = AuditEvent.objects.get(pk=resend.json()["audit_event_id"])
        assert (event.action, event.parameters["created"]) == (f"ingest.{entity}", 0)

        # ... and the key still replays the first reply
        again = post_rows(oms, endpoint, rows, key=key)
        assert (again.status_code, again.json()) == (first.status_code, reply)
        transaction.set_rollback(True)


def test_given_same_rows_serialised_differently_then_the_key_refuses_them(oms, world):
    # The stored reply is tied to the body's bytes (SHA-256), not to its meaning: a client must
    # re-send the very same bytes, which retries of one request naturally do (docs/api.md).
    rows = [{"symbol": "HSER", "kind": "equity"}]
    assert post_rows(oms, "instruments", rows, key="bytes").status_code == 201
    spaced = orjson.dumps({"rows": rows}, option=orjson.OPT_INDENT_2)

    response = post_rows(oms, "instruments", None, key="bytes", body=spaced)

    assert response.status_code == 422
