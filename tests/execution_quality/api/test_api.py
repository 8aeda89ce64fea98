"""The best execution API: status codes, scoping, filters, reports (JSON and CSV), runs and models."""

from __future__ import annotations

import csv
import io

import pytest

from core.roles import Role
from execution_quality.models import CostModel, TcaOrderResult
from execution_quality.services import tca_run_create
from tests.execution_quality.book import book_build, cost_history_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(desk, django_capture_on_commit_callbacks):
    b = book_build(desk)
    with django_capture_on_commit_callbacks(execute=True):
        tca_run_create(user=None, order_ids=b.parent_ids)
    assert TcaOrderResult.objects.count() == 3
    return b


@pytest.fixture
def analyst_api(make_user, api_client_for):
    return api_client_for(make_user(Role.COMPLIANCE_ANALYST))


def _csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_given_anonymous_or_wrong_role_then_401_or_403(book, make_user, api_client_for):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/tca/orders").status_code in (401, 403)
    advisor = api_client_for(make_user(Role.WEALTH_ADVISOR))
    for url in ("/api/v1/tca/orders", f"/api/v1/tca/orders/{book.buy.pk}", "/api/v1/tca/reports/venues"):
        assert advisor.get(url).status_code == 403, url
    assert advisor.post("/api/v1/tca/pretrade", {}, format="json").status_code == 403


def test_orders_list_detail_and_filters(book, analyst_api):
    rows = analyst_api.get("/api/v1/tca/orders").json()["results"]
    assert {r["order_id"] for r in rows} == set(book.parent_ids)
    poor = analyst_api.get("/api/v1/tca/orders?poor=true").json()["results"]
    assert [r["order_id"] for r in poor] == [book.poor.pk]
    sells = analyst_api.get("/api/v1/tca/orders?side=sell&instrument=TCA1&date_from=2024-03-05&date_to=2024-03-05")
    assert [r["order_id"] for r in sells.json()["results"]] == [book.sell.pk]
    assert analyst_api.get("/api/v1/tca/orders?venue=ARCX").json()["results"][0]["order_id"] == book.sell.pk
    assert analyst_api.get("/api/v1/tca/orders?date_from=2024-03-06").json()["results"] == []

    detail = analyst_api.get(f"/api/v1/tca/orders/{book.buy.pk}").json()
    assert detail["client_order_id"] == "TCA1-BUY" and detail["instrument"] == "TCA1"
    assert detail["cost_arrival_bps"] == pytest.approx(6.8)
    assert [e["trade_ref"] for e in detail["executions"]] == ["TCA1-T1", "TCA1-T2"]
    assert detail["explanation"]["basis"] == "spread/2 + square-root law"
    assert "DECISION_IS_ARRIVAL" in detail["flag_names"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("date_from=yesterday", "date_from"),
        ("side=hold", "side"),
        ("order_type=stop", "order_type"),
        ("date_from=2024-03-06&date_to=2024-03-05", "date_to"),
        ("min_cost_bps=abc", "min_cost_bps"),
    ],
)
def test_given_bad_filters_then_400_naming_the_field(book, analyst_api, query, field):
    response = analyst_api.get(f"/api/v1/tca/orders?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_given_another_desks_order_then_404(
    book, other_desk, make_user, api_client_for, django_capture_on_commit_callbacks
):
    other = book_build(other_desk, symbol="TCA2", account_code="TCA-OTHER")
    with django_capture_on_commit_callbacks(execute=True):
        tca_run_create(user=None, order_ids=[other.buy.pk])
    analyst = make_user(Role.COMPLIANCE_ANALYST)
    api = api_client_for(analyst)
    assert api.get(f"/api/v1/tca/orders/{other.buy.pk}").status_code == 404
    assert api.get(f"/api/v1/tca/orders/{book.buy_children[0].pk}").status_code == 404  # a child has no TCA
    assert api.get("/api/v1/tca/orders/99999999").json() == {"error": {"code": "not_found", "message": "Not found."}}
    listed = {r["order_id"] for r in api.get("/api/v1/tca/orders").json()["results"]}
    assert other.buy.pk not in listed and book.buy.pk in listed
    fills = {r["order_id"] for r in api.get("/api/v1/tca/executions").json()["results"]}
    assert fills == set(book.parent_ids)


def test_executions_list_filters(book, analyst_api):
    rows = analyst_api.get(f"/api/v1/tca/executions?order={book.buy.pk}").json()["results"]
    assert sorted(r["trade_ref"] for r in rows) == ["TCA1-T1", "TCA1-T2"]
    assert analyst_api.get("/api/v1/tca/executions?venue=XNAS").json()["results"][0]["trade_ref"] == "TCA1-T2"
    assert analyst_api.get("/api/v1/tca/executions?order=abc").status_code == 400


