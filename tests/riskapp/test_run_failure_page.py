"""A risk run that keeps failing for a reason other than its inputs ends failed after its
retries, and the portfolio page and the run's progress partial show why (eager Celery)."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client

from core.models import CalculationRun
from core.roles import Role

pytestmark = pytest.mark.django_db


def test_given_a_risk_run_that_kept_failing_then_the_portfolio_page_shows_its_error(
    priced, fast_parameters, make_user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from riskapp.services import runs as risk_runs

    settings.RUN_MAX_RETRIES = 1

    def save(**kwargs):
        raise OperationalError("canceling statement due to lock timeout")

    # Given saving a risk run's results fails on every attempt
    monkeypatch.setattr(risk_runs, "risk_run_save", save)
    with django_capture_on_commit_callbacks(execute=True):
        risk_run = risk_runs.risk_run_create(portfolio=priced.portfolio, user=None, parameters=fast_parameters)
    risk_run.calculation.refresh_from_db()
    assert risk_run.calculation.status == CalculationRun.Status.FAILED and risk_run.calculation.attempts == 2

    # When a risk officer opens the portfolio's page and the run's progress partial
    client = Client()
    client.force_login(make_user(Role.RISK_OFFICER))
    page = client.get(f"/risk/portfolios/{priced.portfolio.code}/").content.decode()
    partial = client.get(f"/runs/{risk_run.calculation_id}/progress/").content.decode()

    # Then both show the error and the number of attempts
    for html in (page, partial):
        assert "OperationalError: canceling statement due to lock timeout" in html
        assert "Gave up after 2 attempts." in html
