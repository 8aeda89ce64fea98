"""``wealth_demo_setup --small`` on the small test market: builds everything once, then is a no-op."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from core.models import CalculationRun
from wealth.models import Client, ClientReview, GoalPlan, ModelPortfolio, RiskProfile, Substitute, TaxLot


@pytest.mark.django_db
def test_small_demo_builds_models_clients_plans_and_a_scan(market, django_capture_on_commit_callbacks):
    ModelPortfolio.objects.all().delete()  # the demo builds its own with the optimiser
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("wealth_demo_setup", "--small", stdout=out)
    assert ModelPortfolio.objects.filter(is_active=True).count() == 5
    vols = [float(m.description.split(" volatility")[0].split("at ")[-1].rstrip(" %")) for m in
            ModelPortfolio.objects.order_by("profile")]  # fmt: skip
    assert vols == sorted(vols)  # risk rises from profile 1 to 5
    clients = Client.objects.filter(code__startswith="WD-")
    assert clients.count() == 6 and RiskProfile.objects.count() == 6
    assert TaxLot.objects.filter(account__client__in=clients).exists()
    assert GoalPlan.objects.count() >= 6 and Substitute.objects.exists()
    run = CalculationRun.objects.get(kind="wealth.scan")
    assert run.status == CalculationRun.Status.SUCCEEDED and ClientReview.objects.count() == 6
    again = io.StringIO()
    call_command("wealth_demo_setup", "--small", stdout=again)
    assert "already loaded" in again.getvalue() and Client.objects.count() == 6
