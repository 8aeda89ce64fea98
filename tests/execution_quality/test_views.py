"""The best-execution pages through Django's test client: dashboard, order page, reports and
their files, the pre-trade form, cost models, runs, and who sees which buttons.

The book is the hand-built one of ``tests.execution_quality.book`` (three parent orders on
2024-03-05 whose costs are worked out by hand in its docstring), analysed by a real TCA run.
"""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from django.test import Client

from core.models import CalculationRun
from core.roles import Role
from execution_quality.models import CostModel, TcaOrderResult
from execution_quality.services import tca_run_create
from tests.execution_quality.book import book_build, cost_history_build
from tests.factories import AccountFactory, CostModelFactory, OrderFactory, OwnerFactory

pytestmark = pytest.mark.django_db

URL = "/execution/"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def analyst(make_user):
    return make_user(Role.COMPLIANCE_ANALYST)


@pytest.fixture
def book(desk, analyst, django_capture_on_commit_callbacks):
    """The hand-built book, analysed (tasks run eagerly in tests, once the run's row commits)."""
    built = book_build(desk)
    with django_capture_on_commit_callbacks(execute=True):
        run = tca_run_create(user=analyst)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return built


def _figure(html_or_json: str) -> dict:
    return json.loads(html_or_json)


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


# ---------------------------------------------------------------------------- dashboard


def test_given_no_analysis_when_opening_dashboard_then_empty_state_and_run_button(analyst):
    response = _client(analyst).get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert "No transaction cost analysis yet" in body
    assert 'id="run-tca"' in body
    assert "histogram_chart" not in response.context


def test_given_analysed_book_when_opening_dashboard_then_figures_charts_and_poor_list(book, analyst):
    response = _client(analyst).get(URL)

    assert response.status_code == 200
    ctx = response.context
    assert ctx["summary"].orders == 3
    assert ctx["summary"].fills == 4
    for name in ("histogram_chart", "size_chart", "venue_chart", "broker_chart", "hour_chart"):
        assert ctx[name], name
    # The poor order paid 100.50 against a 100.10 mid: ~40 bps, far beyond spread/2 + impact + 25 bps.
    assert [r.order.client_order_id for r in ctx["poor"]] == ["TCA1-POOR"]
    body = response.content.decode()
    assert 'id="poor-table"' in body and "TCA1-POOR" in body
    assert 'id="histogram-chart"' in body
    venues = _figure(ctx["venue_chart"])["data"][0]["y"]
    assert set(venues) == {"XNYS", "ARCX"}


def test_given_filters_then_orders_narrow_and_bad_dates_show_an_error(book, analyst):
    client = _client(analyst)

    sells = client.get(URL, {"side": "sell"}).context
    assert [r.order.client_order_id for r in sells["orders"]] == ["TCA1-SELL"]
    assert sells["summary"].orders == 1

    poor = client.get(URL, {"poor": "true"}).context
    assert [r.order.client_order_id for r in poor["orders"]] == ["TCA1-POOR"]

    nothing = client.get(URL, {"instrument": "NOPE"})
    assert nothing.context["summary"].orders == 0
    assert 'id="no-match"' in nothing.content.decode()

    backwards = client.get(URL, {"date_from": "2024-03-06", "date_to": "2024-03-01"})
    assert backwards.status_code == 200
    assert backwards.context["form"].errors["date_to"]
    assert backwards.context["summary"].orders == 0


def test_given_a_quick_period_then_it_is_anchored_on_the_newest_order(book, analyst):
    """The book's orders are from 2024: "last 30 days" of the data still shows them."""
    response = _client(analyst).get(URL, {"period": "30"})

    assert response.context["period"] == "30"
    assert response.context["summary"].orders == 3


