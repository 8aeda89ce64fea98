"""Bad input: every kind of wrong body or value is a 4xx with a clear message, and nothing is written.

The table below is the contract: (entity, rows or raw body, status, field, message fragment).
A fuzz test then throws random JSON values at every field of the trades endpoint.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ingest.pipeline import _lock_id
from portfolios import models as m
from portfolios.ingest import SPECS
from tests.portfolios.api.conftest import DROP, ingest_events, post_rows, trade_row

pytestmark = pytest.mark.django_db

SEGMENT = {name: name.replace("_", "-") for name in SPECS}

_ORDER = {
    "client_order_id": "O-NEW",
    "account": "ACC1",
    "instrument": "AAPL",
    "side": "buy",
    "order_type": "limit",
    "limit_price": "100",
    "quantity": "10",
    "arrival_ts": "2022-12-28T15:00:00Z",
}
_OPTION = {
    "symbol": "AAPL-C1",
    "kind": "option",
    "underlying": "AAPL",
    "strike": "150",
    "expiry": "2023-01-20",
    "option_right": "call",
}
_QUOTE = {
    "instrument": "AAPL",
    "ts": "2022-12-28T14:30:00Z",
    "bid": "10",
    "ask": "10.01",
    "bid_size": "1",
    "ask_size": "1",
}
_EVENT = {
    "order": "ORD1",
    "sequence": 5,
    "event_type": "fill",
    "ts": "2022-12-28T14:40:00Z",
    "price": "100",
    "quantity": "10",
}


def _with(base: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    row = {**base, **overrides}
    return {k: v for k, v in row.items() if v is not DROP}


def _raw(text: str) -> bytes:
    return text.encode()


# id -> (entity, rows | raw body bytes, expected status, field in the row errors or None, message fragment)
CASES: dict[str, tuple[str, Any, int, str | None, str]] = {
    # --- bodies
    "nan-literal": ("trades", _raw('{"rows": [{"trade_id": "T1", "price": NaN}]}'), 400, None, "not valid JSON"),
    "infinity-literal": ("trades", _raw('{"rows": [{"price": Infinity}]}'), 400, None, "not valid JSON"),
    "1e400-literal": ("trades", _raw('{"rows": [{"price": 1e400}]}'), 400, None, "not valid JSON"),
    "non-json-body": ("trades", _raw("trade_id,price\nT1,100\n"), 400, None, "not valid JSON"),
    "empty-body": ("trades", b"", 400, None, "empty"),
    "body-is-a-list": ("trades", _raw("[]"), 400, None, '"rows" list'),
    "rows-not-a-list": ("trades", _raw('{"rows": {"trade_id": "T1"}}'), 400, None, '"rows" list'),
    "unknown-top-level-key": ("trades", _raw('{"rows": [], "dry_run": true}'), 400, None, "dry_run"),
    "empty-batch": ("trades", [], 400, None, "empty"),
    "row-is-a-number": ("trades", [1], 400, "row", "JSON object"),
    "row-is-null": ("trades", [None], 400, "row", "JSON object"),
    "row-is-a-list": ("trades", [[trade_row()]], 400, "row", "JSON object"),
    "invalid-utf8": ("trades", b'{"rows": [{"venue": "\xff"}]}', 400, None, "not valid JSON"),
    "lone-surrogate": ("trades", _raw('{"rows": [{"venue": "\\ud800"}]}'), 400, None, "not valid JSON"),
    # --- numbers
    "price-nan-string": ("trades", [trade_row(price="NaN")], 400, "price", "finite"),
    "price-snan-string": ("trades", [trade_row(price="sNaN")], 400, "price", "finite"),
    "price-infinity-string": ("trades", [trade_row(price="Infinity")], 400, "price", "finite"),
    "price-minus-inf-string": ("trades", [trade_row(price="-inf")], 400, "price", "finite"),
    "price-1e400-string": ("trades", [trade_row(price="1e400")], 400, "price", "less than"),
    "price-negative": ("trades", [trade_row(price="-1")], 400, "price", "greater than 0"),
    "price-zero": ("trades", [trade_row(price=0)], 400, "price", "greater than 0"),
    "price-zero-with-decimals": ("trades", [trade_row(price="0.00000000")], 400, "price", "greater than 0"),
    "price-tiny-below-scale": ("trades", [trade_row(price="1e-9")], 400, "price", "decimal places"),
    "price-too-many-decimals": ("trades", [trade_row(price="1.123456789")], 400, "price", "8 decimal places"),
    "quantity-too-many-decimals": ("trades", [trade_row(quantity=0.1234567)], 400, "quantity", "6 decimal"),
    "price-overflows-numeric": ("trades", [trade_row(price="1e12")], 400, "price", "less than"),
    "price-huge-integer": (
        "trades",
        _raw(
            '{"rows": [{"trade_id": "T1", "account": "ACC1", "instrument": "AAPL", "side": "buy", "quantity": 1, '
            '"ts": "2022-12-28T14:31:00Z", "price": 1000000000000000000000000000000}]}'
        ),
        400,
        "price",
        "less than",
    ),
    "price-huge-digit-string": ("trades", [trade_row(price="9" * 5000)], 400, "price", "less than"),
    "commission-overflows": ("trades", [trade_row(commission="1e20")], 400, "commission", "less than"),
    "price-true": ("trades", [trade_row(price=True)], 400, "price", "number"),
    "quantity-false": ("trades", [trade_row(quantity=False)], 400, "quantity", "number"),
    "price-not-a-number": ("trades", [trade_row(price="12,50")], 400, "price", "number"),
    "price-object": ("trades", [trade_row(price={"amount": 1})], 400, "price", "number"),
    "price-list": ("trades", [trade_row(price=[1])], 400, "price", "number"),
    "price-null": ("trades", [trade_row(price=None)], 400, "price", "required"),
    "price-missing": ("trades", [trade_row(price=DROP)], 400, "price", "required"),
    "quantity-zero": ("trades", [trade_row(quantity="0")], 400, "quantity", "greater than 0"),
    "quantity-negative": ("trades", [trade_row(quantity=-5)], 400, "quantity", "greater than 0"),
    "commission-negative": ("trades", [trade_row(commission="-0.01")], 400, "commission", "at least 0"),
    "sequence-fraction": ("order_events", [_with(_EVENT, sequence=1.5)], 400, "sequence", "whole number"),
    "sequence-string": ("order_events", [_with(_EVENT, sequence="1")], 400, "sequence", "whole number"),
    "sequence-negative": ("order_events", [_with(_EVENT, sequence=-1)], 400, "sequence", "at least 0"),
    "sequence-overflows-int": ("order_events", [_with(_EVENT, sequence=2**31)], 400, "sequence", "at most"),
    "sequence-bool": ("order_events", [_with(_EVENT, sequence=True)], 400, "sequence", "whole number"),
    "volume-huge-float": (
        "price_bars",
        [{"instrument": "AAPL", "date": "2022-12-27", "close": 1, "adj_close": 1, "volume": 1e300}],
        400,
        "volume",
        "at most",
    ),
    # --- timestamps and dates
    "ts-naive": ("trades", [trade_row(ts="2022-12-28T14:31:00")], 400, "ts", "UTC offset"),
    "ts-date-only": ("trades", [trade_row(ts="2022-12-28")], 400, "ts", "UTC offset"),
    "ts-garbage": ("trades", [trade_row(ts="yesterday")], 400, "ts", "ISO 8601"),
    "ts-epoch-number": ("trades", [trade_row(ts=1672237860)], 400, "ts", "ISO 8601"),
    "ts-year-1-with-offset": ("trades", [trade_row(ts="0001-01-01T00:00:00+01:00")], 400, "ts", "1900"),
    "ts-year-9999-with-offset": ("trades", [trade_row(ts="9999-12-31T23:59:59-01:00")], 400, "ts", "1900"),
    "date-invalid": (
        "price_bars",
        [{"instrument": "AAPL", "date": "2022-02-30", "close": 1, "adj_close": 1}],
        400,
        "date",
        "YYYY-MM-DD",
    ),
    # --- references and scope
    "unknown-instrument": ("trades", [trade_row(instrument="ZZZZ")], 400, "instrument", "Unknown instrument 'ZZZZ'"),
    "unknown-account": ("trades", [trade_row(account="NOPE")], 400, "account", "Unknown account 'NOPE'"),
    "other-desks-account": ("trades", [trade_row(account="ACC-OTHER")], 400, "account", "Unknown account"),
    "other-desks-order": ("trades", [trade_row(order="ORD-OTHER")], 400, "order", "Unknown order 'ORD-OTHER'"),
    "other-desks-counterparty": (
        "trades",
        [trade_row(counterparty_account="ACC-OTHER")],
        400,
        "counterparty_account",
        "Unknown account",
    ),
    "other-desks-portfolio": (
        "positions",
        [{"portfolio": "PF-OTHER", "instrument": "AAPL", "as_of": "2022-12-27", "quantity": "1"}],
        400,
        "portfolio",
        "Unknown portfolio",
    ),
    "other-desk": ("portfolios", [{"code": "PF-X", "name": "x", "desk": "OTHER"}], 400, "desk", "Unknown desk"),
    "other-desks-linked-account": (
        "accounts",
        [{"code": "ACC-N", "kind": "client", "owner": "BO1", "desk": "EQ", "linked_accounts": ["ACC-OTHER"]}],
        400,
        "linked_accounts",
        "Unknown account 'ACC-OTHER'",
    ),
    "reference-is-a-list": ("trades", [trade_row(account=["ACC1"])], 400, "account", "code"),
    "reference-is-an-object": ("trades", [trade_row(instrument={"symbol": "AAPL"})], 400, "instrument", "code"),
    "reference-with-nul": ("trades", [trade_row(account="ACC1\x00")], 400, "account", "Unknown account"),
    "reference-too-long": ("trades", [trade_row(account="A" * 65)], 400, "account", "at most 64"),
    "natural-key-is-an-object": ("trades", [trade_row(trade_id={"id": 1})], 400, "trade_id", "string"),
    "natural-key-is-a-list": ("orders", [_with(_ORDER, client_order_id=["x"])], 400, "client_order_id", "string"),
    # --- strings and choices
    "wrong-side": ("trades", [trade_row(side="short")], 400, "side", "buy, sell"),
    "side-number": ("trades", [trade_row(side=1)], 400, "side", "buy, sell"),
    "unknown-field": ("trades", [trade_row(fee="1")], 400, "fee", "Unknown field"),
    "trade-id-too-long": ("trades", [trade_row(trade_id="T" * 65)], 400, "trade_id", "At most 64"),
    "venue-too-long": ("trades", [trade_row(venue="V" * 33)], 400, "venue", "At most 32"),
    "trade-id-blank": ("trades", [trade_row(trade_id="  ")], 400, "trade_id", "blank"),
    "trade-id-with-space": ("trades", [trade_row(trade_id="T 1")], 400, "trade_id", "no spaces"),
    "venue-with-nul": ("trades", [trade_row(venue="X\x00")], 400, "venue", "NUL"),
    "desk-code-longer-than-column": ("desks", [{"code": "D" * 33, "name": "x"}], 400, "code", "At most 32"),
    "factor-longer-than-column": (
        "factor_returns",
        [{"factor": "F" * 33, "frequency": "D", "period_end": "2022-12-28", "value": "0.01"}],
        400,
        "factor",
        "At most 32",
    ),
    "currency-lower-case": (
        "portfolios",
        [{"code": "P", "name": "p", "desk": "EQ", "base_currency": "usd"}],
        400,
        "base_currency",
        "ISO 4217",
    ),
    # --- duplicates and cross-field rules
    "duplicate-in-batch": ("trades", [trade_row(), trade_row()], 400, "trade_id", "Duplicate of row 0"),
    "counterparty-is-self": ("trades", [trade_row(counterparty_account="ACC1")], 400, "counterparty_account", "same"),
    "order-of-other-account": ("trades", [trade_row(account="ACC2", order="ORD1")], 400, "order", "another account"),
    "order-other-side": ("trades", [trade_row(order="ORD1", side="sell")], 400, "side", "Order side is buy"),
    "option-without-strike": ("instruments", [_with(_OPTION, strike=DROP)], 400, "strike", "Required for options"),
    "right-on-equity": (
        "instruments",
        [{"symbol": "E", "kind": "equity", "option_right": "put"}],
        400,
        "option_right",
        "Only options",
    ),
    "limit-order-without-price": ("orders", [_with(_ORDER, limit_price=DROP)], 400, "limit_price", "Required"),
    "market-order-with-price": ("orders", [_with(_ORDER, order_type="market")], 400, "limit_price", "no limit"),
    "parent-other-side": ("orders", [_with(_ORDER, parent="ORD1", side="sell")], 400, "parent", "other side"),
    "parent-cycle-in-batch": (
        "orders",
        [_with(_ORDER, client_order_id="A", parent="B"), _with(_ORDER, client_order_id="B", parent="A")],
        400,
        None,
        "cycle",
    ),
    # A batch row whose natural key another desk holds is a no-op; a child naming it must not
    # be linked to that desk's order (it was, before the pending lookup was scoped).
    "parent-in-batch-held-by-other-desk": (
        "orders",
        [_with(_ORDER, client_order_id="ORD-OTHER"), _with(_ORDER, client_order_id="C", parent="ORD-OTHER")],
        400,
        "client_order_id",
        "another id",
    ),
    # Re-sending another desk's account with links was a KeyError (500) in the link hook.
    "relink-other-desks-account": (
        "accounts",
        [{"code": "ACC-OTHER", "kind": "client", "owner": "BO1", "desk": "EQ", "linked_accounts": ["ACC1"]}],
        400,
        "code",
        "another id",
    ),
    "parent-in-batch-other-side": (
        "orders",
        [_with(_ORDER, client_order_id="P"), _with(_ORDER, client_order_id="C", parent="P", side="sell")],
        400,
        "parent",
        "other side",
    ),
    "fill-without-price": ("order_events", [_with(_EVENT, price=DROP)], 400, "price", "Required for fills"),
    "event-before-arrival": ("order_events", [_with(_EVENT, ts="2022-12-28T14:00:00Z")], 400, "ts", "earlier"),
    "crossed-quote": ("quotes", [_with(_QUOTE, bid="10.02")], 400, "ask", "crossed"),
    "bar-high-below-low": (
        "price_bars",
        [{"instrument": "AAPL", "date": "2022-12-27", "high": 1, "low": 2, "close": 1.5, "adj_close": 1.5}],
        400,
        "high",
        "at least low",
    ),
    "factor-return-below-minus-one": (
        "factor_returns",
        [{"factor": "F", "frequency": "D", "period_end": "2022-12-28", "value": "-1.5"}],
        400,
        "value",
        "at least -1",
    ),
    "account-linked-to-itself": (
        "accounts",
        [{"code": "ACC-S", "kind": "client", "owner": "BO1", "desk": "EQ", "linked_accounts": ["ACC-S"]}],
        400,
        "linked_accounts",
        "itself",
    ),
    "linked-accounts-not-a-list": (
        "accounts",
        [{"code": "ACC-S", "kind": "client", "owner": "BO1", "desk": "EQ", "linked_accounts": "ACC1"}],
        400,
        "linked_accounts",
        "list",
    ),
    "duplicate-isin-in-batch": (
        "instruments",
        [
            {"symbol": "I1", "kind": "equity", "isin": "US0378331005"},
            {"symbol": "I2", "kind": "equity", "isin": "US0378331005"},
        ],
        400,
        None,
        "isin",
    ),
}


def _row_errors(body: dict[str, Any]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for row in body["error"].get("rows", []):
        for name, messages in row["errors"].items():
            merged.setdefault(name, []).extend(messages)
    return merged


@pytest.mark.parametrize("case", list(CASES))
def test_given_bad_input_when_posted_then_4xx_with_clear_message_and_nothing_written(case, oms, world):
    entity, payload, status, field, fragment = CASES[case]
    model = SPECS[entity].model
    before = model.objects.count(), ingest_events()

    if isinstance(payload, bytes):
        response = post_rows(oms, SEGMENT[entity], None, body=payload)
    else:
        response = post_rows(oms, SEGMENT[entity], payload)

    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    if field is None:
        assert fragment.lower() in str(body["error"]).lower(), body
    else:
        messages = _row_errors(body).get(field)
        assert messages, body
        assert any(fragment.lower() in msg.lower() for msg in messages), messages
    assert (model.objects.count(), ingest_events()) == before


def test_given_other_desks_account_then_reply_is_identical_to_an_unknown_account(oms, world):
    """Scoping must not leak: the only difference between the replies is the code echoed back."""
    foreign = post_rows(oms, "trades", [trade_row(account="ACC-OTHER")]).json()
    unknown = post_rows(oms, "trades", [trade_row(account="ACC-NONE")]).json()

    assert str(foreign).replace("ACC-OTHER", "X") == str(unknown).replace("ACC-NONE", "X")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/csv", b"trade_id,price\nT1,1\n"),
        ("application/x-www-form-urlencoded", b"rows=1"),
        ("multipart/form-data; boundary=x", b"--x--"),
        ("text/plain", b'{"rows": []}'),
    ],
)
def test_given_wrong_content_type_when_posted_then_415(oms, world, content_type, body):
    response = oms.post("/api/v1/trades", data=body, content_type=content_type)

    assert response.status_code == 415, response.content
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert m.Trade.objects.count() == 0


def test_given_json_with_charset_parameter_then_accepted(oms, world):
    response = oms.post(
        "/api/v1/trades",
        data=b'{"rows": [' + orjson.dumps(trade_row()) + b"]}",
        content_type="application/json; charset=utf-8",
    )

    assert response.status_code == 201, response.content


def test_given_batch_over_the_row_limit_when_posted_then_413(oms, world, settings):
    settings.INGEST_MAX_ROWS = 3
    rows = [trade_row(trade_id=f"T{i}") for i in range(4)]

    response = post_rows(oms, "trades", rows)

    assert response.status_code == 413, response.content
    assert response.json()["error"]["code"] == "batch_too_large"
    assert "at most 3 rows" in response.json()["error"]["message"]
    assert m.Trade.objects.count() == 0
    assert post_rows(oms, "trades", rows[:3]).status_code == 201


def test_given_body_over_the_byte_limit_when_posted_then_413_not_500(oms, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    rows = [trade_row(trade_id=f"T{i}") for i in range(20)]

    response = post_rows(oms, "trades", rows)

    assert response.status_code == 413, response.content
    assert m.Trade.objects.count() == 0


@pytest.mark.parametrize("key", ["k" * 256, "tab\there", "new\nline"])
def test_given_malformed_idempotency_key_then_400(oms, world, key):
    response = oms.post(
        "/api/v1/trades",
        data=orjson.dumps({"rows": [trade_row()]}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )

    assert response.status_code == 400, response.content
    assert "Idempotency-Key" in response.json()["error"]["message"]
    assert m.Trade.objects.count() == 0


def test_given_many_bad_rows_then_every_bad_row_is_reported(oms, world):
    rows = [trade_row(trade_id=f"T{i}", price=-i) for i in range(5)]

    body = post_rows(oms, "trades", rows).json()["error"]

    assert body["invalid_rows"] == 5
    assert [r["index"] for r in body["rows"]] == [0, 1, 2, 3, 4]


def test_lock_id_is_stable_and_signed_64_bit():
    assert _lock_id("1", "/api/v1/trades", "k") == _lock_id("1", "/api/v1/trades", "k")
    assert -(2**63) <= _lock_id("1", "/api/v1/trades", "k") < 2**63


# ---------------------------------------------------------------------------- fuzz

_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80)
    | st.sampled_from(
        [
            "NaN",
            "Infinity",
            "-0",
            "1e400",
            "1e-400",
            "0E+999",
            "2022-12-28T14:31:00Z",
            "2022-12-28T14:31:00",
            "0001-01-01T00:00:00+14:00",
            "ACC1",
            "ACC-OTHER",
            "AAPL",
            "ORD1",
            "buy",
            "sell",
            "\x00",
            "9" * 100,
        ]
    )
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
_TRADE_FIELDS = sorted(SPECS["trades"].field_names)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    overrides=st.dictionaries(st.sampled_from([*_TRADE_FIELDS, "extra"]), _JSON_VALUES, min_size=1, max_size=4),
    drop=st.sets(st.sampled_from(_TRADE_FIELDS), max_size=2),
)
def test_fuzz_trades_endpoint_never_answers_5xx(oms, world, overrides, drop):
    row = trade_row(**{"trade_id": "FUZZ", **overrides})
    for name in drop:
        row.pop(name, None)

    rows = [row, trade_row(trade_id="OK")]
    # The standard library writes integers of any size (orjson stops at 64 bits).
    response = post_rows(oms, "trades", None, body=json.dumps({"rows": rows}).encode())

    assert response.status_code < 500, (row, response.content)
    assert set(response.json()) == ({"error"} if response.status_code >= 400 else set(response.json()))
    m.Trade.objects.all().delete()
