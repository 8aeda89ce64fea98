"""The hash chain: events link up, survive a database round trip and name their actor."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditEvent
from audit.services import (
    GENESIS_HASH,
    audit_chain_head,
    audit_chain_verify,
    audit_event_verify,
    audit_record,
    event_hash,
    inputs_hash_of,
)
from core import context
from tests.audit.conftest import tamper

pytestmark = pytest.mark.django_db


def _in_request(client_ip: str | None, request_id: str = "req-1"):
    return context.set_current(context.RequestContext(request_id=request_id, client_ip=client_ip))


def test_given_several_events_when_verified_then_the_chain_is_intact_and_linked(auditor):
    events = [audit_record(action="test.step", actor=auditor, parameters={"n": n}) for n in range(5)]

    assert events[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert audit_chain_verify() == (5, None)
    assert audit_chain_head() == (events[-1].pk, events[-1].hash)


def test_given_an_empty_trail_then_verification_checks_nothing_and_passes():
    assert audit_chain_verify() == (0, None)
    assert audit_chain_head() is None


def test_the_hash_is_sha256_of_prev_hash_then_canonical_json():
    """The documented formula (docs/audit.md), computed by hand."""
    import hashlib
    import json

    fields = {"occurred_at": datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "action": "x", "before": {"b": 1, "a": 2}}
    canonical = json.dumps(
        {"action": "x", "before": {"a": 2, "b": 1}, "occurred_at": "2024-01-02T03:04:05.000006+00:00"},
        sort_keys=True,
        separators=(",", ":"),
    )
    expected = hashlib.sha256((GENESIS_HASH + canonical).encode()).hexdigest()
    assert event_hash(prev_hash=GENESIS_HASH, fields=fields) == expected


def test_given_decimals_and_datetimes_when_reloaded_from_the_database_then_the_hash_still_matches(auditor):
    moment = datetime(2022, 12, 28, 14, 30, 0, 123456, tzinfo=UTC)
    event = audit_record(
        action="test.roundtrip",
        actor=auditor,
        before={"nav": Decimal("10000000.00"), "as_of": moment, "nested": [Decimal("-0.0001"), 1.5]},
        after={"nav": Decimal("9876543.21"), "ratio": 0.30000000000000004, "big": 1e16, "neg_zero": -0.0},
        parameters={"confidence": Decimal("0.99"), "horizon_days": 10, "when": moment.date()},
        explanation={"shap": [0.1, -2.5e-10, 3.0]},
        inputs_hash=inputs_hash_of({"rows": [Decimal("1.10")]}),
    )
    reloaded = AuditEvent.objects.get(pk=event.pk)

    assert reloaded.before == event.before
    assert reloaded.after == event.after
    assert reloaded.parameters == {"confidence": "0.99", "horizon_days": 10, "when": "2022-12-28"}
    assert audit_event_verify(event=reloaded) is None
    assert audit_chain_verify() == (1, None)


@pytest.mark.parametrize(
    "client_ip",
    [
        "127.0.0.1",
        "",  # unix-socket peers: stored as NULL
        "not-an-ip",
        "2001:0db8:0000:0000:0000:0000:0000:0001",  # PostgreSQL and Django compress it on save
        "::ffff:192.0.2.128",  # inet prints mapped IPv4 dotted, Python 3.11 in hex
        "::ffff:c000:280",
        "::1",
        "fe80::1%eth0",  # inet has no zone id
    ],
)
def test_given_any_client_address_when_reloaded_then_the_hash_still_matches(client_ip):
    token = _in_request(client_ip)
    try:
        event = audit_record(action="test.ip")
    finally:
        context.reset(token)

    assert audit_event_verify(event=AuditEvent.objects.get(pk=event.pk)) is None
    assert audit_chain_verify() == (1, None)


_json_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.datetimes(timezones=st.just(UTC)),
    _json_text,
)
_json_payload = st.recursive(
    _json_leaf,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_json_text, children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=_json_payload, after=_json_payload, parameters=_json_payload)
def test_property_any_json_payload_survives_the_round_trip(before, after, parameters):
    event = audit_record(action="test.property", before=before, after=after, parameters=parameters)

    assert audit_event_verify(event=AuditEvent.objects.get(pk=event.pk)) is None


def test_nan_is_refused_rather_than_stored():
    with pytest.raises(ValueError, match="JSON"):
        audit_record(action="test.nan", parameters={"x": float("nan")})


def test_actor_names_user_anonymous_or_system(auditor):
    assert audit_record(action="a", actor=auditor).actor_name == "audrey"
    assert audit_record(action="a", actor=AnonymousUser()).actor_name == "anonymous"
    assert audit_record(action="a").actor_name == "system"
    assert AuditEvent.objects.filter(actor_id=auditor.pk).count() == 1


def test_given_request_context_then_request_id_and_ip_are_recorded():
    token = _in_request("10.0.0.7", request_id="abc123")
    try:
        event = audit_record(action="test.ctx")
    finally:
        context.reset(token)
    assert (event.request_id, event.client_ip) == ("abc123", "10.0.0.7")


@pytest.mark.audit_tamper
def test_given_an_altered_row_then_the_row_check_reports_it():
    first = audit_record(action="test.one")
    second = audit_record(action="test.two")
    tamper("UPDATE audit_auditevent SET object_repr = 'forged' WHERE id = %s", [first.pk])

    assert "altered" in audit_event_verify(event=AuditEvent.objects.get(pk=first.pk)).reason
    assert audit_event_verify(event=AuditEvent.objects.get(pk=second.pk)) is None


def test_the_documented_independent_recipe_recomputes_the_stored_chain(auditor):
    """docs/audit.md gives a standard-library recipe; it must agree with the stored hashes."""
    import hashlib
    import ipaddress
    import json

    token = _in_request("::ffff:192.0.2.128")
    try:
        audit_record(action="test.doc", actor=auditor, after={"nav": Decimal("1.50"), "x": 2.0}, parameters=["ü", 1e16])
    finally:
        context.reset(token)
    audit_record(action="test.doc", explanation={"shap": [0.25, -0.0]})

    content_fields = [
        "occurred_at", "actor_id", "actor_name", "action", "object_type", "object_id", "object_repr",
        "request_id", "client_ip", "before", "after", "inputs_hash", "parameters", "code_version", "explanation",
    ]  # fmt: skip

    def row_hash(prev_hash: str, row: dict) -> str:
        content = {name: row[name] for name in content_fields}
        content["occurred_at"] = row["occurred_at"].astimezone(UTC).isoformat(timespec="microseconds")
        if content["client_ip"]:
            content["client_ip"] = ipaddress.ip_address(content["client_ip"]).exploded
        text = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256((prev_hash + text).encode()).hexdigest()

    prev = "0" * 64
    for row in AuditEvent.objects.order_by("id").values():
        assert row["prev_hash"] == prev
        assert row["hash"] == row_hash(prev, row)
        prev = row["hash"]
