"""Risk pages: overview and portfolio page for risk officers and auditors, 403 for others,
run now (htmx partial), exports (CSV, Excel, PDF), limit and scenario forms, resume."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from core.roles import Role
from riskapp.models import Limit, RiskRun, Scenario
from riskapp.services.runs import risk_run_create
from tests.factories import PortfolioFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def officer(make_user):
    return _client(make_user(Role.RISK_OFFICER))


@pytest.fixture
def auditor(make_user):
    return _client(make_user(Role.AUDITOR))


@pytest.fixture
def ran(priced, django_capture_on_commit_callbacks):
    """The priced book with limits and one finished run."""
    Limit.objects.create(portfolio=priced.portfolio, kind="gross_leverage", threshold=Decimal("3"))
    Limit.objects.create(
        portfolio=priced.portfolio, kind="es", threshold=Decimal("1000"), method="historical",
        confidence=Decimal("0.99"), horizon_days=1,
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        run = risk_run_create(portfolio=priced.portfolio, user=None, parameters={"n_scenarios": 2000})
    run.refresh_from_db()
    assert run.calculation.status == "succeeded", run.calculation.error
    return run


PAGE = "/risk/portfolios/RISK-BOOK/"


def test_given_a_run_when_officer_opens_overview_then_figures_limit_use_and_breaches(ran, officer):
    html = officer.get("/risk/").content.decode()
    assert "RISK-BOOK" in html
    head = ran.results.get(method="historical", confidence=Decimal("0.99"), horizon_days=1)
    assert f"{float(head.var):,.0f}" in html
    assert "lvl-bad" in html  # the ES limit of 1,000 is far exceeded
    assert "Expected shortfall" in html and 'id="overview-chart"' in html
    assert "Run all portfolios" in html


def test_given_a_run_when_officer_opens_portfolio_page_then_every_panel_renders(ran, officer):
    response = officer.get(PAGE)
    html = response.content.decode()
    assert response.status_code == 200
    for chart in ("backtest", "methods", "components", "stress", "factors", "sector", "regime"):
        assert f'id="{chart}-chart"' in html, chart
    for text in ("Parametric Student-t", "EVT (peaks over threshold)", "2022 rate shock", "MTUM−SPX",
                 "HHI by name", "Liquidity", "Limit use", "Kupiec POF p", "Run now", "Add limit"):  # fmt: skip
        assert text in html, text
    assert ran.inputs_hash[:12] in html


def test_given_auditor_then_pages_render_without_edit_or_run_buttons(ran, auditor):
    overview = auditor.get("/risk/").content.decode()
    page = auditor.get(PAGE).content.decode()
    assert "Run all portfolios" not in overview
    assert "Run now" not in page and "Add limit" not in page and "Edit</a>" not in page
    assert 'id="backtest-chart"' in page


@pytest.mark.parametrize("role", [Role.COMPLIANCE_ANALYST, Role.WEALTH_ADVISOR, Role.COMPLIANCE_SUPERVISOR])
def test_given_role_without_risk_area_then_403(priced, make_user, role):
    client = _client(make_user(role))
    for url in ("/risk/", PAGE, "/risk/scenarios/", f"{PAGE}export.csv"):
        assert client.get(url).status_code == 403, url


def test_given_auditor_when_posting_anything_then_403(ran, auditor):
    limit = Limit.objects.first()
    for url in (f"{PAGE}run/", "/risk/run-all/", f"{PAGE}resume/", f"{PAGE}limits/new/",
                f"{PAGE}limits/{limit.pk}/", "/risk/scenarios/new/"):  # fmt: skip
        assert auditor.post(url, {"rationale": "x"}).status_code == 403, url
    assert auditor.get(f"{PAGE}limits/new/").status_code == 403
    assert RiskRun.objects.count() == 1


def test_given_no_run_then_empty_state_invites_a_run(priced, officer):
    html = officer.get(PAGE).content.decode()
    assert "No risk figures yet" in html and "Run now" in html
    assert "backtest-chart" not in html


def test_given_a_failed_last_run_then_its_error_is_on_the_page(desk, officer, django_capture_on_commit_callbacks):
    PortfolioFactory(code="BARE", desk=desk)
    from tests.factories import InstrumentFactory, PriceBarFactory

    PriceBarFactory(instrument=InstrumentFactory(symbol="KO"))
    with django_capture_on_commit_callbacks(execute=True):
        risk_run_create(portfolio=PortfolioFactory(code="BARE"), user=None)
    html = officer.get("/risk/portfolios/BARE/").content.decode()
    assert "failed" in html and "BARE holds no positions" in html


def test_when_officer_clicks_run_now_with_htmx_then_progress_partial(priced, officer):
    response = officer.post(f"{PAGE}run/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    run = RiskRun.objects.get()
    assert f'id="run-{run.calculation_id}"' in html and "risk.run" in html
    assert f'hx-get="/runs/{run.calculation_id}/progress/"' in html  # polls until finished
    assert run.calculation.user.username == "risk_officer"


def test_when_officer_runs_all_then_one_run_per_portfolio_of_the_desk(priced, desk, officer, other_desk):
    PortfolioFactory(code="SECOND", desk=desk)
    PortfolioFactory(code="NOT-MINE", desk=other_desk)
    html = officer.post("/risk/run-all/", HTTP_HX_REQUEST="true").content.decode()
    assert set(RiskRun.objects.values_list("portfolio__code", flat=True)) == {"RISK-BOOK", "SECOND"}
    assert html.count('class="run ') == 2


# ---------------------------------------------------------------------------- exports


@pytest.mark.parametrize("table", ["results", "components", "stress", "factors", "backtest", "limits"])
def test_csv_export_has_a_header_and_rows(ran, auditor, table):
    response = auditor.get(f"{PAGE}export.csv?table={table}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"RISK-BOOK-2022-12-28-{table}-run{ran.pk}.csv" in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert len(lines) > 1
    if table == "results":
        assert lines[0].startswith("method,confidence,horizon_days,var,es")
        assert len(lines) == 1 + 9 * 3 * 2


def test_excel_export_is_a_workbook_with_a_sheet_per_table(ran, officer):
    from openpyxl import load_workbook

    response = officer.get(f"{PAGE}export.xlsx")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["About", "Results", "Components", "Stress", "Factors", "Backtest", "Limits"]
    about = {row[0]: row[1] for row in wb["About"].iter_rows(min_row=2, values_only=True)}
    assert about["Inputs hash (SHA-256)"] == ran.inputs_hash
    assert wb["Results"].max_row == 1 + 54


def test_pdf_report_is_a_pdf_naming_the_portfolio(ran, auditor):
    response = auditor.get(f"{PAGE}report.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and len(response.content) > 5000
    assert b"Risk report RISK-BOOK 2022-12-28" in response.content  # the document title


def test_given_no_run_then_exports_redirect_to_the_page(priced, officer):
    for ext in ("export.csv", "export.xlsx", "report.pdf"):
        response = officer.get(f"{PAGE}{ext}")
        assert response.status_code == 302 and response["Location"] == PAGE


# ---------------------------------------------------------------------------- limits, resume, scenarios


def test_when_officer_adds_a_limit_then_saved_audited_and_shown(priced, officer):
    data = {"kind": "var", "threshold": "50000", "warning_ratio": "0.8", "method": "historical",
            "confidence": "0.99", "horizon_days": "1", "sector": "", "is_active": "on"}  # fmt: skip
    response = officer.post(f"{PAGE}limits/new/", data)
    assert response.status_code == 302
    limit = Limit.objects.get(portfolio=priced.portfolio)
    assert limit.threshold == Decimal("50000")
    assert AuditEvent.objects.filter(action="limit.create", object_id=str(limit.pk)).exists()
    assert "50,000" in officer.get(PAGE).content.decode()


def test_given_invalid_limit_then_400_with_field_errors(priced, officer):
    data = {"kind": "position_pct_nav", "threshold": "250", "warning_ratio": "0.8", "method": ""}
    response = officer.post(f"{PAGE}limits/new/", data)
    assert response.status_code == 400
    assert "Exposure limits are fractions of NAV" in response.content.decode()
    assert not Limit.objects.exists()


def test_when_officer_edits_a_limit_then_before_and_after_are_audited(ran, officer):
    limit = Limit.objects.get(kind="gross_leverage")
    data = {"kind": "gross_leverage", "threshold": "2.5", "warning_ratio": "0.9", "method": "", "is_active": "on"}
    assert officer.get(f"{PAGE}limits/{limit.pk}/").status_code == 200
    assert officer.post(f"{PAGE}limits/{limit.pk}/", data).status_code == 302
    limit.refresh_from_db()
    assert limit.threshold == Decimal("2.5")
    event = AuditEvent.objects.get(action="limit.update", object_id=str(limit.pk))
    assert Decimal(event.before["threshold"]) == 3 and Decimal(event.after["threshold"]) == Decimal("2.5")


def test_given_halted_portfolio_when_resumed_without_rationale_then_still_halted(priced, officer):
    priced.portfolio.halted = True
    priced.portfolio.save()
    assert "Resume trading" in officer.get(PAGE).content.decode()

    officer.post(f"{PAGE}resume/", {"rationale": "  "})
    priced.portfolio.refresh_from_db()
    assert priced.portfolio.halted

    officer.post(f"{PAGE}resume/", {"rationale": "Hedged with the desk head"})
    priced.portfolio.refresh_from_db()
    assert not priced.portfolio.halted
    assert AuditEvent.objects.get(action="portfolio.resume").parameters["rationale"] == "Hedged with the desk head"


def test_when_officer_creates_and_edits_a_scenario_then_listed_and_validated(officer, auditor):
    bad = officer.post("/risk/scenarios/new/", {"name": "X", "shocks": '{"planet:Mars": -10}'})
    assert bad.status_code == 400 and "Unknown shock target" in bad.content.decode()

    ok = officer.post("/risk/scenarios/new/", {"name": "Oil", "shocks": '{"sector:Energy": -30}', "is_active": "on"})
    assert ok.status_code == 302
    scenario = Scenario.objects.get(name="Oil")
    assert scenario.shocks == {"sector:Energy": -30.0}
    edit_url = reverse("riskapp:scenario_edit", args=[scenario.pk])
    officer.post(edit_url, {"name": "Oil", "shocks": '{"sector:Energy": -45}', "is_active": "on"})
    scenario.refresh_from_db()
    assert scenario.shocks == {"sector:Energy": -45.0}

    listed = auditor.get("/risk/scenarios/").content.decode()
    assert "Oil" in listed and "sector:Energy" in listed and "New scenario" not in listed


def test_given_a_scheduled_run_in_progress_then_the_desk_officer_sees_and_polls_it(priced, officer):
    run = risk_run_create(portfolio=priced.portfolio, user=None)  # as the end-of-day schedule does
    html = officer.get(PAGE).content.decode()
    assert f'id="run-{run.calculation_id}"' in html and "queued" in html
    assert officer.get(f"/runs/{run.calculation_id}/progress/").status_code == 200


def test_given_a_scenario_named_like_a_formula_then_exports_keep_it_as_text(
    priced, officer, django_capture_on_commit_callbacks
):
    from openpyxl import load_workbook

    Scenario.objects.create(name='=HYPERLINK("http://x","y")', shocks={"all": -1})
    with django_capture_on_commit_callbacks(execute=True):
        risk_run_create(portfolio=priced.portfolio, user=None, parameters={"methods": ["historical"]})

    csv_text = officer.get(f"{PAGE}export.csv?table=stress").content.decode()
    assert "'=HYPERLINK" in csv_text
    wb = load_workbook(io.BytesIO(officer.get(f"{PAGE}export.xlsx").content))
    names = [row[0] for row in wb["Stress"].iter_rows(min_row=2, values_only=True)]
    assert '\'=HYPERLINK("http://x","y")' in names