def test_given_filters_when_exporting_orders_csv_then_rows_match_and_cost_is_the_worked_example(book, analyst):
    response = _client(analyst).get("/execution/orders.csv", {"side": "buy"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = _csv_rows(b"".join(response.streaming_content))
    assert {r["client_order_id"] for r in rows} == {"TCA1-BUY", "TCA1-POOR"}
    buy = next(r for r in rows if r["client_order_id"] == "TCA1-BUY")
    # book.py: 600 @ 100.06 + 400 @ 100.08 = 100.068 average against the 100.00 arrival mid.
    assert float(buy["cost_arrival_bps"]) == pytest.approx((100.068 - 100.0) / 100.0 * 1e4, abs=1e-6)


# ---------------------------------------------------------------------------- order page


def test_given_an_analysed_order_then_fills_chart_shortfall_and_explanation(book, analyst):
    response = _client(analyst).get(f"/execution/orders/{book.buy.pk}/")

    assert response.status_code == 200
    ctx = response.context
    fills = _figure(ctx["fills_chart"])
    traces = {t["name"]: t for t in fills["data"]}
    assert {"Bid", "Ask", "Arrival", "VWAP", "TWAP", "Fills (buy)"} <= set(traces)
    assert traces["Fills (buy)"]["y"] == [100.06, 100.08]
    assert traces["Arrival"]["y"] == [100.0, 100.0]  # the mid of 99.98/100.02 in force at 14:30:10
    assert traces["Bid"]["y"][:2] == [99.98, 100.03]
    shap = _figure(ctx["shap_chart"])
    # No model yet: the expected cost is half the arrival spread plus the square-root impact.
    assert set(shap["data"][0]["y"]) == {"Half spread", "Impact (square-root law)"}
    assert sum(shap["data"][0]["x"]) == pytest.approx(ctx["result"].predicted_cost_bps)
    assert ctx["shortfall_chart"] and ctx["markouts_chart"]
    body = response.content.decode()
    assert 'id="fills-chart"' in body and 'id="shap-chart"' in body
    assert "TCA1-T1" in body and "TCA1-T2" in body  # the fills table


def test_given_the_poor_order_then_banner_and_alert_link_for_compliance(book, analyst, make_user):
    result = TcaOrderResult.objects.get(order=book.poor)
    alert_id = result.details["alert_id"]

    body = _client(analyst).get(f"/execution/orders/{book.poor.pk}/").content.decode()
    assert "Poor execution." in body
    assert f'href="/surveillance/alerts/{alert_id}/"' in body

    # A risk officer sees the order but has no surveillance area: the alert is named, not linked.
    officer = _client(make_user(Role.RISK_OFFICER, username="ro")).get(f"/execution/orders/{book.poor.pk}/")
    assert f"Alert #{alert_id}" in officer.content.decode()
    assert "/surveillance/alerts/" not in officer.content.decode()


def test_given_an_order_without_analysis_then_not_analysed_yet(desk, analyst):
    order = OrderFactory(account=AccountFactory(desk=desk))

    response = _client(analyst).get(f"/execution/orders/{order.pk}/")

    assert response.status_code == 200
    assert "Not analysed yet" in response.content.decode()
    assert 'id="order-run"' in response.content.decode()


def test_given_a_child_order_then_redirected_to_its_parent(book, analyst):
    child = book.buy_children[0]

    response = _client(analyst).get(f"/execution/orders/{child.pk}/")

    assert response.status_code == 302
    assert response["Location"] == f"/execution/orders/{book.buy.pk}/"


def test_given_another_desks_order_then_404(book, analyst, other_desk):
    foreign = OrderFactory(account=AccountFactory(desk=other_desk, owner=OwnerFactory()))
    client = _client(analyst)

    assert client.get(f"/execution/orders/{foreign.pk}/").status_code == 404
    assert client.post(f"/execution/orders/{foreign.pk}/run/").status_code == 404
    assert client.get("/execution/orders/999999999/").status_code == 404


# ---------------------------------------------------------------------------- runs


def test_given_an_analyst_when_run_now_with_htmx_then_the_progress_partial_polls_the_run(
    desk, analyst, django_capture_on_commit_callbacks
):
    book_build(desk)

    with django_capture_on_commit_callbacks(execute=True):
        response = _client(analyst).post("/execution/run/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    assert "tca.run" in body and 'hx-get="/runs/' in body  # queued when the view answered, then polled
    assert TcaOrderResult.objects.count() == 3


def test_given_an_order_when_analysed_from_its_page_then_only_that_order_is_computed(
    desk, analyst, django_capture_on_commit_callbacks
):
    built = book_build(desk)

    with django_capture_on_commit_callbacks(execute=True):
        response = _client(analyst).post(f"/execution/orders/{built.sell.pk}/run/")

    assert response.status_code == 302
    assert list(TcaOrderResult.objects.values_list("order_id", flat=True)) == [built.sell.pk]


# ---------------------------------------------------------------------------- reports


def test_reports_page_lists_venues_and_brokers_with_charts(book, analyst):
    response = _client(analyst).get("/execution/reports/")

    assert response.status_code == 200
    assert {r.key for r in response.context["venues"]} == {"XNYS", "XNAS", "ARCX"}
    assert {r.key for r in response.context["brokers"]} == {"BRK1", "BRK2"}
    assert response.context["venue_chart"] and response.context["broker_chart"]
    assert response.context["years"] == [2024]


def test_given_venue_csv_then_the_sell_on_arcx_costs_the_worked_example(book, analyst):
    response = _client(analyst).get("/execution/reports/venues.csv", {"date_from": "2024-03-01"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="tca-venue-2024-03-01.csv"' in response["Content-Disposition"]
    arcx = next(r for r in _csv_rows(response.content) if r["venue"] == "ARCX")
    # Sell 500 @ 100.04 at 14:34:30 against the 100.05 arrival mid: −1 · (100.04 − 100.05) / 100.05 · 10⁴.
    assert float(arcx["avg_cost_arrival_bps"]) == pytest.approx(0.01 / 100.05 * 1e4, rel=1e-9)
    assert arcx["fills"] == "1"


def test_given_reports_then_broker_csv_and_pdf_download(book, analyst):
    client = _client(analyst)

    brokers = client.get("/execution/reports/brokers.csv")
    pdf = client.get("/execution/reports/league.pdf")

    assert brokers["Content-Type"] == "text/csv; charset=utf-8"
    assert {r["broker"] for r in _csv_rows(brokers.content)} == {"BRK1", "BRK2"}
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_given_invalid_report_filters_then_error_not_server_error(book, analyst):
    client = _client(analyst)

    page = client.get("/execution/reports/", {"date_from": "nope"})
    download = client.get("/execution/reports/venues.csv", {"date_from": "nope"})

    assert page.status_code == 200 and page.context["form"].errors["date_from"]
    assert page.context["venues"] == []
    assert download.status_code == 302


def test_given_a_year_then_rts28_page_csv_and_pdf(book, analyst):
    client = _client(analyst)

    page = client.get("/execution/reports/rts28/2024/")
    data = client.get("/execution/reports/rts28/2024.csv")
    pdf = client.get("/execution/reports/rts28/2024.pdf")

    assert page.status_code == 200
    assert "Equities — shares and depositary receipts" in page.content.decode()
    rows = _csv_rows(data.content)
    assert data["Content-Type"] == "text/csv; charset=utf-8"
    # Notional by venue (book.py): XNYS 600 × 100.06 + 200 × 100.50, ARCX 500 × 100.04, XNAS 400 × 100.08.
    assert [r["venue"] for r in rows] == ["XNYS", "ARCX", "XNAS"]
    xnys, total = 60_036.0 + 20_100.0, 60_036.0 + 20_100.0 + 50_020.0 + 40_032.0
    assert float(rows[0]["pct_volume"]) == pytest.approx(100.0 * xnys / total)
    assert sum(float(r["pct_volume"]) for r in rows) == pytest.approx(100.0)
    assert {r["pct_directed"] for r in rows} == {"n/a"}
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get("/execution/reports/rts28/1066/").status_code == 404


# ---------------------------------------------------------------------------- pre-trade

PRETRADE = {"instrument": "TCA1", "side": "buy", "quantity": "5000", "risk_aversion": "0.000001"}
AS_OF = {"arrival": "2024-03-05T15:00:00"}


def test_pretrade_form_page_opens_as_of_the_newest_order(book, analyst):
    response = _client(analyst).get("/execution/pretrade/")

    assert response.status_code == 200
    assert response.context["form"].initial["arrival"].isoformat().startswith("2024-03-05T14:35:30")
    assert "TCA1" in response.context["symbols"]


@pytest.mark.parametrize("quantity", ["-5", "0"])
def test_given_a_quantity_not_above_zero_then_a_field_error(book, analyst, quantity):
    response = _client(analyst).post("/execution/pretrade/", {**PRETRADE, **AS_OF, "quantity": quantity})

    assert response.status_code == 400
    assert response.context["form"].errors["quantity"] == ["The quantity must be greater than zero."]
    assert response.context["estimate"] is None


def test_given_an_unknown_instrument_then_the_services_error_is_on_the_field(book, analyst):
    response = _client(analyst).post("/execution/pretrade/", {**PRETRADE, **AS_OF, "instrument": "NOPE"})

    assert response.status_code == 400
    assert response.context["form"].errors["instrument"] == ["Unknown instrument."]


def test_given_no_history_at_the_as_of_time_then_an_error_not_a_server_error(book, analyst):
    response = _client(analyst).post("/execution/pretrade/", {**PRETRADE, "arrival": "2010-01-04T15:00:00"})

    assert response.status_code == 400
    assert "Not enough daily history" in response.context["form"].errors["instrument"][0]


def test_given_a_valid_order_then_estimates_and_the_schedule_chart(book, analyst):
    """Square-root law: cost = σ_daily(bps) · √(Q/ADV) with Y = 1 (Almgren et al. 2005; Tóth et al.
    2011); ADV = 1,000,000 over the 20 bars before the day, so Q/ADV = 0.005."""
    response = _client(analyst).post("/execution/pretrade/", {**PRETRADE, **AS_OF})

    assert response.status_code == 200, response.context["form"].errors
    estimate = response.context["estimate"]
    assert estimate["market"]["size_adv"] == pytest.approx(0.005)
    sigma = estimate["market"]["volatility_daily_bps"]
    assert estimate["sqrt_law"]["cost_bps"] == pytest.approx(sigma * math.sqrt(0.005))
    schedule = _figure(response.context["schedule_chart"])
    remaining = next(t for t in schedule["data"] if t["name"] == "Shares remaining")
    assert remaining["y"][0] == pytest.approx(5000) and remaining["y"][-1] == pytest.approx(0)
    per_slice = next(t for t in schedule["data"] if t["name"] == "Shares per period")
    assert sum(per_slice["y"]) == pytest.approx(5000)
    body = response.content.decode()
    assert 'id="schedule-chart"' in body and 'id="estimate-tiles"' in body


def test_given_no_risk_aversion_then_the_default_applies(book, analyst):
    data = {**PRETRADE, **AS_OF, "risk_aversion": ""}

    response = _client(analyst).post("/execution/pretrade/", data)

    assert response.status_code == 200
    assert response.context["estimate"]["schedule"]["risk_aversion"] == pytest.approx(1e-6)


# ---------------------------------------------------------------------------- roles


def test_given_an_auditor_then_pages_show_no_buttons_and_posts_are_refused(book, make_user):
    auditor = _client(make_user(Role.AUDITOR, username="aud"))

    dashboard = auditor.get(URL).content.decode()
    order = auditor.get(f"/execution/orders/{book.buy.pk}/").content.decode()
    models = auditor.get("/execution/models/").content.decode()

    assert "TCA1-POOR" in dashboard  # reads everything
    assert 'id="run-tca"' not in dashboard
    assert 'id="order-run"' not in order
    assert 'id="retrain"' not in models
    assert auditor.post("/execution/run/").status_code == 403
    assert auditor.post(f"/execution/orders/{book.buy.pk}/run/").status_code == 403
    assert auditor.post("/execution/models/train/").status_code == 403


def test_given_a_user_of_another_desk_then_the_book_is_invisible(book, make_user, other_desk):
    outsider = _client(make_user(Role.COMPLIANCE_ANALYST, desks=[other_desk], username="elsewhere"))

    assert "No transaction cost analysis yet" in outsider.get(URL).content.decode()
    assert outsider.get(f"/execution/orders/{book.buy.pk}/").status_code == 404
    assert _csv_rows(outsider.get("/execution/reports/venues.csv").content) == []


def test_given_cost_models_then_retrain_only_for_supervisors(make_user, analyst):
    CostModelFactory(version="tca-cost-test-a", is_active=True)
    supervisor = _client(make_user(Role.COMPLIANCE_SUPERVISOR))
    officer = _client(make_user(Role.RISK_OFFICER))

    analyst_page = _client(analyst).get("/execution/models/")
    supervisor_page = supervisor.get("/execution/models/")

    assert "tca-cost-test-a" in analyst_page.content.decode()
    assert 'id="retrain"' not in analyst_page.content.decode()
    assert 'id="retrain"' in supervisor_page.content.decode()
    assert _client(analyst).post("/execution/models/train/").status_code == 403
    assert officer.post("/execution/models/train/").status_code == 403


def test_given_too_little_data_when_a_supervisor_retrains_then_the_run_fails_and_the_page_says_why(
    book, make_user, django_capture_on_commit_callbacks
):
    supervisor = _client(make_user(Role.COMPLIANCE_SUPERVISOR))

    with django_capture_on_commit_callbacks(execute=True):
        queued = supervisor.post("/execution/models/train/", HTTP_HX_REQUEST="true")
    page = supervisor.get("/execution/models/")

    # htmx gets the progress partial of the queued run, which polls until it ends
    assert queued.status_code == 200
    assert "tca.model_train" in queued.content.decode() and 'hx-get="/runs/' in queued.content.decode()
    run = CalculationRun.objects.get(kind="tca.model_train")
    assert run.status == "failed" and "Too little data to train the cost model" in run.error
    # the models page shows the failed run with its reason, and nothing was trained
    assert page.status_code == 200 and page.context["train_run"] == run
    body = page.content.decode()
    assert f'id="run-{run.pk}"' in body and "Too little data to train the cost model" in body
    assert 'class="run failed"' in body and "hx-get" not in body.split(f'id="run-{run.pk}"')[1].split(">")[0]
    assert not CostModel.objects.exists()


def test_given_enough_data_when_a_supervisor_retrains_then_the_run_trains_the_active_model(
    desk, make_user, django_capture_on_commit_callbacks
):
    cost_history_build(desk, 60)
    user = make_user(Role.COMPLIANCE_SUPERVISOR)

    with django_capture_on_commit_callbacks(execute=True):
        response = _client(user).post("/execution/models/train/")
    page = _client(user).get("/execution/models/")

    assert response.status_code == 302 and response["Location"] == "/execution/models/"
    run = CalculationRun.objects.get(kind="tca.model_train")
    assert run.status == "succeeded" and run.user == user, run.error
    model = CostModel.objects.get(is_active=True)
    assert run.result["version"] == model.version
    # a finished, successful training leaves no progress bar: the new card is the news
    assert page.context["train_run"] is None and model.version in page.content.decode()


def test_given_a_training_in_progress_then_the_models_page_polls_it(make_user):
    user = make_user(Role.COMPLIANCE_SUPERVISOR)
    run = CalculationRun.objects.create(kind="tca.model_train", user=user, parameters={}, queue="tca")

    body = _client(user).get("/execution/models/").content.decode()

    assert f'id="run-{run.pk}"' in body and f'hx-get="/runs/{run.pk}/' in body


def test_given_no_model_then_the_models_page_explains_the_fallback(analyst):
    body = _client(analyst).get("/execution/models/").content.decode()

    assert "No cost model yet" in body
    assert "half its arrival spread plus the square-root-law impact" in body
