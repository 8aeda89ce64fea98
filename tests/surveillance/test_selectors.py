"""Surveillance selectors and the alert filter set: desk scoping, filters, evidence, dashboard figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from core.errors import NotFound, ValidationFailed
from portfolios.models import OrderEvent
from surveillance import selectors
from surveillance.models import Alert
from tests.factories import AccountFactory, AlertFactory, CaseFactory, OrderFactory, TradeFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_given_alerts_on_two_desks_when_listing_then_only_the_users_desk_is_seen(analyst, desk, other_desk):
    mine = AlertFactory(account=AccountFactory(desk=desk))
    AlertFactory(account=AccountFactory(desk=other_desk))

    assert list(selectors.alert_list(user=analyst)) == [mine]
    root = UserFactory(username="root", is_superuser=True)
    assert selectors.alert_list(user=root).count() == 2


def test_given_alert_of_another_desk_when_getting_then_not_found(analyst, other_desk):
    foreign = AlertFactory(account=AccountFactory(desk=other_desk))

    with pytest.raises(NotFound):
        selectors.alert_get(user=analyst, pk=foreign.pk)
    with pytest.raises(NotFound):
        selectors.alert_get(user=analyst, pk="abc")
    with pytest.raises(NotFound):
        selectors.case_get(user=analyst, pk=CaseFactory(desk=other_desk).pk)


def test_given_filters_when_listing_then_each_narrows_the_queue(analyst, desk, make_user):
    account = AccountFactory(desk=desk)
    high = AlertFactory(account=account, scenario="layering", score=90)
    low = AlertFactory(account=account, scenario="spoofing", score=20, assignee=analyst)
    closed = AlertFactory(
        account=account,
        score=60,
        state="closed",
        outcome="no_action",
        closing_rationale="Explained by news.",
        closed_at=timezone.now(),
    )

    def ids(**filters):
        return {a.pk for a in selectors.alert_list(user=analyst, filters=filters)}

    assert ids(scenario=["layering"]) == {high.pk}
    assert ids(min_score="50") == {high.pk, closed.pk}
    assert ids(max_score="50") == {low.pk}
    assert ids(assignee="me") == {low.pk}
    assert ids(assignee="none") == {high.pk, closed.pk}
    assert ids(assignee=str(analyst.pk)) == {low.pk}
    assert ids(state=["open"]) == {high.pk, low.pk}
    assert ids(state=["closed"]) == {closed.pk}
    assert ids(desk=desk.code) == {high.pk, low.pk, closed.pk}


def test_given_age_filter_then_only_alerts_open_that_long_remain(analyst, desk):
    old = AlertFactory(account=AccountFactory(desk=desk))
    Alert.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    AlertFactory(account=AccountFactory(desk=desk))

    assert [a.pk for a in selectors.alert_list(user=analyst, filters={"age": "7"})] == [old.pk]


def test_given_bad_filters_when_listing_then_validation_failed_names_the_fields(analyst):
    with pytest.raises(ValidationFailed) as err:
        selectors.alert_list(user=analyst, filters={"assignee": "someone", "min_score": "x", "scenario": ["nope"]})

    assert set(err.value.extra["fields"]) == {"assignee", "min_score", "scenario"}


def test_given_alert_naming_orders_and_trades_then_evidence_is_in_time_order(desk):
    account = AccountFactory(desk=desk)
    t0 = datetime(2022, 12, 28, 14, 30, tzinfo=UTC)
    late = OrderFactory(account=account, arrival_ts=t0 + timedelta(seconds=5))
    early = OrderFactory(account=account, arrival_ts=t0)
    OrderEvent.objects.create(order=early, sequence=0, event_type="new", ts=t0)
    OrderEvent.objects.create(order=early, sequence=1, event_type="cancel", ts=t0 + timedelta(seconds=9))
    OrderEvent.objects.create(order=late, sequence=0, event_type="new", ts=t0 + timedelta(seconds=5))
    trade = TradeFactory(account=account, ts=t0 + timedelta(seconds=7))
    alert = AlertFactory(account=account, order_ids=[late.pk, early.pk], trade_ids=[trade.pk])

    evidence = selectors.alert_evidence(alert=alert)

    assert [o.pk for o in evidence.orders] == [early.pk, late.pk]
    assert [t.pk for t in evidence.trades] == [trade.pk]
    assert [(i.kind, (i.ts - t0).seconds) for i in evidence.timeline] == [
        ("order_event", 0),
        ("order_event", 5),
        ("trade", 7),
        ("order_event", 9),
    ]


def test_given_closed_and_open_alerts_then_stats_count_and_time_them(analyst, desk):
    """Median and p90 of [1, 2, 3, 4, 5] hours with linear interpolation are 3 and 4.6 hours."""
    account = AccountFactory(desk=desk)
    now = timezone.now()
    for hours in (1, 2, 3, 4, 5):
        alert = AlertFactory(account=account, scenario="wash_trades")
        Alert.objects.filter(pk=alert.pk).update(
            created_at=now - timedelta(hours=hours + 1),
            closed_at=now - timedelta(hours=1),
            state="closed",
            outcome="no_action",
            closing_rationale="ok",
        )
    aged = AlertFactory(account=account, state="in_review")
    Alert.objects.filter(pk=aged.pk).update(created_at=now - timedelta(days=4))
    AlertFactory(account=account)

    stats = selectors.alert_stats(user=analyst, days=7)

    assert stats.time_to_close["wash_trades"].n == 5
    assert stats.time_to_close["wash_trades"].median_hours == pytest.approx(3.0, abs=1e-6)
    assert stats.time_to_close["wash_trades"].p90_hours == pytest.approx(4.6, abs=1e-6)
    assert stats.open_by_state == {"new": 1, "in_review": 1, "escalated": 0}
    assert stats.ageing["3–7 days"] == 1 and stats.ageing["< 1 day"] == 1
    assert len(stats.per_day) == 7
    assert sum(sum(c.values()) for c in stats.per_day.values()) == 7
    assert stats.outcomes == {"no_action": 5}
