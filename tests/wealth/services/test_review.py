"""The daily review of one client and the scan over all clients (a CalculationRun)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from core.errors import PermissionDenied
from core.models import CalculationRun
from core.roles import Role
from tests.factories import ClientFactory, GoalFactory, TaxLotFactory, WealthAccountFactory
from tests.wealth.services.conftest import AS_OF, MODELS
from tests.wealth.services.helpers import answers_at
from wealth.models import ClientReview, GoalPlan, Recommendation
from wealth.services import client_review, profile_submit, wealth_scan_queue
from wealth.services.review import harvest_attention_threshold


def _drifting_client(advisor, market, prices, code):
    """Everything in AAPL (bought at a 5,000 short-term loss: about 1,600 of tax at 32 %) against a
    Balanced target: drift, a harvestable loss, concentration, and a goal whose plan is at 40 %."""
    client = ClientFactory(advisor=advisor, code=code)
    profile_submit(actor=advisor, client=client, answers=answers_at(2))
    account = WealthAccountFactory(client=client, cash=Decimal(0))
    TaxLotFactory(account=account, instrument=market["AAPL"], acquired_on=date(2022, 10, 3), quantity=Decimal(200),
                  cost_basis=Decimal(str(round(200 * prices["AAPL"] + 5000, 2))))  # fmt: skip
    goal = GoalFactory(client=client)
    GoalPlan.objects.create(goal=goal, success_probability=0.40, median_outcome=1, fan={}, seed=1, paths=10_000)
    return client


@pytest.mark.django_db
def test_review_flags_drift_harvest_goals_and_concentration(market, advisor, prices):
    client = _drifting_client(advisor, market, prices, "R1")
    review = client_review(client=client)
    assert review.as_of == AS_OF and review.attention
    assert review.market_value == Decimal(str(round(200 * prices["AAPL"], 4)))
    # Drift = ½Σ|w − target| with everything in AAPL = 1 − the model's AAPL weight.
    profile = client.profiles.get().profile
    expected = 1 - MODELS[profile].get("AAPL", 0.0)
    assert review.drift == pytest.approx(expected)
    # 5,000 × 32 % = 1,600 less round-trip costs: above the $1,000 floor (0.25 % of ~$30k is less).
    assert 1_000 <= review.harvest_saving <= 1_600 and review.goals_off_track == 1 and review.coaching_flags >= 1
    assert any("harvesting" in r for r in review.reasons)
    assert any(f"Drift {expected:.1%}" in r for r in review.reasons)
    # Upserted per client and day.
    assert client_review(client=client).pk == review.pk and ClientReview.objects.count() == 1


@pytest.mark.django_db
def test_a_quiet_client_needs_no_attention(market, advisor, prices):
    client = ClientFactory(advisor=advisor)
    profile_submit(actor=advisor, client=client, answers=answers_at(9))  # profile 5: 25 % each
    account = WealthAccountFactory(client=client, cash=Decimal(0))
    for sym in ("MTUM", "AAPL", "MSFT", "XOM"):
        TaxLotFactory(account=account, instrument=market[sym], acquired_on=AS_OF - timedelta(days=800),
                      quantity=Decimal(str(round(25_000 / prices[sym], 6))), cost_basis=Decimal(1000))  # fmt: skip
    review = client_review(client=client)
    assert review.drift == pytest.approx(0.0, abs=1e-5) and not review.attention and review.reasons == []


def test_harvest_attention_threshold_is_1000_or_a_quarter_percent_of_the_book():
    assert harvest_attention_threshold(Decimal(100_000)) == Decimal(1_000)  # 0.25 % is 250
    assert harvest_attention_threshold(400_000) == Decimal(1_000)  # exactly 0.25 %
    assert harvest_attention_threshold(Decimal(2_000_000)) == Decimal(5_000)


@pytest.mark.django_db
@pytest.mark.parametrize(("loss", "flagged"), [(26_000, False), (40_000, True)])
def test_a_large_book_needs_a_saving_of_a_quarter_percent_to_call_for_attention(market, advisor, prices, loss, flagged):
    # Given a $1.6 million book on its profile-5 target (25 % each, held 800 days: long-term, 15 %)
    # whose AAPL lot stands ``loss`` below its basis: the bar is 0.25 % × 1.6 M = $4,000.
    client = ClientFactory(advisor=advisor)
    profile_submit(actor=advisor, client=client, answers=answers_at(9))
    account = WealthAccountFactory(client=client, cash=Decimal(0))
    for sym in ("MTUM", "AAPL", "MSFT", "XOM"):
        value = round(400_000 / prices[sym], 6) * prices[sym]
        TaxLotFactory(account=account, instrument=market[sym], acquired_on=AS_OF - timedelta(days=800),
                      quantity=Decimal(str(round(400_000 / prices[sym], 6))),
                      cost_basis=Decimal(str(round(value + (loss if sym == "AAPL" else -1000), 2))))  # fmt: skip
    review = client_review(client=client)
    bar = harvest_attention_threshold(review.market_value)
    assert review.drift == pytest.approx(0.0, abs=1e-5) and bar == pytest.approx(4_000, rel=1e-3)
    # Then a saving of about 26,000 × 15 % − costs (≈ 3,500: above $1,000, below the bar) is not
    # flagged, and about 40,000 × 15 % − costs (≈ 5,600) is.
    assert (1_000 < review.harvest_saving < bar) is not flagged
    assert (review.harvest_saving >= bar) is flagged
    assert review.attention is flagged and any("harvesting" in r for r in review.reasons) is flagged


@pytest.mark.django_db
def test_scan_reviews_every_client_and_refreshes_proposals(
    market, advisor, prices, make_user, django_capture_on_commit_callbacks
):
    other = make_user(Role.WEALTH_ADVISOR, username="advisor_b")
    a = _drifting_client(advisor, market, prices, "S1")
    b = _drifting_client(other, market, prices, "S2")
    with django_capture_on_commit_callbacks(execute=True):  # tasks run in-process in tests
        run = wealth_scan_queue(actor=None)  # the daily schedule: every client
    run.refresh_from_db()
    assert run.status == CalculationRun.Status.SUCCEEDED and run.progress == 100 and run.queue == "wealth"
    assert run.result["clients"] == 2 and run.result["attention"] == 2 and run.result["failed"] == 0
    for client in (a, b):
        kinds = set(Recommendation.objects.filter(client=client, status="proposed").values_list("kind", flat=True))
        assert kinds == {"rebalance", "harvest", "coaching"}
    assert AuditEvent.objects.filter(action="wealth.scan", object_id=str(run.pk)).exists()
    # An advisor's scan covers their own clients only; a second scan supersedes the open proposals.
    with django_capture_on_commit_callbacks(execute=True):
        mine = wealth_scan_queue(actor=advisor)
    mine.refresh_from_db()
    assert mine.result["clients"] == 1
    assert Recommendation.objects.filter(client=a, status="superseded").count() == 3
    assert Recommendation.objects.filter(client=b, status="superseded").count() == 0


@pytest.mark.django_db
def test_scan_is_refused_to_other_roles(make_user):
    with pytest.raises(PermissionDenied):
        wealth_scan_queue(actor=make_user(Role.RISK_OFFICER, username="r"))


def test_daily_schedule_queues_the_scan_on_the_wealth_queue(settings):
    from wealth.tasks import wealth_scan_daily_task

    entry = settings.CELERY_BEAT_SCHEDULE["wealth-daily-scan"]
    assert entry["task"] == wealth_scan_daily_task.name
    assert settings.CELERY_TASK_ROUTES["wealth.tasks.*"] == {"queue": "wealth"}
