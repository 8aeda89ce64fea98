"""The surveillance demo: a generated market written through the ingestion pipeline comes back
unchanged, and ``surveillance_demo_setup`` leaves a reviewed queue, once (PostgreSQL)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import numpy as np
import orjson
import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from audit.models import AuditEvent
from audit.services import inputs_hash_of
from core.ingest.pipeline import validate_rows, write_batch
from core.roles import Role
from portfolios.ingest import SPECS
from portfolios.models import Account, Desk, OrderEvent
from surveillance.demo import DEMO_DESK, DONE_ACTION, GENERATOR_START, _first_tuesday_after
from surveillance.demo_rows import ENTITIES, PREFIX, market_rows
from surveillance.engine.scenarios import market_generate
from surveillance.inputs import accounts_load, surveillance_data_load
from surveillance.models import Alert, AlertTransition, Case
from tests.factories import AlertFactory, UserFactory

pytestmark = pytest.mark.django_db

SHIFT_DAYS = -364  # 52 weeks earlier: 2024-01-02 (Tuesday) -> 2023-01-03 (Tuesday)


@pytest.fixture(scope="module")
def tiny():
    """One session of one instrument at a twentieth of the usual order rate, one episode each."""
    return market_generate(seed=11, days=1, instruments=1, activity=0.05, episodes_per_scenario=1)


def _send(user, entity: str, rows: list[dict]) -> int:
    with transaction.atomic():
        batch = validate_rows(SPECS[entity], user, rows)
        outcome = write_batch(batch, inputs_hash=inputs_hash_of(orjson.dumps({"rows": rows})), idempotency_key=None)
    return outcome.created


def _partition(group: np.ndarray, ids: np.ndarray) -> set[frozenset[int]]:
    """Account sets sharing a group label (compares groupings whatever the labels)."""
    out: dict[int, set[int]] = {}
    for g, a in zip(group.tolist(), ids.tolist(), strict=True):
        out.setdefault(g, set()).add(a)
    return {frozenset(s) for s in out.values()}


def test_given_a_tiny_market_when_its_rows_go_through_the_pipeline_then_every_table_comes_back(tiny):
    admin = UserFactory(username="admin", is_superuser=True)
    rows = market_rows(tiny, shift_days=SHIFT_DAYS, desk_code="SIM")
    assert list(rows) == list(ENTITIES)
    _send(admin, "desks", [{"code": "SIM", "name": "Simulated"}])
    created = {entity: _send(admin, entity, rows[entity]) for entity in ENTITIES}

    d = tiny.data
    owners_groups = {(o, g) for o, g in zip(d.accounts.owner.tolist(), d.accounts.group.tolist(), strict=True)}
    assert created == {
        "instruments": len(tiny.instrument_symbols),
        "price_bars": len(d.bars),
        "quotes": len(d.quotes),
        "market_trades": len(d.tape),
        "events": len(d.news),
        "beneficial_owners": len(owners_groups),
        "accounts": len(d.accounts),
        "orders": tiny.orders_count,
        "order_events": len(d.orders),
        "trades": len(d.trades),
    }
    assert all(s.startswith(PREFIX) for s in (r["symbol"] for r in rows["instruments"]))

    # Read back as the detectors do: same events, fills, prices and the same economic groups.
    start = datetime(2023, 1, 3, tzinfo=UTC)
    back = surveillance_data_load(since=start, until=start + timedelta(days=1))
    assert len(back.orders) == len(d.orders) and len(back.trades) == len(d.trades)
    assert back.orders.quantity.sum() == pytest.approx(d.orders.quantity.sum())
    assert np.sort(back.trades.price) == pytest.approx(np.sort(d.trades.price))
    assert int(back.news.price_sensitive.sum()) == int(d.news.price_sensitive.sum())
    loaded = accounts_load()
    generator_id = {PREFIX + c: a for a, c in tiny.account_codes.items()}
    db_to_gen = {pk: generator_id[code] for pk, code in Account.objects.values_list("pk", "code")}
    mapped = np.array([db_to_gen[int(a)] for a in loaded.account_id.tolist()])
    assert _partition(loaded.group, mapped) == _partition(d.accounts.group, d.accounts.account_id)

    # Sent again: natural keys make every row a no-op.
    assert sum(_send(admin, entity, rows[entity]) for entity in ENTITIES) == 0


def test_given_a_shift_of_whole_weeks_then_times_move_and_weekdays_stay(tiny):
    base = market_rows(tiny, shift_days=0, desk_code="SIM")
    moved = market_rows(tiny, shift_days=SHIFT_DAYS, desk_code="SIM")
    for entity, key in (("order_events", "ts"), ("quotes", "ts"), ("market_trades", "ts"), ("events", "ts")):
        for a, b in zip(base[entity], moved[entity], strict=True):
            ta, tb = datetime.fromisoformat(a[key]), datetime.fromisoformat(b[key])
            assert tb - ta == timedelta(days=SHIFT_DAYS) and ta.weekday() == tb.weekday()
    days = [
        (date.fromisoformat(a["date"]), date.fromisoformat(b["date"]))
        for a, b in zip(base["price_bars"], moved["price_bars"], strict=True)
    ]
    assert all((b - a).days == SHIFT_DAYS and b.weekday() < 5 for a, b in days)
    assert min(datetime.fromisoformat(r["ts"]) for r in moved["order_events"]).date() == date(2023, 1, 3)


@pytest.mark.parametrize("shift", [1, -3, 10, 365])
def test_given_a_shift_that_is_not_whole_weeks_then_it_is_refused(tiny, shift):
    with pytest.raises(ValueError, match="multiple of 7"):
        market_rows(tiny, shift_days=shift, desk_code="SIM")


def test_the_demo_starts_on_the_first_tuesday_strictly_after_the_newest_event():
    # 2022-12-28 is a Wednesday (the last load_demo day); 2023-01-03 the next Tuesday.
    assert _first_tuesday_after(date(2022, 12, 28)) == date(2023, 1, 3)
    assert _first_tuesday_after(date(2023, 1, 3)) == date(2023, 1, 10)
    assert _first_tuesday_after(date(2023, 1, 2)) == date(2023, 1, 3)
    assert GENERATOR_START.weekday() == 1


def _setup(**options) -> str:
    out = io.StringIO()
    call_command("surveillance_demo_setup", stdout=out, **options)
    return out.getvalue()


def _decisions(count: int) -> None:
    """Earlier closed alerts on another desk: half actioned, half not (what the model learns from)."""
    for k in range(count):
        AlertFactory(
            scenario="spoofing" if k % 2 else "wash_trades",
            score=40.0 + k,
            state=Alert.State.CLOSED,
            outcome=Alert.Outcome.INFORMAL_ACTION if k % 2 else Alert.Outcome.NO_ACTION,
            closing_rationale="Reviewed.",
            closed_at=datetime(2022, 12, 28, 16, 0, tzinfo=UTC) + timedelta(minutes=k),
        )


@pytest.mark.slow
@pytest.mark.parametrize("earlier_decisions", [0, 30])
def test_given_a_tiny_demo_when_set_up_twice_then_the_queue_is_reviewed_once(make_user, earlier_decisions):
    UserFactory(username="admin", is_superuser=True)
    analyst = make_user(Role.COMPLIANCE_ANALYST)
    supervisor = make_user(Role.COMPLIANCE_SUPERVISOR)
    _decisions(earlier_decisions)

    text = _setup(seed=5, days=1, instruments=2)

    assert "Done in" in text
    desk = Desk.objects.get(code=DEMO_DESK[0])
    assert {analyst, supervisor} <= set(desk.members.all())
    assert OrderEvent.objects.filter(order__account__desk=desk).exists()
    assert AuditEvent.objects.filter(action="ingest.order_events").exists()
    alerts = Alert.objects.filter(desk=desk)
    states = set(alerts.values_list("state", flat=True))
    assert states == {"new", "in_review", "escalated", "closed"}
    assert set(alerts.exclude(outcome="").values_list("outcome", flat=True)) == set(Alert.Outcome.values)
    # Four eyes: every approval is the supervisor's, of a closure the analyst proposed.
    approved = AlertTransition.objects.filter(action="approve", alert__desk=desk)
    assert approved.exists()
    for step in approved:
        assert step.actor == supervisor and step.alert.proposed_by == analyst and step.alert.state == "closed"
    assert alerts.filter(outcome=Alert.Outcome.STOR_FILED).exclude(closed_by=supervisor).count() == 0
    assert Case.objects.filter(desk=desk, stor__has_key="nature_of_suspicion").exists()
    # The action model ran on the decisions, or the reason it could not is recorded.
    ranking = AuditEvent.objects.get(action=DONE_ACTION).parameters["ranking"]
    open_alerts = alerts.exclude(state=Alert.State.CLOSED)
    if earlier_decisions:
        assert "reason" not in ranking and ranking["trained_on"] >= 30
        assert not open_alerts.filter(action_probability__isnull=True).exists()
    else:
        assert "Not enough decisions" in ranking["reason"]
        assert not open_alerts.filter(action_probability__isnull=False).exists()

    before = (Alert.objects.count(), OrderEvent.objects.count(), AlertTransition.objects.count())
    again = _setup(seed=5, days=1, instruments=2)
    assert "already loaded" in again
    assert (Alert.objects.count(), OrderEvent.objects.count(), AlertTransition.objects.count()) == before

    with pytest.raises(CommandError, match="other options"):
        _setup(seed=6, days=1, instruments=2)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"days": 0}, "--days"), ({"instruments": 11}, "--instruments"), ({"seed": -1}, "--seed")],
)
def test_given_a_bad_option_when_set_up_then_it_fails_with_a_clear_message(options, message):
    with pytest.raises(CommandError, match=message):
        _setup(**{"days": 1, "instruments": 1, **options})


def test_given_no_superuser_when_set_up_then_it_says_to_load_the_demo_first():
    with pytest.raises(CommandError, match="load_demo"):
        _setup(days=1, instruments=1)
