"""The transactional outbox: follow-up tasks are rows written with the change and sent after commit.

Tasks run in-process here (CELERY_TASK_ALWAYS_EAGER, config/settings/test.py); a broker that is
down is a publisher raising kombu's OperationalError, as kombu does when Redis refuses the
connection. The real broker killed and restarted is tests/integration/test_outbox_broker_fault.py.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery import current_app, shared_task
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from core import outbox
from core.models import CalculationRun, OutboxMessage
from core.outbox import outbox_backlog, outbox_enqueue, outbox_purge, outbox_relay
from core.services import calculation_run_create

pytestmark = pytest.mark.django_db

PROBE = "tests.core.outbox_probe"
CALLS: list[tuple[int, str]] = []


@shared_task(name=PROBE)
def outbox_probe_task(n: int, label: str = "") -> None:
    CALLS.append((n, label))


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    CALLS.clear()
    monkeypatch.setattr(outbox, "_prompt_paused_until", 0.0)


def _enqueue(*ns: int) -> list[OutboxMessage]:
    with transaction.atomic():
        return [outbox_enqueue(task_name=PROBE, args=[n], kwargs={"label": f"m{n}"}) for n in ns]


def _broker_failing_after(accepted: int):
    """A publisher whose broker takes ``accepted`` messages and then goes away."""
    sent: list[int] = []

    @contextmanager
    def publisher():
        def publish(message: OutboxMessage) -> None:
            if len(sent) >= accepted:
                raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            sent.append(message.args[0])

        yield publish

    return publisher, sent


# ---------------------------------------------------------------------------- enqueue


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_enqueue_outside_a_transaction_is_refused():
    # Given autocommit (no writer's transaction), When a message is enqueued, Then it is refused
    with pytest.raises(RuntimeError, match="inside the writer's transaction"):
        outbox_enqueue(task_name=PROBE, args=[1])
    assert not OutboxMessage.objects.exists()


def test_a_rolled_back_change_takes_its_message_with_it(django_capture_on_commit_callbacks):
    # Given a writer that enqueues a follow-up and then fails
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ZeroDivisionError), transaction.atomic():
        outbox_enqueue(task_name=PROBE, args=[1])
        1 / 0  # noqa: B018 - the writer's failure
    # Then neither the row nor the task exists
    assert not OutboxMessage.objects.exists()
    assert CALLS == []


def test_a_committed_message_is_sent_promptly_once(django_capture_on_commit_callbacks):
    # Given two messages written by one transaction
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first, second = _enqueue(1, 2)
    # Then after commit both tasks ran once, in order, with their arguments, and are marked sent
    assert CALLS == [(1, "m1"), (2, "m2")]
    assert len(callbacks) == 2  # one per message; the second found nothing left to send
    for message in (first, second):
        message.refresh_from_db()
        assert message.dispatched_at is not None and message.attempts == 1 and message.last_error == ""
    # And a relay afterwards has nothing to send (idempotent)
    assert outbox_relay() == 0
    assert CALLS == [(1, "m1"), (2, "m2")]


# ---------------------------------------------------------------------------- relay


def test_relay_sends_pending_messages_oldest_first_up_to_the_limit():
    # Given three pending messages (on_commit callbacks are not run by the test transaction)
    _enqueue(3, 1, 2)
    # When the relay runs with a limit of 2, Then the two oldest are sent
    assert outbox_relay(limit=2) == 2
    assert CALLS == [(3, "m3"), (1, "m1")]
    assert outbox_backlog()["pending"] == 1
    # And the next pass sends the last one
    assert outbox_relay(limit=2) == 1
    assert CALLS[-1] == (2, "m2")
    assert outbox_backlog() == {"pending": 0, "oldest_age_seconds": None}


def test_a_broker_error_stops_the_pass_and_leaves_the_rest_pending(monkeypatch):
    # Given four pending messages and a broker that takes two and then goes down
    messages = _enqueue(1, 2, 3, 4)
    publisher, sent = _broker_failing_after(2)
    monkeypatch.setattr(outbox, "_publisher", publisher)
    # a broker is configured (the relay publishes; the test stands in for the broker)
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    # When the relay runs, Then it reports two published, and does not raise
    assert outbox_relay() == 2
    assert sent == [1, 2]
    rows = {m.args[0]: m for m in OutboxMessage.objects.all()}
    assert rows[1].dispatched_at and rows[2].dispatched_at
    # And the message the broker refused records the attempt and the error; the last was not tried
    assert rows[3].dispatched_at is None and rows[3].attempts == 1
    assert rows[3].last_error == "OperationalError: Error 111 connecting to 127.0.0.1:6379. Connection refused."
    assert rows[3].available_at == messages[2].available_at  # a broker fault is no reason to wait
    assert rows[4].dispatched_at is None and rows[4].attempts == 0 and rows[4].last_error == ""
    # When the broker is back, Then the next pass sends the remaining two, and clears the error
    monkeypatch.undo()
    monkeypatch.setattr(outbox, "_prompt_paused_until", 0.0)
    assert outbox_relay() == 2
    assert CALLS == [(3, "m3"), (4, "m4")]
    rows[3].refresh_from_db()
    assert rows[3].attempts == 2 and rows[3].last_error == "" and rows[3].dispatched_at is not None


def test_a_broker_unreachable_at_connect_fails_the_first_message_only(monkeypatch):
    # Given a broker that refuses the connection itself
    _enqueue(1, 2)

    @contextmanager
    def refused():
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        yield  # pragma: no cover

    monkeypatch.setattr(outbox, "_publisher", refused)

    # a broker is configured (the relay publishes; the test stands in for the broker)

    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    # When the relay runs, Then nothing is sent, the first message records the failure
    assert outbox_relay() == 0
    attempts = list(OutboxMessage.objects.order_by("id").values_list("attempts", flat=True))
    assert attempts == [1, 0]


def test_a_message_failing_on_its_own_backs_off_and_holds_no_one_back():
    # Given a message naming a task that does not exist, before a good one
    with transaction.atomic():
        bad = outbox_enqueue(task_name="tests.core.no_such_task", args=[0])
        outbox_enqueue(task_name=PROBE, args=[7])
    before = timezone.now()
    # When the relay runs, Then the good one is sent
    assert outbox_relay() == 1
    assert CALLS == [(7, "")]
    # And the bad one stays pending, with its error, held back 2 s (2^attempts)
    bad.refresh_from_db()
    assert bad.dispatched_at is None and bad.attempts == 1
    assert bad.last_error == "LookupError: No task named 'tests.core.no_such_task' is registered."
    assert bad.available_at >= before + timedelta(seconds=2)
    assert outbox_relay() == 0  # still backing off


def test_after_a_prompt_attempt_found_the_broker_down_requests_skip_it_for_a_while(
    monkeypatch, django_capture_on_commit_callbacks
):
    # Given a prompt attempt that found the broker down
    publisher, _sent = _broker_failing_after(0)
    monkeypatch.setattr(outbox, "_publisher", publisher)
    # a broker is configured (the relay publishes; the test stands in for the broker)
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    with django_capture_on_commit_callbacks(execute=True):
        _enqueue(1)
    assert OutboxMessage.objects.get().attempts == 1
    # When the next request commits a message, Then its prompt attempt does not wait for the broker
    with django_capture_on_commit_callbacks(execute=True):
        _enqueue(2)
    assert list(OutboxMessage.objects.order_by("id").values_list("attempts", flat=True)) == [1, 0]
    # But the scheduled relay still tries (and here finds the broker still down)
    assert outbox_relay() == 0
    assert OutboxMessage.objects.order_by("id").first().attempts == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_relays_at_once_never_send_a_message_twice():
    # Given two committed messages (rows written directly: no prompt attempt), the first locked
    # by a relay in another connection
    first, _second = (OutboxMessage.objects.create(task_name=PROBE, args=[n]) for n in (1, 2))
    locked, release = threading.Event(), threading.Event()

    def other_relay() -> None:
        try:
            with transaction.atomic():
                list(OutboxMessage.objects.select_for_update().filter(pk=first.pk))
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_relay)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        # When this relay runs, Then it skips the locked row and sends the other one
        assert outbox_relay() == 1
        assert CALLS == [(2, "")]
    finally:
        release.set()
        thread.join(timeout=30)
    first.refresh_from_db()
    assert first.dispatched_at is None and first.attempts == 0


# ---------------------------------------------------------------------------- writers


def test_a_calculation_run_and_its_message_are_written_together():
    # Given a run created inside a transaction that then rolls back, Then neither row exists
    from portfolios.tasks import positions_snapshot_task

    with pytest.raises(ZeroDivisionError), transaction.atomic():
        calculation_run_create(kind="positions.snapshot", task=positions_snapshot_task, parameters={}, user=None)
        1 / 0  # noqa: B018
    assert not CalculationRun.objects.exists() and not OutboxMessage.objects.exists()
    # When it commits, Then the run's task is one pending message naming the run and its queue
    run = calculation_run_create(
        kind="positions.snapshot", task=positions_snapshot_task, parameters={}, user=None, queue="risk"
    )
    message = OutboxMessage.objects.get()
    assert (message.task_name, message.args, message.queue) == ("portfolios.tasks.positions_snapshot", [run.pk], "risk")


def test_a_trade_batch_queues_its_follow_ups_and_a_second_delivery_changes_nothing(
    desk, oms_user, oms, settings, django_capture_on_commit_callbacks
):
    # Given the TCA book (tests/execution_quality/book.py) and every trade follow-up switched on
    from execution_quality.models import TcaOrderResult
    from portfolios.models import Trade
    from riskapp.models import LimitBreach
    from surveillance.models import Alert
    from tests.execution_quality.book import book_build

    book = book_build(desk)
    settings.SURVEILLANCE_INCREMENTAL = True
    settings.TCA_INCREMENTAL = True
    row = {
        "trade_id": "OUTBOX-FILL",
        "account": book.account.code,
        "instrument": book.instrument.symbol,
        "order": book.buy_children[1].client_order_id,
        "side": "buy",
        "price": "100.07",
        "quantity": "10",
        "ts": "2024-03-05T14:33:30.000001Z",
    }
    # When the OMS posts a fill, without the after-commit attempt (as if the broker were down)
    response = oms.post("/api/v1/trades", data={"rows": [row]}, format="json")
    assert response.status_code == 201, response.content
    trade_id = Trade.objects.get(trade_id="OUTBOX-FILL").pk
    # Then the batch's transaction holds one message per follow-up, naming the new trade
    assert sorted(OutboxMessage.objects.filter(dispatched_at__isnull=True).values_list("task_name", "args")) == [
        ("execution_quality.tasks.tca_after_trades", [[trade_id]]),
        ("riskapp.tasks.limits_after_trades", [[trade_id]]),
        ("surveillance.tasks.surveillance_after_batch", [[], [trade_id], oms_user.pk]),
    ]
    # When the relay sends them, Then the parent order is analysed with the new fill
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_relay() == 3
    assert TcaOrderResult.objects.get(order=book.buy).n_fills == 3
    results = list(TcaOrderResult.objects.order_by("order_id").values("order_id", "n_fills", "cost_arrival_bps"))
    alerts, breaches = Alert.objects.count(), LimitBreach.objects.count()
    # When every message is delivered a second time (a relay that died before marking them sent)
    OutboxMessage.objects.filter(task_name__contains="after").update(dispatched_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_relay() == 3
    # Then the results are the same: the follow-ups are idempotent
    assert list(TcaOrderResult.objects.order_by("order_id").values("order_id", "n_fills", "cost_arrival_bps")) == (
        results
    )
    assert (Alert.objects.count(), LimitBreach.objects.count()) == (alerts, breaches)
    runs = CalculationRun.objects.filter(kind="tca.run")
    assert runs.count() == 2 and set(runs.values_list("status", flat=True)) == {"succeeded"}


# ---------------------------------------------------------------------------- housekeeping


def test_purge_deletes_messages_sent_over_a_week_ago_and_keeps_pending_ones():
    old_sent, old_pending, recent_sent = _enqueue(1, 2, 3)
    long_ago = timezone.now() - timedelta(days=8)
    OutboxMessage.objects.filter(pk=old_sent.pk).update(dispatched_at=long_ago, created_at=long_ago)
    OutboxMessage.objects.filter(pk=old_pending.pk).update(created_at=long_ago)
    OutboxMessage.objects.filter(pk=recent_sent.pk).update(dispatched_at=timezone.now())
    from core.tasks import outbox_purge_task

    assert outbox_purge_task() == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {old_pending.pk, recent_sent.pk}
    assert outbox_purge(older_than=timedelta(days=7)) == 0


def test_beat_runs_the_relay_every_30_seconds_on_the_default_queue(settings):
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["outbox-relay"]
    assert entry["task"] == "core.tasks.outbox_relay" and entry["task"] in app.tasks
    assert entry["schedule"] == 30.0 and entry["options"]["queue"] == "default"
    assert settings.CELERY_BEAT_SCHEDULE["purge-outbox-messages"]["task"] in app.tasks


def test_the_relay_task_drains_the_backlog():
    from core.tasks import outbox_relay_task

    _enqueue(1, 2, 3)
    assert outbox_relay_task() == 3
    assert [n for n, _ in CALLS] == [1, 2, 3]


def test_the_command_relays_once_and_reports(capsys):
    _enqueue(1, 2)
    call_command("outbox_relay")
    assert capsys.readouterr().out.strip() == "Published 2 message(s); 0 pending."


def test_the_command_loops_until_stopped(monkeypatch, capsys):
    # Given a loop whose sleep is interrupted (Ctrl-C) after the first pass
    _enqueue(1)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        raise KeyboardInterrupt

    monkeypatch.setattr("core.management.commands.outbox_relay.time.sleep", sleep)
    call_command("outbox_relay", "--loop", "--interval", "2.5")
    assert slept == [2.5]
    assert capsys.readouterr().out.splitlines() == ["Published 1 message(s); 0 pending.", "Stopped."]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--limit", "0"], "--limit must be at least 1."),
        (["--interval", "5"], "--interval only applies with --loop."),
        (["--loop", "--interval", "0"], "--interval must be a positive number of seconds."),
        (["--loop", "--interval", "nan"], "--interval must be a positive number of seconds."),
    ],
)
def test_the_command_refuses_nonsense(argv, message):
    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        call_command("outbox_relay", *argv)
