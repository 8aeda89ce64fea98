"""The wealth pages through Django's test client: the advisor's dashboard (KPIs, filters, CSV,
scan), the client page (profile, lots, goals with fan charts, the frontier, trades with their
tax effect, harvest candidates, decisions), the questionnaire, goal forms, proposals, decisions
and the client report PDF; who sees what (scoping is 404, auditors read but never write).

The book is built row by row below, so every figure on the page is worked out by hand here:
VTI 100 shares bought for 15,000 two years ago at today's close of 250 are worth 25,000 with an
unrealised gain of 10,000 (long-term: held more than a year, IRS Pub. 550); VXUS 200 shares
bought for 14,000 a hundred days ago at 55 are worth 11,000, a loss of 3,000 (short-term).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from audit.models import AuditEvent
from core.roles import Role
from portfolios.models import PriceBar
from tests.factories import InstrumentFactory, UserFactory
from wealth.engine.profiling import DEFAULT_QUESTIONNAIRE
from wealth.models import (
    Client,
    ClientReview,
    Goal,
    GoalPlan,
    Questionnaire,
    QuestionnaireResponse,
    Recommendation,
    RiskProfile,
    TaxLot,
    WealthAccount,
)

pytestmark = pytest.mark.django_db

INDEX = "/wealth/"


def _browser(user) -> HttpClient:
    client = HttpClient()
    client.force_login(user)
    return client


@pytest.fixture
def advisor(make_user):
    return make_user(Role.WEALTH_ADVISOR, username="advisor")


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="auditor")


@pytest.fixture
def other_advisor(make_user, other_desk):
    return make_user(Role.WEALTH_ADVISOR, username="other_advisor", desks=[other_desk])


def _client(advisor, code: str = "C-001", name: str = "Ada Lovelace") -> Client:
    return Client.objects.create(
        code=code, name=name, advisor=advisor, birth_date=timezone.localdate() - timedelta(days=45 * 365)
    )


@pytest.fixture
def book(advisor):
    """One client with two accounts, two lots, a profile, a planned goal, an allocation, a
    rebalance and a harvest proposal, and a review needing attention."""
    today = timezone.localdate()
    vti = InstrumentFactory(symbol="VTI", name="Total US market")
    vxus = InstrumentFactory(symbol="VXUS", name="Total international")
    for inst, close in ((vti, "250"), (vxus, "55")):
        for lag, px in ((1, Decimal(close) - 1), (0, Decimal(close))):
            PriceBar.objects.create(instrument=inst, date=today - timedelta(days=lag), close=px, adj_close=px)
    client = _client(advisor)
    taxable = WealthAccount.objects.create(
        client=client, code="C-001-TAX", name="Brokerage", kind="taxable", cash=Decimal("1000")
    )
    WealthAccount.objects.create(
        client=client, code="C-001-IRA", name="IRA", kind="traditional_ira", cash=Decimal("500")
    )
    long_lot = TaxLot.objects.create(
        account=taxable,
        instrument=vti,
        acquired_on=today - timedelta(days=730),
        holding_start=today - timedelta(days=730),
        quantity=Decimal("100"),
        cost_basis=Decimal("15000"),
    )
    short_lot = TaxLot.objects.create(
        account=taxable,
        instrument=vxus,
        acquired_on=today - timedelta(days=100),
        holding_start=today - timedelta(days=100),
        quantity=Decimal("200"),
        cost_basis=Decimal("14000"),
    )
    questionnaire = Questionnaire.objects.create(
        version=1, title="Risk profile questionnaire", questions=DEFAULT_QUESTIONNAIRE
    )
    response = QuestionnaireResponse.objects.create(
        client=client, questionnaire=questionnaire, answers={}, submitted_by=advisor
    )
    RiskProfile.objects.create(
        client=client,
        response=response,
        willingness=72,
        capacity=48,
        score=48,
        profile=3,
        explanation=["Your situation can bear less risk than you are willing to take."],
    )
    goal = Goal.objects.create(
        client=client,
        kind="retirement",
        name="Retire at 67",
        target_amount=Decimal("800000"),
        horizon_years=2,
        monthly_contribution=Decimal("1500"),
    )
    GoalPlan.objects.create(
        goal=goal,
        success_probability=0.62,
        required_contribution=Decimal("2100"),
        median_outcome=Decimal("760000"),
        fan={
            "months": [0, 12, 24],
            "p5": [36000, 40000, 45000],
            "p25": [36000, 48000, 60000],
            "p50": [36000, 55000, 76000],
            "p75": [36000, 62000, 92000],
            "p95": [36000, 75000, 120000],
        },
        seed=7,
        paths=10_000,
    )
    allocation = Recommendation.objects.create(
        client=client,
        kind="allocation",
        title="New allocation (max sharpe)",
        reason="Max Sharpe.",
        explanation={
            "as_of": today.isoformat(),
            "frontier": [{"vol": 0.05, "ret": 0.03}, {"vol": 0.10, "ret": 0.06}, {"vol": 0.16, "ret": 0.08}],
            "current": {"vol": 0.15, "ret": 0.05},
            "model": {"vol": 0.10, "ret": 0.055},
            "proposed": {"vol": 0.10, "ret": 0.06, "sharpe": 0.6, "esg": None, "turnover": 0.2},
            "weights": {"VTI": 0.6, "VXUS": 0.4},
            "current_weights": {"VTI": 0.69, "VXUS": 0.31},
            "returns_source": {"source": "historical"},
        },
    )
    rebalance = Recommendation.objects.create(
        client=client,
        kind="rebalance",
        title="Rebalance: drift 9.0% → 0.5%",
        reason="Drift 9 % is above the 5 % band.",
        explanation={"as_of": today.isoformat()},
        tax_effect=Decimal("-660"),
        trades=[
            {
                "account": "C-001-TAX",
                "symbol": "VXUS",
                "side": "sell",
                "quantity": 40,
                "price": 55,
                "amount": 2200,
                "lot_id": short_lot.pk,
                "realized_gain": -600,
                "short_term": True,
                "tax": -192,
            },
            {
                "account": "C-001-TAX",
                "symbol": "VTI",
                "side": "buy",
                "quantity": 8,
                "price": 250,
                "amount": 2000,
                "lot_id": None,
                "realized_gain": 0,
                "short_term": None,
                "tax": 0,
            },
        ],
    )
    harvest = Recommendation.objects.create(
        client=client,
        kind="harvest",
        title="Harvest 1 loss: save about $950",
        reason="VXUS lost 21 %.",
        explanation={
            "as_of": today.isoformat(),
            "candidates": [
                {
                    "lot_id": short_lot.pk,
                    "account": "C-001-TAX",
                    "symbol": "VXUS",
                    "quantity": 200,
                    "price": 55,
                    "loss": 3000,
                    "loss_pct": 0.214,
                    "short_term": True,
                    "tax_saving": 960,
                    "costs": 11,
                    "net_benefit": 949,
                    "substitute": "IXUS",
                    "blocked_by": None,
                    "reason": "A 3,000 loss.",
                },
                {
                    "lot_id": long_lot.pk,
                    "account": "C-001-TAX",
                    "symbol": "VTI",
                    "quantity": 1,
                    "price": 250,
                    "loss": 250,
                    "loss_pct": 0.06,
                    "short_term": False,
                    "tax_saving": 37,
                    "costs": 1,
                    "net_benefit": 36,
                    "substitute": "ITOT",
                    "blocked_by": "bought VTI in C-001-IRA on the 3rd",
                    "reason": "Washed.",
                },
            ],
        },
        tax_effect=Decimal("-960"),
    )
    review = ClientReview.objects.create(
        client=client,
        as_of=today,
        market_value=Decimal("37500"),
        drift=0.09,
        harvest_saving=Decimal("949"),
        goals_off_track=1,
        coaching_flags=0,
        attention=True,
        reasons=["Drift 9.0 % is above the 5 % band.", "Retire at 67: 62 % chance of success."],
    )
    return {
        "client": client,
        "goal": goal,
        "allocation": allocation,
        "rebalance": rebalance,
        "harvest": harvest,
        "review": review,
        "long_lot": long_lot,
        "short_lot": short_lot,
    }


# ---------------------------------------------------------------------------- dashboard


def test_given_no_clients_when_opening_dashboard_then_empty_state(advisor):
    response = _browser(advisor).get(INDEX)

    assert response.status_code == 200
    assert b'id="empty-state"' in response.content
    assert b"Scan now" not in response.content  # nothing to scan


def test_given_clients_but_no_scan_then_no_scan_state_and_unreviewed_list(advisor):
    _client(advisor)

    body = _browser(advisor).get(INDEX).content.decode()

    assert 'id="no-scan"' in body
    assert 'id="scan-now"' in body
    assert "Ada Lovelace" in body and 'id="unreviewed"' in body


def test_given_reviews_when_opening_dashboard_then_kpis_and_attention_first(book, advisor):
    calm = _client(advisor, code="C-002", name="Blaise Pascal")
    ClientReview.objects.create(client=calm, as_of=timezone.localdate(), market_value=Decimal("12500"), drift=0.01)

    response = _browser(advisor).get(INDEX)

    assert response.status_code == 200
    kpis = response.context["kpis"]
    assert kpis["clients"] == 2
    assert kpis["aum"] == Decimal("50000")  # 37,500 + 12,500
    assert kpis["attention"] == 1
    assert kpis["harvest"] == Decimal("949")
    names = [r.client.name for r in response.context["reviews"]]
    assert names == ["Ada Lovelace", "Blaise Pascal"]  # attention first
    body = response.content.decode()
    assert "Drift 9.0 % is above the 5 % band." in body
    assert "9.0 %" in body  # the drift column


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("show=attention", ["Ada Lovelace"]),
        ("show=ok", ["Blaise Pascal"]),
        ("flag=harvest", ["Ada Lovelace"]),
        ("flag=coaching", []),
        ("q=pascal", ["Blaise Pascal"]),
        ("q=c-001", ["Ada Lovelace"]),
    ],
)
def test_given_filters_then_only_matching_reviews(book, advisor, query, expected):
    calm = _client(advisor, code="C-002", name="Blaise Pascal")
    ClientReview.objects.create(client=calm, as_of=timezone.localdate(), market_value=Decimal("12500"), drift=0.01)

    response = _browser(advisor).get(f"{INDEX}?{query}")

    assert [r.client.name for r in response.context["reviews"]] == expected


def test_given_filters_when_exporting_csv_then_same_rows_with_reasons(book, advisor):
    response = _browser(advisor).get(f"{INDEX}clients.csv?show=attention")

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["client_code"] for r in rows] == ["C-001"]
    assert rows[0]["drift"] == "0.090000"
    assert "Retire at 67: 62 % chance of success." in rows[0]["reasons"]


def test_given_another_advisors_clients_then_dashboard_does_not_show_them(book, other_advisor):
    response = _browser(other_advisor).get(INDEX)

    assert response.context["kpis"]["clients"] == 0
    assert b"Ada Lovelace" not in response.content


def test_given_auditor_then_dashboard_reads_without_scan_button_and_scan_post_is_403(book, auditor):
    browser = _browser(auditor)

    response = browser.get(INDEX)

    assert response.status_code == 200
    assert b"Ada Lovelace" in response.content  # the advisor shares the auditor's desk
    assert b'id="scan-now"' not in response.content
    assert browser.post(f"{INDEX}scan/").status_code == 403


# ---------------------------------------------------------------------------- client page


def test_given_a_book_when_opening_client_page_then_profile_lots_goals_frontier_trades_and_harvest(book, advisor):
    client = book["client"]

    response = _browser(advisor).get(f"/wealth/clients/{client.pk}/")

    assert response.status_code == 200
    ctx = response.context
    body = response.content.decode()
    # Profile: capacity (48) is below willingness (72), so capacity sets the score.
    assert ctx["profile_name"] == "Balanced"
    assert ctx["governed_by"] == "capacity"
    assert "Your situation can bear less risk" in body
    # Lots valued at the latest close (hand-worked in the module docstring).
    rows = {r.lot.pk: r for block in ctx["accounts"] for r in block.lots}
    assert rows[book["long_lot"].pk].market_value == Decimal("25000")
    assert rows[book["long_lot"].pk].unrealised == Decimal("10000")
    assert rows[book["long_lot"].pk].short_term is False
    assert rows[book["short_lot"].pk].unrealised == Decimal("-3000")
    assert rows[book["short_lot"].pk].short_term is True
    # Weights of the total: 25,000 + 11,000 + 1,500 cash = 37,500.
    weights = {h.symbol: h.weight for h in ctx["holdings"]}
    assert weights["VTI"] == pytest.approx(25000 / 37500)
    assert ctx["total"] == Decimal("37500")
    # Goal: probability, what it takes, and a fan chart with both bands, the median and the target.
    assert "62 %" in body and "2,100 a month" in body
    fan = json.loads(ctx["goals"][0]["fan_chart"])
    names = [t.get("name") for t in fan["data"]]
    assert {"5th–95th percentile", "25th–75th percentile", "Median", "Target"} <= set(names)
    target = next(t for t in fan["data"] if t.get("name") == "Target")
    assert target["y"] == [800000.0, 800000.0]
    # Frontier: the line in %, the current, model and proposed portfolios as markers.
    frontier = json.loads(ctx["allocation_view"]["frontier_chart"])
    by_name = {t["name"]: t for t in frontier["data"]}
    assert by_name["Efficient frontier"]["x"] == [5.0, 10.0, 16.0]
    assert by_name["Current"]["x"] == [15.0] and by_name["Proposed"]["y"] == [6.0]
    assert "Model portfolio" in by_name
    changes = {r["symbol"]: r["change"] for r in ctx["allocation_view"]["weights_rows"]}
    assert changes["VTI"] == pytest.approx(-0.09)
    # Trades with their tax effect, harvest candidates with the blocked one's reason.
    assert 'id="rebalance-trades"' in body and "−660" in body
    assert "bought VTI in C-001-IRA on the 3rd" in body
    assert "IXUS" in body
    # Every open recommendation has its accept and decline forms.
    for rec in (book["allocation"], book["rebalance"], book["harvest"]):
        assert f'action="/wealth/recommendations/{rec.pk}/accept/"' in body
        assert f'action="/wealth/recommendations/{rec.pk}/decline/"' in body


def test_given_a_client_without_data_when_opening_page_then_empty_states(advisor):
    client = _client(advisor)

    response = _browser(advisor).get(f"/wealth/clients/{client.pk}/")

    assert response.status_code == 200
    body = response.content.decode()
    for empty in ("no-profile", "no-goals", "no-allocation", "no-rebalance", "no-harvest", "no-nudges"):
        assert f'id="{empty}"' in body, empty
    assert 'id="take-questionnaire"' in body


def test_given_another_advisors_client_then_every_page_is_404(book, other_advisor):
    browser = _browser(other_advisor)
    pk = book["client"].pk
    rec = book["rebalance"].pk
    goal = book["goal"].pk

    for url in (
        f"/wealth/clients/{pk}/",
        f"/wealth/clients/{pk}/questionnaire/",
        f"/wealth/clients/{pk}/report.pdf",
        f"/wealth/clients/{pk}/goals/new/",
        f"/wealth/goals/{goal}/edit/",
    ):
        assert browser.get(url).status_code == 404, url
    for url in (
        f"/wealth/clients/{pk}/propose/",
        f"/wealth/clients/{pk}/rebalance/",
        f"/wealth/clients/{pk}/harvest/",
        f"/wealth/goals/{goal}/plan/",
        f"/wealth/recommendations/{rec}/accept/",
        f"/wealth/recommendations/{rec}/decline/",
    ):
        assert browser.post(url, {"note": "x"}).status_code == 404, url
    assert Recommendation.objects.filter(status="proposed").count() == 3


def test_given_auditor_then_client_page_reads_without_forms_and_every_post_is_403(book, auditor):
    browser = _browser(auditor)
    client = book["client"]

    response = browser.get(f"/wealth/clients/{client.pk}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "/accept/" not in body and 'id="allocation-form"' not in body and 'id="add-goal"' not in body
    assert browser.get(f"/wealth/clients/{client.pk}/questionnaire/").status_code == 200
    posts = [
        f"/wealth/clients/{client.pk}/questionnaire/",
        f"/wealth/clients/{client.pk}/propose/",
        f"/wealth/clients/{client.pk}/rebalance/",
        f"/wealth/clients/{client.pk}/harvest/",
        f"/wealth/clients/{client.pk}/goals/new/",
        f"/wealth/goals/{book['goal'].pk}/edit/",
        f"/wealth/goals/{book['goal'].pk}/plan/",
        f"/wealth/recommendations/{book['rebalance'].pk}/accept/",
        f"/wealth/recommendations/{book['rebalance'].pk}/decline/",
    ]
    for url in posts:
        assert browser.post(url, {"note": "looks fine"}).status_code == 403, url
    assert Recommendation.objects.filter(status="proposed").count() == 3
    assert GoalPlan.objects.count() == 1


# ---------------------------------------------------------------------------- decisions


def test_given_decline_without_note_then_field_error_and_nothing_changes(book, advisor):
    rec = book["rebalance"]

    response = _browser(advisor).post(f"/wealth/recommendations/{rec.pk}/decline/", {"note": "  "})

    assert response.status_code == 400
    assert "Say why the recommendation is declined." in response.content.decode()
    rec.refresh_from_db()
    assert rec.status == "proposed"
    assert not AuditEvent.objects.filter(action__startswith="wealth.recommendation").exists()


def test_given_decline_with_note_then_declined_by_the_advisor_and_shown(book, advisor):
    rec = book["allocation"]
    browser = _browser(advisor)

    response = browser.post(f"/wealth/recommendations/{rec.pk}/decline/", {"note": "Client wants to wait."})

    assert response.status_code == 302
    rec.refresh_from_db()
    assert (rec.status, rec.decided_by, rec.decision_note) == ("declined", advisor, "Client wants to wait.")
    body = browser.get(response["Location"]).content.decode()
    assert "Client wants to wait." in body and "by <strong>advisor</strong>" in body


def test_given_accept_then_trades_booked_and_audited_with_note(book, advisor):
    rec = book["rebalance"]

    response = _browser(advisor).post(f"/wealth/recommendations/{rec.pk}/accept/", {"note": "Agreed on the phone."})

    assert response.status_code == 302, response.content[:500]
    rec.refresh_from_db()
    assert rec.status == "accepted" and rec.decided_by == advisor
    event = AuditEvent.objects.get(action="wealth.recommendation.accept")
    assert event.parameters["note"] == "Agreed on the phone."
    # The sale took 40 of the 200 VXUS shares from the short-term lot.
    assert TaxLot.objects.get(pk=book["short_lot"].pk).quantity == Decimal("160")


# ---------------------------------------------------------------------------- questionnaire


def test_questionnaire_renders_every_question_as_a_labelled_radio_group(book, advisor):
    response = _browser(advisor).get(f"/wealth/clients/{book['client'].pk}/questionnaire/")

    assert response.status_code == 200
    body = response.content.decode()
    for q in DEFAULT_QUESTIONNAIRE:
        assert f'id="q-{q["code"]}"' in body
        for choice in q["choices"]:
            assert f'value="{choice["value"]}"' in body


def test_given_missing_answers_then_errors_per_question_and_no_profile(book, advisor):
    first = DEFAULT_QUESTIONNAIRE[0]

    response = _browser(advisor).post(
        f"/wealth/clients/{book['client'].pk}/questionnaire/", {first["code"]: first["choices"][0]["value"]}
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {q["code"] for q in DEFAULT_QUESTIONNAIRE[1:]}
    assert RiskProfile.objects.count() == 1


def test_given_complete_answers_then_profile_saved_and_client_page_shows_it(book, advisor):
    browser = _browser(advisor)
    cautious = {q["code"]: q["choices"][0]["value"] for q in DEFAULT_QUESTIONNAIRE}  # lowest points everywhere

    response = browser.post(f"/wealth/clients/{book['client'].pk}/questionnaire/", cautious)

    assert response.status_code == 302
    profile = RiskProfile.objects.filter(client=book["client"]).order_by("-id").first()
    # Every answer at its minimum scores 0 on both dimensions (rescaled between min and max): profile 1.
    assert (profile.willingness, profile.capacity, profile.profile) == (0, 0, 1)
    page = browser.get(response["Location"])
    assert page.context["profile_name"] == "Conservative"


# ---------------------------------------------------------------------------- goals and proposals


def test_given_bad_goal_input_then_field_errors_and_nothing_written(book, advisor):
    url = f"/wealth/clients/{book['client'].pk}/goals/new/"

    response = _browser(advisor).post(
        url,
        {
            "kind": "home",
            "name": "House",
            "target_amount": "-5",
            "horizon_years": "0",
            "priority": "important",
            "initial_amount": "0",
            "monthly_contribution": "0",
            "inflation": "2.5",
            "annual_fee": "0.5",
            "contribution_growth": "2",
        },
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"target_amount", "horizon_years"}
    assert Goal.objects.count() == 1


def test_given_good_goal_input_then_goal_created_with_rates_as_fractions(book, advisor):
    url = f"/wealth/clients/{book['client'].pk}/goals/new/"

    response = _browser(advisor).post(
        url,
        {
            "kind": "home",
            "name": "House",
            "target_amount": "300000",
            "horizon_years": "8",
            "priority": "important",
            "initial_amount": "20000",
            "monthly_contribution": "1200",
            "inflation": "3",
            "annual_fee": "0.25",
            "contribution_growth": "2",
            "glide_path": "on",
        },
    )

    assert response.status_code == 302
    goal = Goal.objects.get(name="House")
    assert (goal.inflation, goal.annual_fee, goal.glide_path) == (Decimal("0.03"), Decimal("0.0025"), True)


def test_goal_edit_form_shows_rates_in_percent(book, advisor):
    response = _browser(advisor).get(f"/wealth/goals/{book['goal'].pk}/edit/")

    assert response.status_code == 200
    assert response.context["form"].initial["inflation"] == Decimal("2.5")  # stored 0.025


def test_given_target_objective_without_target_then_field_error_and_no_proposal(book, advisor):
    response = _browser(advisor).post(
        f"/wealth/clients/{book['client'].pk}/propose/", {"objective": "target_return", "returns": "historical"}
    )

    assert response.status_code == 400
    assert response.context["allocation_form"].errors["target"] == ["This objective needs a target."]
    assert Recommendation.objects.filter(kind="allocation").count() == 1


def test_given_bad_cash_flow_then_field_error(book, advisor):
    response = _browser(advisor).post(f"/wealth/clients/{book['client'].pk}/rebalance/", {"cash_flow": "lots"})

    assert response.status_code == 400
    assert "cash_flow" in response.context["rebalance_form"].errors


# ---------------------------------------------------------------------------- report


def test_given_a_book_then_client_report_is_a_pdf(book, advisor):
    response = _browser(advisor).get(f"/wealth/clients/{book['client'].pk}/report.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert 'filename="client-report-C-001.pdf"' in response["Content-Disposition"]


def test_given_an_empty_client_then_report_is_still_a_pdf(advisor, auditor):
    client = _client(advisor)

    response = _browser(auditor).get(f"/wealth/clients/{client.pk}/report.pdf")

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


# ---------------------------------------------------------------------------- advisor and auditor at once


@pytest.fixture
def dual(desk):
    """A wealth advisor who is also an auditor, on the book's desk: reads the advisor's clients."""
    user = UserFactory(username="advisor_auditor", roles=[Role.WEALTH_ADVISOR, Role.AUDITOR])
    desk.members.add(user)
    return user


def test_given_advisor_and_auditor_then_reads_another_advisors_client_but_every_write_is_404(book, dual):
    browser = _browser(dual)
    pk, goal, rec = book["client"].pk, book["goal"].pk, book["rebalance"].pk

    page = browser.get(f"/wealth/clients/{pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert page.context["can_act"] is False
    assert "/accept/" not in body and 'id="allocation-form"' not in body and 'id="add-goal"' not in body
    form = browser.get(f"/wealth/clients/{pk}/questionnaire/")
    assert form.status_code == 200 and form.context["can_act"] is False
    for url in (f"/wealth/clients/{pk}/goals/new/", f"/wealth/goals/{goal}/edit/"):
        assert browser.get(url).status_code == 404, url
    goal_form = {"kind": "home", "name": "Mine", "target_amount": "1", "horizon_years": "1", "priority": "important"}
    answers = {q["code"]: q["choices"][0]["value"] for q in DEFAULT_QUESTIONNAIRE}
    before = (
        list(Goal.objects.values_list("pk", "name", "horizon_years")),
        GoalPlan.objects.count(),
        RiskProfile.objects.count(),
        list(Recommendation.objects.order_by("pk").values_list("pk", "status")),
        AuditEvent.objects.count(),
    )

    for url, data in (
        (f"/wealth/clients/{pk}/goals/new/", goal_form),
        (f"/wealth/goals/{goal}/edit/", goal_form),
        (f"/wealth/goals/{goal}/plan/", {}),
        (f"/wealth/clients/{pk}/questionnaire/", answers),
        (f"/wealth/clients/{pk}/propose/", {"objective": "max_sharpe", "returns": "historical"}),
        (f"/wealth/clients/{pk}/rebalance/", {}),
        (f"/wealth/clients/{pk}/harvest/", {}),
        (f"/wealth/recommendations/{rec}/accept/", {"note": "ok"}),
        (f"/wealth/recommendations/{rec}/decline/", {"note": "no"}),
    ):
        assert browser.post(url, data).status_code == 404, url

    after = (
        list(Goal.objects.values_list("pk", "name", "horizon_years")),
        GoalPlan.objects.count(),
        RiskProfile.objects.count(),
        list(Recommendation.objects.order_by("pk").values_list("pk", "status")),
        AuditEvent.objects.count(),
    )
    assert after == before


def test_given_advisor_and_auditor_then_acts_on_own_client(book, dual):
    own = _client(dual, code="C-900", name="Own client")

    page = _browser(dual).get(f"/wealth/clients/{own.pk}/")

    assert page.context["can_act"] is True and page.context["allocation_form"] is not None


# ---------------------------------------------------------------------------- goal rates and plans


GOOD_GOAL = {
    "kind": "home",
    "name": "House",
    "target_amount": "300000",
    "horizon_years": "80",
    "priority": "important",
    "initial_amount": "0",
    "monthly_contribution": "1000",
    "inflation": "2.5",
    "annual_fee": "0.5",
    "contribution_growth": "2",
}


@pytest.mark.parametrize(
    "field, value",
    [
        ("inflation", "-50"),  # accepted before: today's money × 2^80 over 80 years
        ("inflation", "-10.01"),
        ("inflation", "20.01"),
        ("contribution_growth", "100"),  # accepted before: contributions × 2^80
        ("contribution_growth", "-20.01"),
        ("contribution_growth", "20.01"),
        ("annual_fee", "5.01"),
    ],
)
def test_given_a_goal_rate_out_of_bounds_then_field_error_and_nothing_written(book, advisor, field, value):
    response = _browser(advisor).post(f"/wealth/clients/{book['client'].pk}/goals/new/", {**GOOD_GOAL, field: value})

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {field}
    assert Goal.objects.count() == 1


def test_given_rates_at_the_bounds_then_goal_created(book, advisor):
    data = {**GOOD_GOAL, "inflation": "-10", "contribution_growth": "20", "annual_fee": "5"}

    response = _browser(advisor).post(f"/wealth/clients/{book['client'].pk}/goals/new/", data)

    assert response.status_code == 302
    goal = Goal.objects.get(name="House")
    assert (goal.inflation, goal.contribution_growth, goal.annual_fee) == (
        Decimal("-0.1"),
        Decimal("0.2"),
        Decimal("0.05"),
    )


def test_given_a_stored_goal_projecting_beyond_any_amount_then_plan_refused_with_a_message(book, advisor, monkeypatch):
    # Given: a goal stored before the bounds (deflation of 50 % a year for 80 years), and the model
    # portfolio's moments (not what is tested) given directly.
    from wealth.services import planning

    goal = book["goal"]
    Goal.objects.filter(pk=goal.pk).update(horizon_years=80, inflation=Decimal("-0.5"), monthly_contribution=1000)
    market = type("Market", (), {"as_of": timezone.localdate()})()
    monkeypatch.setattr(planning, "_model_moments", lambda profile, _: (0.06, 0.12, {"profile": profile}, market))
    plans = GoalPlan.objects.count()

    response = _browser(advisor).post(f"/wealth/goals/{goal.pk}/plan/", follow=True)

    assert response.status_code == 200
    texts = [str(m) for m in response.context["messages"]]
    assert any("not planned" in t and "10^15" in t for t in texts), texts
    assert GoalPlan.objects.count() == plans


# ---------------------------------------------------------------------------- Black–Litterman views


def test_given_black_litterman_views_then_parsed_into_the_services_views(book, advisor, monkeypatch):
    calls = []
    monkeypatch.setattr("wealth.services.allocation_propose", lambda **kw: calls.append(kw))
    data = {"objective": "max_sharpe", "returns": "black_litterman", "views": "VTI 8 60\n\nVXUS -2.5%\n"}

    response = _browser(advisor).post(f"/wealth/clients/{book['client'].pk}/propose/", data)

    assert response.status_code == 302
    assert calls[0]["views"] == [
        {"symbol": "VTI", "return": 0.08, "confidence": 0.6},
        {"symbol": "VXUS", "return": -0.025, "confidence": 0.5},  # confidence defaults to 50 %
    ]
    assert calls[0]["returns"] == "black_litterman"


@pytest.mark.parametrize(
    "views, returns, error",
    [
        ("VTI 8 60\nVXUS eight 60", "black_litterman", "Line 2: the return and the confidence must be numbers"),
        ("VTI", "black_litterman", "Line 1: write “SYMBOL return% confidence%”"),
        ("VTI 8 60 1", "black_litterman", "Line 1: write"),
        ("VTI 250 60", "black_litterman", "Line 1: the return must be between"),
        ("VTI 8 0", "black_litterman", "Line 1: the confidence must be more than 0 %"),
        ("VTI 8 NaN", "black_litterman", "Line 1: the return and the confidence must be numbers"),
        ("VTI 8 60", "historical", "Views need Black–Litterman expected returns."),
        ("", "black_litterman", "Black–Litterman needs at least one view."),
    ],
)
def test_given_bad_views_then_error_per_line_and_no_proposal(book, advisor, monkeypatch, views, returns, error):
    calls = []
    monkeypatch.setattr("wealth.services.allocation_propose", lambda **kw: calls.append(kw))

    response = _browser(advisor).post(
        f"/wealth/clients/{book['client'].pk}/propose/", {"objective": "max_sharpe", "returns": returns, "views": views}
    )

    assert response.status_code == 400
    errors = response.context["allocation_form"].errors["views"]
    assert any(e.startswith(error) for e in errors), errors
    assert calls == []
    assert 'name="views"' in response.content.decode()


# ---------------------------------------------------------------------------- dashboard search


def test_given_a_search_over_100_characters_then_error_shown_and_no_rows(book, advisor):
    response = _browser(advisor).get(f"{INDEX}?q={'a' * 101}")

    assert response.status_code == 200
    assert list(response.context["reviews"]) == []
    assert "q" in response.context["form"].errors
    assert "Search: Ensure this value has at most 100 characters" in response.content.decode()
    csv_rows = b"".join(_browser(advisor).get(f"{INDEX}clients.csv?q={'a' * 101}").streaming_content)
    assert csv_rows.decode().strip().count("\n") == 0  # the header only
