"""Storing detections as alerts: one alert per episode, merging, history, alert_raise validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from audit.models import AuditEvent
from core.errors import ValidationFailed
from surveillance import services
from surveillance.engine.types import Detection
from surveillance.models import Alert
from tests.factories import AccountFactory, AlertFactory, InstrumentFactory

T0 = datetime(2022, 12, 28, 15, 0, tzinfo=UTC)


def _us(dt: datetime) -> int:
    return int(dt.timestamp() * 1_000_000)


def _detection(account, instrument, *, start=T0, minutes=2, score=60.0, orders=(1, 2), scenario="spoofing"):
    return Detection(
        scenario=scenario,
        account=account.pk,
        instrument=instrument.pk,
        start_us=_us(start),
        end_us=_us(start + timedelta(minutes=minutes)),
        score=score,
        summary="Large bid cancelled in 0.4 s while selling",
        order_ids=tuple(orders),
        features={"size_vs_median": 12.0},
    )


@pytest.fixture
def who(db):
    return AccountFactory(code="SPOOFER"), InstrumentFactory(symbol="XYZ")


def test_a_new_episode_becomes_one_alert_on_the_accounts_desk(who):
    account, inst = who
    out = services.alerts_store(detections=[_detection(account, inst)], run=None, parameters={"spoofing": {"x": 1}})
    alert = Alert.objects.get(pk=out.created[0])
    assert alert.desk_id == account.desk_id and alert.state == Alert.State.NEW
    assert alert.score == 60.0 and alert.order_ids == [1, 2] and alert.parameters == {"x": 1}


def test_a_close_detection_of_the_same_episode_merges_and_raises_the_score(who):
    account, inst = who
    services.alerts_store(detections=[_detection(account, inst)], run=None, parameters={})
    # given a second hit 10 minutes later with new evidence
    out = services.alerts_store(
        detections=[_detection(account, inst, start=T0 + timedelta(minutes=10), orders=(3,))], run=None, parameters={}
    )
    # then it is folded into the open alert: noisy-or 1 - 0.4 * 0.4 = 0.84
    assert out.created == [] and len(out.updated) == 1
    alert = Alert.objects.get()
    assert alert.order_ids == [1, 2, 3] and alert.occurrences == 2
    assert alert.score == pytest.approx(84.0)
    assert alert.window_end == T0 + timedelta(minutes=12)


def test_rerunning_over_the_same_data_changes_nothing(who):
    account, inst = who
    d = _detection(account, inst)
    services.alerts_store(detections=[d], run=None, parameters={})
    before = Alert.objects.get()
    out = services.alerts_store(detections=[d], run=None, parameters={})
    after = Alert.objects.get()
    assert out.created == [] and out.updated == []
    assert (after.score, after.occurrences, after.order_ids) == (before.score, before.occurrences, before.order_ids)


def test_a_distant_or_closed_episode_gets_a_new_alert_with_a_history_boost(who):
    account, inst = who
    AlertFactory(
        account=account, instrument=inst, state="closed", outcome="no_action", closing_rationale="Benign", score=60
    )
    out = services.alerts_store(detections=[_detection(account, inst, score=60)], run=None, parameters={})
    # one prior alert of the same scenario closes 15% of the gap to 100: 100 - 40 * 0.85 = 66
    assert Alert.objects.get(pk=out.created[0]).score == pytest.approx(66.0)


def test_alert_raise_validates_and_audits(who):
    account, inst = who
    with pytest.raises(ValidationFailed) as err:
        services.alert_raise(
            scenario="nonsense",
            account=account,
            instrument=inst,
            window_start=T0,
            window_end=T0 - timedelta(seconds=1),
            score=120,
            summary=" ",
        )
    assert set(err.value.extra["fields"]) == {"scenario", "score", "window_end", "summary"}
    assert not Alert.objects.exists()
    alert = services.alert_raise(
        scenario="best_execution",
        account=account,
        instrument=inst,
        window_start=T0,
        window_end=T0 + timedelta(minutes=5),
        score=72.5,
        summary="Cost 41 bps vs 12 bps expected",
        features={"cost_bps": 41.0},
    )
    assert alert.source == Alert.Source.PRODUCT and alert.scenario == "best_execution"
    assert AuditEvent.objects.filter(action="surveillance.alert.raise", object_id=str(alert.pk)).exists()


def _item(account, inst, *, start=T0, minutes=2, score=60.0, orders=(1,), summary="Cost 41 bps vs 12 bps expected"):
    return services.AlertInput(
        scenario="best_execution",
        account=account,
        instrument=inst,
        window_start=start,
        window_end=start + timedelta(minutes=minutes),
        score=score,
        summary=summary,
        order_ids=orders,
    )


def test_a_batch_merges_its_own_episodes_and_writes_one_audit_event(who):
    account, inst = who
    # given two poor executions 10 minutes apart (one episode) and one two hours later
    items = [
        _item(account, inst, score=60.0, orders=(1,)),
        _item(account, inst, start=T0 + timedelta(minutes=10), score=60.0, orders=(2,)),
        _item(account, inst, start=T0 + timedelta(hours=2), score=50.0, orders=(3,)),
    ]
    alerts = services.alerts_raise(items=items)
    # then two alerts: the first two items share one (noisy-or 1 - 0.4 * 0.4 = 0.84)
    assert Alert.objects.count() == 2 and alerts[0].pk == alerts[1].pk != alerts[2].pk
    first = Alert.objects.get(pk=alerts[0].pk)
    assert first.order_ids == [1, 2] and first.occurrences == 2 and first.score == pytest.approx(84.0)
    # the later episode's alert counts the first as history, as if raised one at a time: 100 - 50 * 0.85
    assert Alert.objects.get(pk=alerts[2].pk).score == pytest.approx(57.5)
    # and one audit event lists both alerts with their scores
    events = AuditEvent.objects.filter(action__startswith="surveillance.alert.")
    assert events.count() == 1
    assert sorted((a["id"], a["score"]) for a in events.get().after["created"]) == sorted(
        (a.pk, a.score) for a in Alert.objects.all()
    )
    # when the same batch is raised again, nothing changes and nothing is audited
    again = services.alerts_raise(items=items)
    assert [a.pk for a in again] == [a.pk for a in alerts] and events.count() == 1
    assert Alert.objects.get(pk=first.pk).score == pytest.approx(84.0)


def test_a_batch_with_one_invalid_item_writes_nothing(who):
    account, inst = who
    items = [_item(account, inst), _item(account, inst, score=101.0), _item(account, inst, summary=" ")]
    with pytest.raises(ValidationFailed) as err:
        services.alerts_raise(items=items)
    assert err.value.extra["items"] == {
        1: {"score": "Must be between 0 and 100."},
        2: {"summary": "Must not be blank."},
    }
    assert not Alert.objects.exists() and not AuditEvent.objects.exists()


def test_alerts_store_merges_many_detections_like_one_at_a_time(who):
    account, inst = who
    # given a stored alert, then a run whose first detection merges into it and whose second and
    # third are one new episode (no history boost from each other: one run's detections)
    services.alerts_store(detections=[_detection(account, inst, orders=(1,))], run=None, parameters={})
    out = services.alerts_store(
        detections=[
            _detection(account, inst, start=T0 + timedelta(minutes=10), orders=(2,)),
            _detection(account, inst, start=T0 + timedelta(hours=3), score=40.0, orders=(7,)),
            _detection(account, inst, start=T0 + timedelta(hours=3, minutes=5), score=40.0, orders=(8,)),
        ],
        run=None,
        parameters={},
    )
    assert len(out.created) == 1 and len(out.updated) == 1
    merged, new = Alert.objects.get(pk=out.updated[0]), Alert.objects.get(pk=out.created[0])
    assert merged.order_ids == [1, 2] and merged.score == pytest.approx(84.0)
    # one prior alert: 100 - 60 * 0.85 = 49, then noisy-or with 40: 1 - 0.51 * 0.6 = 0.694
    assert new.order_ids == [7, 8] and new.score == pytest.approx(69.4)
