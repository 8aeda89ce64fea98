"""Storing a TCA run's results: the PostgreSQL COPY upsert and the portable ORM upsert agree."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from core.models import CalculationRun
from execution_quality.models import TcaExecutionResult, TcaOrderResult
from execution_quality.services import runs, tca_run_create
from surveillance.models import Alert
from tests.execution_quality.book import book_build

pytestmark = pytest.mark.django_db


def _run(capture, **kwargs) -> CalculationRun:
    with capture(execute=True):
        run = tca_run_create(**kwargs)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


def _rows() -> dict[int, dict]:
    """Every stored result by order id (trades: negative trade id), without run and timestamp."""
    rows = {
        r.order_id: {**model_to_dict(r, exclude=["run", "computed_at"]), "pk": r.pk}
        for r in TcaOrderResult.objects.all()
    }
    rows.update({-e.trade_id: {**model_to_dict(e), "pk": e.pk} for e in TcaExecutionResult.objects.all()})
    return rows


def test_given_the_portable_path_then_the_copy_path_rewrites_the_same_rows_in_place(
    desk, django_capture_on_commit_callbacks, monkeypatch, settings
):
    settings.TCA_POOR_MARGIN_BPS = 25.0
    book = book_build(desk)
    # given a run stored through the ORM path (the embedded SQLite default's)
    with monkeypatch.context() as m:
        m.setattr(runs, "_copy_supported", lambda: False)
        first = _run(django_capture_on_commit_callbacks, user=None, order_ids=book.parent_ids)
    portable = _rows()
    assert first.result["orders"] == 3 and len(portable) == 3 + 4
    # when the same orders are stored again through COPY and ON CONFLICT DO UPDATE
    second = _run(django_capture_on_commit_callbacks, user=None, order_ids=book.parent_ids)
    # then every row keeps its id and figures (the alert id included) and now names the second run
    assert _rows() == portable
    assert set(TcaOrderResult.objects.values_list("run_id", flat=True)) == {second.pk}
    assert TcaOrderResult.objects.get(order=book.poor).details["alert_id"] == Alert.objects.get().pk
    assert second.result["alerts_raised"] == 0
