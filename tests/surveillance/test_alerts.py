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