def test_pretrade_estimate_and_field_errors(book, analyst_api, make_user, api_client_for):
    body = {"instrument": "TCA1", "side": "buy", "quantity": "10000", "arrival": "2024-03-05T14:36:00Z"}
    response = analyst_api.post("/api/v1/tca/pretrade", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["price"] == pytest.approx(100.10) and data["schedule"]["holdings"][0] == 10_000
    assert data["sqrt_law"]["cost_bps"] > 0 and data["istar"]["cost_bps"] > 0

    bad = analyst_api.post("/api/v1/tca/pretrade", {**body, "quantity": "-1", "side": "hold"}, format="json")
    assert bad.status_code == 400 and {"quantity", "side"} <= set(bad.json()["error"]["fields"])
    unknown = analyst_api.post("/api/v1/tca/pretrade", {**body, "instrument": "NOPE"}, format="json")
    assert unknown.status_code == 400 and "instrument" in unknown.json()["error"]["fields"]
    auditor = api_client_for(make_user(Role.AUDITOR))
    assert auditor.post("/api/v1/tca/pretrade", body, format="json").status_code == 403


def test_league_tables_json_and_csv(book, analyst_api):
    venues = analyst_api.get("/api/v1/tca/reports/venues?date_from=2024-03-05&date_to=2024-03-05").json()
    assert venues["by"] == "venue" and venues["filters"] == {"date_from": "2024-03-05", "date_to": "2024-03-05"}
    by_key = {r["key"]: r for r in venues["results"]}
    assert set(by_key) == {"XNYS", "XNAS", "ARCX"}
    # XNYS: buy1 (600 @ 100.06) and the poor fill (200 @ 100.50)
    assert by_key["XNYS"]["fills"] == 2 and by_key["XNYS"]["notional"] == pytest.approx(600 * 100.06 + 200 * 100.50)
    assert by_key["XNYS"]["orders"] == 2 and set(by_key["XNYS"]["markouts_bps"]) == {"1s", "5s", "60s", "300s"}
    brokers = analyst_api.get("/api/v1/tca/reports/brokers").json()["results"]
    assert {r["key"] for r in brokers} == {"BRK1", "BRK2"}
    # fill rate of BRK1's orders (buy and poor): filled 1,200 of 1,200
    assert next(r for r in brokers if r["key"] == "BRK1")["fill_rate"] == pytest.approx(1.0)

    response = analyst_api.get("/api/v1/tca/reports/venues?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert {r["venue"] for r in rows} == {"XNYS", "XNAS", "ARCX"}
    assert analyst_api.get("/api/v1/tca/reports/venues?date_from=bad").status_code == 400
    assert analyst_api.get("/api/v1/tca/reports/brokers?format=csv&date_from=bad").status_code == 400


def test_rts28_report_json_and_csv(book, analyst_api):
    report = analyst_api.get("/api/v1/tca/reports/rts28?year=2024").json()
    assert report["year"] == 2024 and report["business_days"] == 262
    (equities,) = report["classes"]
    assert equities["label"].startswith("Equities") and equities["orders"] == 3 and equities["fills"] == 4
    assert equities["less_than_one_trade_per_business_day"] is True
    venues = equities["venues"]
    # by notional: XNYS 600·100.06 + 200·100.50, ARCX 500·100.04, XNAS 400·100.08
    assert [v["venue"] for v in venues] == ["XNYS", "ARCX", "XNAS"]
    assert venues[0]["pct_volume"] == pytest.approx(100 * 80136 / (80136 + 50020 + 40032))
    assert sum(v["pct_volume"] for v in venues) == pytest.approx(100.0)
    assert all(v["pct_directed"] is None for v in venues)
    assert any("Execution factors" in p for p in report["summary"])

    response = analyst_api.get("/api/v1/tca/reports/rts28?year=2024&format=csv")
    assert response.status_code == 200 and "rts28-2024.csv" in response["Content-Disposition"]
    assert [r["venue"] for r in _csv(response)] == ["XNYS", "ARCX", "XNAS"]
    assert analyst_api.get("/api/v1/tca/reports/rts28?year=abc").status_code == 400
    assert analyst_api.get("/api/v1/tca/reports/rts28?year=2023").json()["classes"] == []


def test_runs_start_list_and_errors(book, analyst_api, make_user, api_client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst_api.post("/api/v1/tca/runs", {"order_ids": [book.buy.pk]}, format="json")
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    assert response.json()["poll_url"] == f"/api/v1/runs/{run_id}"
    listed = {r["id"] for r in analyst_api.get("/api/v1/tca/runs").json()["results"]}
    assert run_id in listed
    assert analyst_api.get(f"/api/v1/tca/runs/{run_id}").json()["status"] == "succeeded"

    bad = analyst_api.post("/api/v1/tca/runs", {"order_ids": [0]}, format="json")
    assert bad.status_code == 400 and "order_ids" in bad.json()["error"]["fields"]
    both = analyst_api.post(
        "/api/v1/tca/runs", {"order_ids": [book.buy.pk], "since": "2024-03-05T00:00:00Z"}, format="json"
    )
    assert both.status_code == 400
    auditor = api_client_for(make_user(Role.AUDITOR))
    assert auditor.post("/api/v1/tca/runs", {}, format="json").status_code == 403
    assert run_id in {r["id"] for r in auditor.get("/api/v1/tca/runs").json()["results"]}


def test_model_training_needs_a_supervisor_and_too_little_data_ends_as_a_failed_run(
    book, analyst_api, make_user, api_client_for, django_capture_on_commit_callbacks
):
    assert analyst_api.post("/api/v1/tca/models/train").status_code == 403
    supervisor = api_client_for(make_user(Role.COMPLIANCE_SUPERVISOR))

    with django_capture_on_commit_callbacks(execute=True):
        response = supervisor.post("/api/v1/tca/models/train")

    assert response.status_code == 202, response.content
    queued = response.json()
    assert queued["kind"] == "tca.model_train" and queued["status"] == "queued"
    assert queued["poll_url"] == f"/api/v1/runs/{queued['id']}"
    polled = supervisor.get(queued["poll_url"]).json()
    assert polled["status"] == "failed" and "Too little data to train the cost model" in polled["error"]
    # the TCA runs list carries trainings too, filterable by kind
    listed = supervisor.get("/api/v1/tca/runs", {"kind": "tca.model_train"}).json()["results"]
    assert [r["id"] for r in listed] == [queued["id"]]
    assert not CostModel.objects.exists()
    assert analyst_api.get("/api/v1/tca/models").json()["results"] == []


def test_given_enough_data_when_training_through_the_api_then_the_run_reports_the_new_model(
    desk, make_user, api_client_for, django_capture_on_commit_callbacks
):
    cost_history_build(desk, 60)
    supervisor = api_client_for(make_user(Role.COMPLIANCE_SUPERVISOR))

    with django_capture_on_commit_callbacks(execute=True):
        response = supervisor.post("/api/v1/tca/models/train")
    polled = supervisor.get(response.json()["poll_url"]).json()

    assert response.status_code == 202 and polled["status"] == "succeeded", polled
    models = supervisor.get("/api/v1/tca/models").json()["results"]
    assert [m["version"] for m in models] == [polled["result"]["version"]] and models[0]["is_active"]
    assert polled["result"]["metrics"]["n_train"] == 48 and polled["result"]["orders"] == 60


def test_given_runs_of_other_users_then_only_own_runs_are_listed(book, make_user, api_client_for):
    # given an ingestion follow-up run (no user) naming orders of every desk, and another user's run
    from core.models import CalculationRun

    CalculationRun.objects.create(kind="tca.run", parameters={"mode": "orders", "order_ids": [777001]})
    other = make_user(Role.RISK_OFFICER, username="risk-other")
    CalculationRun.objects.create(kind="tca.run", user=other, parameters={"mode": "new"})
    me = make_user(Role.RISK_OFFICER, username="risk-me")
    mine = CalculationRun.objects.create(kind="tca.run", user=me, parameters={"mode": "new"})
    # when a risk officer lists TCA runs, then only their own is there
    response = api_client_for(me).get("/api/v1/tca/runs")
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [mine.pk]


@pytest.mark.parametrize(
    "url", ["/api/v1/tca/orders?date_to=9999-12-31", "/api/v1/tca/reports/venues?date_to=9999-12-31"]
)
def test_given_the_last_day_of_the_calendar_as_date_to_then_no_server_error(book, analyst_api, url):
    assert analyst_api.get(url).status_code == 200


def test_given_an_arrival_at_the_ends_of_the_calendar_then_pretrade_answers_a_field_error(book, analyst_api):
    symbol = TcaOrderResult.objects.first().instrument.symbol
    body = {"instrument": symbol, "side": "buy", "quantity": "1000", "arrival": "0001-01-01T00:00:00Z"}
    response = analyst_api.post("/api/v1/tca/pretrade", body, format="json")
    assert response.status_code == 400
    assert "arrival" in response.json()["error"]["fields"]
