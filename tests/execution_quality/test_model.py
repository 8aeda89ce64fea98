"""Training the cost model on stored TCA results: errors, the model card in the audit trail,
SHAP values that add up to the prediction, and runs that use the active model.

SHAP local accuracy: base + Σ values = the model's prediction (Lundberg et al. 2020,
*Nature Machine Intelligence* 2, "From local explanations to global understanding with
explainable AI for trees").
"""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from core.errors import ValidationFailed
from core.models import CalculationRun
from core.roles import Role
from execution_quality.engine.cost_model import MIN_TRAINING_ORDERS, cost_model_predict
from execution_quality.models import CostModel, TcaOrderResult
from execution_quality.services import cost_model_active, cost_model_train, cost_model_train_create, tca_run_create
from execution_quality.tasks import cost_model_retrain_task, cost_model_train_task
from tests.execution_quality.book import book_build, cost_history_build

pytestmark = pytest.mark.django_db


def test_given_too_little_data_then_training_fails_with_a_clear_error(desk, django_capture_on_commit_callbacks):
    cost_history_build(desk, MIN_TRAINING_ORDERS - 1)
    with pytest.raises(ValidationFailed) as exc:
        cost_model_train(user=None)
    assert f"{MIN_TRAINING_ORDERS - 1} analysed orders" in exc.value.message
    assert f"at least {MIN_TRAINING_ORDERS}" in exc.value.message
    assert "orders" in exc.value.extra["fields"]
    assert not CostModel.objects.exists()

    # the monthly schedule queues a training run, which fails with the reason and changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        run_id = cost_model_retrain_task.apply().get()
    run = CalculationRun.objects.get(pk=run_id)
    assert (run.kind, run.queue, run.user, run.status) == ("tca.model_train", "tca", None, "failed")
    assert run.task_name == cost_model_train_task.name
    assert f"Too little data to train the cost model: {MIN_TRAINING_ORDERS - 1} analysed orders" in run.error
    assert run.result == {}
    assert not CostModel.objects.exists()


def test_given_enough_data_when_training_is_queued_then_the_run_trains_and_reports_the_model(
    desk, make_user, django_capture_on_commit_callbacks
):
    supervisor = make_user(Role.COMPLIANCE_SUPERVISOR)
    cost_history_build(desk, 80)

    with django_capture_on_commit_callbacks(execute=True):
        run = cost_model_train_create(user=supervisor)
    assert run.status == "queued"  # nothing trains until the row commits
    run.refresh_from_db()

    assert run.status == "succeeded", run.error
    model = CostModel.objects.get(is_active=True)
    assert model.trained_by == supervisor and model.card["trained_by"] == supervisor.username
    assert run.result["version"] == model.version and run.result["orders"] == 80
    assert run.result["metrics"]["n_train"] == 64 and run.result["metrics"]["n_test"] == 16
    assert run.result["metrics"]["mae_bps"] == pytest.approx(model.card["metrics"]["mae_bps"], abs=1e-4)
    assert run.progress == 100
    assert AuditEvent.objects.filter(action="run.succeed", object_id=str(run.pk)).exists()
    # a redelivered task leaves a finished run (and the active model) alone
    cost_model_train_task.apply(args=[run.pk])
    assert CostModel.objects.count() == 1


def test_given_enough_data_when_trained_then_active_and_the_card_is_in_the_audit_trail(desk, make_user):
    supervisor = make_user(Role.COMPLIANCE_SUPERVISOR)
    rows = cost_history_build(desk, 80)
    model = cost_model_train(user=supervisor)

    assert model.is_active and model.trained_by == supervisor and model.version.startswith("tca-cost-")
    card = model.card
    assert card["training_window"] == {
        "from": rows[0].arrival_ts.isoformat(),
        "to": rows[-1].arrival_ts.isoformat(),
        "orders": 80,
    }
    assert card["metrics"]["n_train"] == 64 and card["metrics"]["n_test"] == 16
    assert {"mae_bps", "rmse_bps", "r2"} <= set(card["metrics"])
    assert "size_adv" in card["features"] and "venue=XNYS" in card["features"]
    assert card["parameters"]["n_estimators"] == 200 and card["libraries"]["scikit-learn"]
    event = AuditEvent.objects.get(action="tca.model.card")
    assert event.object_id == str(model.pk) and event.after == card and event.actor == supervisor
    assert len(event.inputs_hash) == 64

    # the stored artifact loads back as the active model
    active = cost_model_active()
    assert active is not None and active.version == model.version

    # a second training replaces the active model (one active at a time)
    second = cost_model_train(user=None)
    assert CostModel.objects.filter(is_active=True).get() == second
    assert AuditEvent.objects.filter(action="tca.model.card").order_by("id").last().before == {"active": model.version}


def test_given_an_active_model_when_run_then_predictions_and_shap_add_up(desk, django_capture_on_commit_callbacks):
    cost_history_build(desk, 80)
    model = cost_model_train(user=None)
    book = book_build(desk)
    with django_capture_on_commit_callbacks(execute=True):
        run = tca_run_create(user=None, order_ids=book.parent_ids)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert run.result["model_version"] == model.version

    active = cost_model_active()
    for r in TcaOrderResult.objects.filter(order_id__in=book.parent_ids):
        assert r.model_version == model.version
        e = r.explanation
        # SHAP values by feature (one-hot columns summed per category) add up to the prediction
        assert e["base"] + sum(e["values"].values()) == pytest.approx(r.predicted_cost_bps, abs=1e-6)
        assert {"size (% ADV)", "spread", "venue", "broker"} <= set(e["values"])
        assert e["units"] == "bps of predicted cost"
    # and the prediction is the stored model's on the order's features
    buy = TcaOrderResult.objects.get(order=book.buy)
    from execution_quality.services.model import _rows_of_results

    rows = _rows_of_results([TcaOrderResult.objects.filter(pk=buy.pk).values(*_FIELDS).get()])
    assert cost_model_predict(active.fitted, rows)[0] == pytest.approx(buy.predicted_cost_bps)


_FIELDS = (
    "side",
    "order_type",
    "venue",
    "broker",
    "size_adv",
    "volatility_daily_bps",
    "arrival_spread_bps",
    "minutes_since_open",
    "duration_s",
    "pov",
)


def test_the_monthly_retrain_is_scheduled_with_a_registered_task(settings):
    from celery import current_app

    entry = settings.CELERY_BEAT_SCHEDULE["monthly-tca-model-retrain"]
    assert entry["task"] == cost_model_retrain_task.name
    assert entry["task"] in current_app.tasks
    assert entry["schedule"].day_of_month == {1}
