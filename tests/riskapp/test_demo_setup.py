"""manage.py risk_demo_setup: default limits and scenarios once, a risk run per portfolio each time."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from riskapp.models import Limit, RiskRun, Scenario
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

KINDS = {"position_pct_nav", "sector_exposure", "gross_leverage", "net_leverage", "var", "es", "stress_loss",
         "daily_loss"}  # fmt: skip


def test_given_a_priced_book_when_run_twice_then_limits_and_scenarios_once_and_runs_each_time(priced):
    UserFactory(username="admin", is_superuser=True, is_staff=True)
    out = StringIO()

    call_command("risk_demo_setup", stdout=out)
    limits = {lim.kind: lim for lim in Limit.objects.filter(portfolio=priced.portfolio)}
    assert set(limits) == KINDS
    assert limits["var"].method == "historical" and limits["var"].horizon_days == 1
    # Not a demo book: default thresholds (2 % of NAV per name, amounts as shares of the 1m NAV).
    assert float(limits["position_pct_nav"].threshold) == 0.02
    assert float(limits["var"].threshold) == 50_000
    assert Scenario.objects.count() == 2
    assert RiskRun.objects.count() == 1
    assert "8 limits created" in out.getvalue()

    limits["var"].threshold = 123
    limits["var"].save()
    call_command("risk_demo_setup", stdout=StringIO())

    assert Limit.objects.count() == 8 and Scenario.objects.count() == 2
    assert Limit.objects.get(kind="var").threshold == 123  # an edit made in the app survives
    assert RiskRun.objects.count() == 2
