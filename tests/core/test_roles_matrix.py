"""Who may open what: every URL pattern of the project, for anonymous, each role and a superuser.

The resolver is walked, so a new URL without a row in ``MATRIX`` fails the test: whoever adds
a page or endpoint states who may open it. Path parameters are filled with existing objects
of the user's desk; scoping to desks is checked separately with another desk's objects.

Codes in the matrix:
    Y  allowed (2xx, or a redirect that is not to a login page)
    N  403
    L  redirect to the login page (pages, anonymous)
    A  redirect to the admin login page (admin, anyone but staff)
    U  401 or 403 (API, anonymous)
    404  not found

Admin rows with N for the superuser are read-only admin pages (no "add": login attempts,
calculation runs and outbox messages are written by the system; no "add" or "delete" for risk
runs, limits, breaches and scenarios, which change only through their audited services) and the
autocomplete endpoint called without its query parameters. ``view_on_site`` is 404 because
portfolios have no public URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from audit.models import AuditEvent
from audit.services import audit_record
from core.api.ingest import IngestViewSet
from core.models import CalculationRun
from core.roles import Role
from core.services import api_key_create
from portfolios import models as m
from tests.factories import (
    AccountFactory,
    InstrumentFactory,
    OrderFactory,
    OwnerFactory,
    PortfolioFactory,
    PositionFactory,
    PriceBarFactory,
    TradeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

WHO = ["anonymous", *[r.value for r in Role], "superuser"]
TS = datetime(2022, 12, 28, 14, 30, tzinfo=UTC)

# One row per URL name (namespace:name); "ns:*" covers a whole namespace.
# Columns follow WHO: anonymous, risk_officer, compliance_analyst, compliance_supervisor,
# wealth_advisor, auditor, oms_client, superuser.
MATRIX_TEXT = """
home                                  L  Y  Y  Y  Y  Y  N  Y
home_counts                           L  Y  Y  Y  Y  Y  N  Y
run_progress                          L  Y  Y  Y  Y  Y  N  Y
login                                 Y  Y  Y  Y  Y  Y  Y  Y
logout                                L  L  L  L  L  L  L  L
health                                Y  Y  Y  Y  Y  Y  Y  Y
metrics                               U  N  N  N  N  Y  N  Y
portfolios:portfolio_list             L  Y  Y  Y  Y  Y  N  Y
portfolios:portfolio_detail           L  Y  Y  Y  Y  Y  N  Y
portfolios:snapshot_start             L  Y  Y  Y  Y  N  N  Y
riskapp:index                         L  Y  N  N  N  Y  N  Y
riskapp:portfolio                     L  Y  N  N  N  Y  N  Y
riskapp:run_all                       L  Y  N  N  N  N  N  Y
riskapp:run_now                       L  Y  N  N  N  N  N  Y
riskapp:export_csv                    L  Y  N  N  N  Y  N  Y
riskapp:export_xlsx                   L  Y  N  N  N  Y  N  Y
riskapp:report_pdf                    L  Y  N  N  N  Y  N  Y
riskapp:limit_create                  L  Y  N  N  N  N  N  Y
riskapp:limit_edit                    L  Y  N  N  N  N  N  Y
riskapp:resume                        L  Y  N  N  N  N  N  Y
riskapp:scenario_list                 L  Y  N  N  N  Y  N  Y
riskapp:scenario_create               L  Y  N  N  N  N  N  Y
riskapp:scenario_edit                 L  Y  N  N  N  N  N  Y
surveillance:index                    L  N  Y  Y  N  Y  N  Y
surveillance:alert_export             L  N  Y  Y  N  Y  N  Y
surveillance:alert_assign_bulk        L  N  400 400 N N  N  400
surveillance:alert_detail             L  N  Y  Y  N  Y  N  Y
surveillance:alert_act                L  N  Y  Y  N  N  N  Y
surveillance:case_list                L  N  Y  Y  N  Y  N  Y
surveillance:case_detail              L  N  Y  Y  N  Y  N  Y
surveillance:case_act                 L  N  Y  Y  N  N  N  Y
surveillance:case_stor_edit           L  N  Y  Y  N  N  N  Y
surveillance:case_stor_pdf            L  N  Y  Y  N  Y  N  Y
surveillance:case_stor_json           L  N  Y  Y  N  Y  N  Y
surveillance:case_stor_xml            L  N  Y  Y  N  Y  N  Y
surveillance:dashboard                L  N  Y  Y  N  Y  N  Y
surveillance:sweep                    L  N  Y  Y  N  N  N  Y
surveillance:detector_list            L  N  Y  Y  N  Y  N  Y
surveillance:detector_edit            L  N  Y  Y  N  Y  N  Y
execution_quality:index               L  Y  Y  Y  N  Y  N  Y
execution_quality:orders_csv          L  Y  Y  Y  N  Y  N  Y
execution_quality:run_now             L  Y  Y  Y  N  N  N  Y
execution_quality:order_detail        L  Y  Y  Y  N  Y  N  Y
execution_quality:order_run           L  Y  Y  Y  N  N  N  Y
execution_quality:reports             L  Y  Y  Y  N  Y  N  Y
execution_quality:report_venues_csv   L  Y  Y  Y  N  Y  N  Y
execution_quality:report_brokers_csv  L  Y  Y  Y  N  Y  N  Y
execution_quality:report_pdf          L  Y  Y  Y  N  Y  N  Y
execution_quality:rts28               L  Y  Y  Y  N  Y  N  Y
execution_quality:rts28_csv           L  Y  Y  Y  N  Y  N  Y
execution_quality:rts28_pdf           L  Y  Y  Y  N  Y  N  Y
execution_quality:pretrade            L  Y  Y  Y  N  Y  N  Y
execution_quality:model_list          L  Y  Y  Y  N  Y  N  Y
execution_quality:model_train         L  N  N  Y  N  N  N  Y
wealth:index                          L  N  N  N  Y  Y  N  Y
wealth:attention_csv                  L  N  N  N  Y  Y  N  Y
wealth:scan                           L  N  N  N  Y  N  N  Y
wealth:client_detail                  L  N  N  N  Y  Y  N  Y
wealth:questionnaire                  L  N  N  N  Y  Y  N  Y
wealth:client_report                  L  N  N  N  Y  Y  N  Y
wealth:goal_create                    L  N  N  N  Y  N  N  Y
wealth:goal_edit                      L  N  N  N  Y  N  N  Y
wealth:goal_plan                      L  N  N  N  Y  N  N  Y
wealth:allocation_propose             L  N  N  N  400 N N  400
wealth:rebalance_propose              L  N  N  N  400 N N  400
wealth:harvest_propose                L  N  N  N  Y  N  N  Y
wealth:recommendation_accept          L  N  N  N  Y  N  N  Y
wealth:recommendation_decline         L  N  N  N  400 N N  400
audit:*                               L  N  N  N  N  Y  N  Y
admin:login                           Y  Y  Y  Y  Y  Y  Y  Y
admin:logout                          Y  Y  Y  Y  Y  Y  Y  L
admin:view_on_site                    A  A  A  A  A  A  A  404
admin:autocomplete                    A  A  A  A  A  A  A  N
admin:axes_accessattempt_add          A  A  A  A  A  A  A  N
admin:axes_accesslog_add              A  A  A  A  A  A  A  N
admin:axes_accessfailurelog_add       A  A  A  A  A  A  A  N
admin:core_calculationrun_add         A  A  A  A  A  A  A  N
admin:core_outboxmessage_add          A  A  A  A  A  A  A  N
admin:riskapp_riskrun_add             A  A  A  A  A  A  A  N
admin:riskapp_limit_add               A  A  A  A  A  A  A  N
admin:riskapp_limitbreach_add         A  A  A  A  A  A  A  N
admin:riskapp_scenario_add            A  A  A  A  A  A  A  N
admin:riskapp_riskrun_delete          A  A  A  A  A  A  A  N
admin:riskapp_limit_delete            A  A  A  A  A  A  A  N
admin:riskapp_limitbreach_delete      A  A  A  A  A  A  A  N
admin:riskapp_scenario_delete         A  A  A  A  A  A  A  N
admin:                                A  A  A  A  A  A  A  Y
admin:*                               A  A  A  A  A  A  A  Y
schema                                U  Y  Y  Y  Y  Y  Y  Y
api-docs                              U  Y  Y  Y  Y  Y  Y  Y
calculationrun-list                   U  Y  Y  Y  Y  Y  Y  Y
calculationrun-detail                 U  Y  Y  Y  Y  Y  Y  Y
auditevent-list                       U  N  N  N  N  Y  N  Y
auditevent-detail                     U  N  N  N  N  Y  N  Y
instrument-list                       U  Y  Y  Y  Y  Y  Y  Y
instrument-detail                     U  Y  Y  Y  Y  Y  Y  Y
pricebar-list                         U  Y  Y  Y  Y  Y  Y  Y
pricebar-detail                       U  Y  Y  Y  Y  Y  Y  Y
quote-list                            U  Y  Y  Y  Y  Y  Y  Y
quote-detail                          U  Y  Y  Y  Y  Y  Y  Y
markettrade-list                      U  Y  Y  Y  Y  Y  Y  Y
markettrade-detail                    U  Y  Y  Y  Y  Y  Y  Y
marketevent-list                      U  Y  Y  Y  Y  Y  Y  Y
marketevent-detail                    U  Y  Y  Y  Y  Y  Y  Y
factorreturn-list                     U  Y  Y  Y  Y  Y  Y  Y
factorreturn-detail                   U  Y  Y  Y  Y  Y  Y  Y
desk-list                             U  Y  Y  Y  Y  Y  Y  Y
desk-detail                           U  Y  Y  Y  Y  Y  Y  Y
beneficialowner-list                  U  Y  Y  Y  Y  Y  Y  Y
beneficialowner-detail                U  Y  Y  Y  Y  Y  Y  Y
portfolio-list                        U  Y  Y  Y  Y  Y  Y  Y
portfolio-detail                      U  Y  Y  Y  Y  Y  Y  Y
account-list                          U  Y  Y  Y  Y  Y  Y  Y
account-detail                        U  Y  Y  Y  Y  Y  Y  Y
position-list                         U  Y  Y  Y  Y  Y  Y  Y
position-detail                       U  Y  Y  Y  Y  Y  Y  Y
order-list                            U  Y  Y  Y  Y  Y  Y  Y
order-detail                          U  Y  Y  Y  Y  Y  Y  Y
orderevent-list                       U  Y  Y  Y  Y  Y  Y  Y
orderevent-detail                     U  Y  Y  Y  Y  Y  Y  Y
trade-list                            U  Y  Y  Y  Y  Y  Y  Y
trade-detail                          U  Y  Y  Y  Y  Y  Y  Y
pretrade-check                        U  405 N N  N  N  405 405
risklimit-list                        U  Y  N  N  N  Y  N  Y
risklimit-detail                      U  Y  N  N  N  Y  N  Y
riskbreach-list                       U  Y  N  N  N  Y  N  Y
riskbreach-detail                     U  Y  N  N  N  Y  N  Y
riskscenario-list                     U  Y  N  N  N  Y  N  Y
riskscenario-detail                   U  Y  N  N  N  Y  N  Y
riskrun-list                          U  Y  N  N  N  Y  N  Y
riskrun-detail                        U  Y  N  N  N  Y  N  Y
surveillancealert-list                U  N  Y  Y  N  Y  N  Y
surveillancealert-detail              U  N  Y  Y  N  Y  N  Y
surveillancealert-comments            U  N  Y  Y  N  Y  N  Y
surveillancealert-transition          U  N  405 405 N 405 N 405
surveillancealert-assign              U  N  405 405 N 405 N 405
surveillancecase-list                 U  N  Y  Y  N  Y  N  Y
surveillancecase-detail               U  N  Y  Y  N  Y  N  Y
surveillancecase-stor                 U  N  Y  Y  N  Y  N  Y
surveillancecase-alerts               U  N  405 405 N 405 N 405
surveillancecase-stor_propose         U  N  405 405 N 405 N 405
surveillancecase-stor_file            U  N  405 405 N 405 N 405
surveillancecase-stor_reject          U  N  405 405 N 405 N 405
surveillancecase-close                U  N  405 405 N 405 N 405
surveillancedetector-list             U  N  Y  Y  N  Y  N  Y
surveillancedetector-detail           U  N  Y  Y  N  Y  N  Y
surveillancerun-list                  U  N  Y  Y  N  Y  N  Y
surveillancerun-detail                U  N  Y  Y  N  Y  N  Y
tcaorder-list                         U  Y  Y  Y  N  Y  N  Y
tcaorder-detail                       U  Y  Y  Y  N  Y  N  Y
tcaexecution-list                     U  Y  Y  Y  N  Y  N  Y
tca-pretrade                          U  405 405 405 N 405 N 405
tca-report-venues                     U  Y  Y  Y  N  Y  N  Y
tca-report-brokers                    U  Y  Y  Y  N  Y  N  Y
tca-report-rts28                      U  Y  Y  Y  N  Y  N  Y
tcarun-list                           U  Y  Y  Y  N  Y  N  Y
tcarun-detail                         U  404 404 404 N  Y  N  Y
tcamodel-list                         U  Y  Y  Y  N  Y  N  Y
tcamodel-train                        U  405 405 405 N 405 N 405
wealth-questionnaire                  U  N  N  N  Y  Y  N  Y
wealthclient-list                     U  N  N  N  Y  Y  N  Y
wealthclient-detail                   U  N  N  N  Y  Y  N  Y
wealthprofile-list                    U  N  N  N  Y  Y  N  Y
wealthprofile-detail                  U  N  N  N  Y  Y  N  Y
wealthgoal-list                       U  N  N  N  Y  Y  N  Y
wealthgoal-detail                     U  N  N  N  Y  Y  N  Y
wealthplan-list                       U  N  N  N  Y  Y  N  Y
wealthplan-detail                     U  N  N  N  Y  Y  N  Y
wealthrecommendation-list             U  N  N  N  Y  Y  N  Y
wealthrecommendation-detail           U  N  N  N  Y  Y  N  Y
wealthrecommendation-propose          U  N  N  N  405 405 N 405
wealthrecommendation-accept           U  N  N  N  405 405 N 405
wealthrecommendation-decline          U  N  N  N  405 405 N 405
wealthrun-list                        U  N  N  N  Y  Y  N  Y
wealthrun-detail                      U  N  N  N  Y  Y  N  Y
"""

# POST to every ingestion endpoint (the list URL of every IngestViewSet).
INGEST_ROW = "U  N  N  N  N  N  Y  Y"

# Names answered only to POST (the matrix row is about the POST).
POST_ONLY = {
    "logout",
    "portfolios:snapshot_start",
    "admin:logout",
    "audit:chain_verify",
    "riskapp:run_all",
    "riskapp:run_now",
    "riskapp:resume",
    "surveillance:alert_assign_bulk",
    "surveillance:alert_act",
    "surveillance:case_act",
    "surveillance:case_stor_edit",
    "surveillance:sweep",
    "execution_quality:run_now",
    "execution_quality:order_run",
    "execution_quality:model_train",
    "wealth:scan",
    "wealth:goal_plan",
    "wealth:allocation_propose",
    "wealth:rebalance_propose",
    "wealth:harvest_propose",
    "wealth:recommendation_accept",
    "wealth:recommendation_decline",
}
# Admin rows that differ from "admin:*" for the superuser (a catch-all answers 404 to staff).
SUPERUSER_404 = {"admin:catch_all"}


def _parse(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.strip().splitlines():
        name, *codes = line.split()
        assert len(codes) == len(WHO), line
        rows[name] = codes
    return rows


MATRIX = _parse(MATRIX_TEXT)


def _expected(name: str) -> list[str]:
    if name in MATRIX:
        return MATRIX[name]
    namespace = name.rpartition(":")[0]
    if namespace and f"{namespace}:*" in MATRIX:
        return MATRIX[f"{namespace}:*"]
    raise AssertionError(f"URL {name!r} has no row in MATRIX: say who may open it")


# ---------------------------------------------------------------------------- walking the resolver


@dataclass(frozen=True)
class Route:
    name: str  # namespace:name, or namespace:catch_all / the route itself when unnamed
    pattern: str  # the joined pattern text
    view: Any


def _walk(patterns: list[Any], prefix: str = "", namespace: tuple[str, ...] = ()) -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = (*namespace, p.namespace) if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            pattern = prefix + str(p.pattern)
            if p.name:
                name = ":".join((*namespace, p.name))
            elif "(?P<url>" in pattern:
                name = ":".join((*namespace, "catch_all"))
            else:
                name = ":".join((*namespace, "")) if namespace else pattern
            view = getattr(p.callback, "cls", None) or getattr(p.callback, "view_class", None) or p.callback
            yield Route(name=name, pattern=pattern, view=view)


ROUTES = list(_walk(get_resolver().url_patterns))
_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)")


def _url(route: Route, objects: dict[str, Any]) -> str:
    """A concrete URL for the pattern, parameters filled with existing objects."""

    def fill(match: re.Match[str]) -> str:
        param = match.group("name") or match.group("rname")
        return str(_param_value(route, param, objects))

    path = _PARAM.sub(fill, route.pattern)
    path = path.replace("^", "").replace("/?$", "").replace("$", "")
    return "/" + path


def _param_value(route: Route, param: str, objects: dict[str, Any]) -> Any:
    pattern = route.pattern
    if pattern.startswith("api/v1/"):
        if param == "scenario":
            return "spoofing"  # detectors are addressed by scenario
        if param == "order_id":
            return objects["api"]["tcaorder"].order_id  # TCA results are addressed by their order
        basename = route.name.rsplit("-", 1)[0]
        return objects["api"][basename].pk
    if pattern.startswith("runs/"):
        return objects["run"].pk
    if pattern.startswith("audit/") and param == "pk":
        return objects["audit_event"].pk
    if pattern.startswith(("portfolios/", "risk/portfolios/")) and param == "code":
        return objects["portfolio"].code
    if pattern.startswith("risk/portfolios/") and param == "pk":
        return objects["api"]["risklimit"].pk
    if pattern.startswith("risk/scenarios/") and param == "pk":
        return objects["api"]["riskscenario"].pk
    if pattern.startswith("surveillance/"):
        if param == "scenario":
            return "spoofing"
        kind = "surveillancecase" if pattern.startswith("surveillance/cases/") else "surveillancealert"
        return objects["api"][kind].pk
    if pattern.startswith("wealth/") and param == "pk":
        kind = {"goals": "wealthgoal", "recommendations": "wealthrecommendation"}.get(
            pattern.split("/")[1], "wealthclient"
        )
        return objects["api"][kind].pk
    if pattern.startswith("execution/orders/") and param == "order_id":
        return objects["api"]["order"].pk
    if pattern.startswith("execution/reports/rts28/") and param == "year":
        return TS.year
    if pattern.startswith("admin/"):
        return _admin_value(pattern, param, objects)
    raise AssertionError(f"No value for parameter {param!r} of {pattern!r}: add one to _param_value")


def _admin_value(pattern: str, param: str, objects: dict[str, Any]) -> Any:
    if param == "app_label":
        return "portfolios"
    if param == "url":
        return "no-such-page/"
    if param == "content_type_id":
        return ContentType.objects.get_for_model(m.Portfolio).pk
    if pattern.startswith("admin/r/"):
        return objects["portfolio"].pk
    app_label, model_name = pattern.split("/")[1:3]
    instance = apps.get_model(app_label, model_name)._default_manager.order_by("pk").first()
    return instance.pk if instance is not None else 1


# ---------------------------------------------------------------------------- the world


@pytest.fixture
def objects(desk, other_desk) -> dict[str, Any]:
    """One object of every kind on the users' desk, and the same on another desk."""
    owner = OwnerFactory(code="BO1")
    portfolio = PortfolioFactory(code="PF1", desk=desk)
    account = AccountFactory(code="ACC1", owner=owner, desk=desk, portfolio=portfolio)
    aapl = InstrumentFactory(symbol="AAPL")
    order = OrderFactory(client_order_id="ORD1", account=account, instrument=aapl)
    other_portfolio = PortfolioFactory(code="PF-OTHER", desk=other_desk)
    other_account = AccountFactory(
        code="ACC-OTHER", owner=OwnerFactory(code="BO2"), desk=other_desk, portfolio=other_portfolio
    )
    other_order = OrderFactory(client_order_id="ORD-OTHER", account=other_account, instrument=aapl)
    return {
        "portfolio": portfolio,
        # User-less (scheduled) runs are visible to the desks of the portfolio they name.
        "run": CalculationRun.objects.create(kind="positions.snapshot", parameters={"portfolio_id": portfolio.pk}),
        "audit_event": audit_record(action="test.event", actor=None, object_type="test"),
        "api": {
            "instrument": aapl,
            "pricebar": PriceBarFactory(instrument=aapl),
            "quote": m.Quote.objects.create(instrument=aapl, ts=TS, bid=1, ask=2, bid_size=1, ask_size=1),
            "markettrade": m.MarketTrade.objects.create(
                instrument=aapl, ts=TS, venue="X", tape_id="1", price=1, quantity=1
            ),
            "marketevent": m.MarketEvent.objects.create(instrument=aapl, ts=TS, event_type="news", headline="h"),
            "factorreturn": m.FactorReturn.objects.create(
                factor="SMB", frequency="D", period_end=TS.date(), value=Decimal("0.01")
            ),
            "desk": desk,
            "beneficialowner": owner,
            "portfolio": portfolio,
            "account": account,
            "position": PositionFactory(portfolio=portfolio, instrument=aapl),
            "order": order,
            "orderevent": m.OrderEvent.objects.create(order=order, sequence=0, event_type="new", ts=TS),
            "trade": TradeFactory(account=account, instrument=aapl, order=order),
            "calculationrun": CalculationRun.objects.create(kind="test", parameters={"portfolio_id": portfolio.pk}),
            **_risk_objects(portfolio),
            **_surveillance_objects(account),
            **_tca_objects(order),
            **_wealth_objects(desk),
            "auditevent": AuditEvent.objects.order_by("pk").first(),
        },
        "other": {
            "portfolio": other_portfolio,
            "account": other_account,
            "order": other_order,
            "trade": TradeFactory(account=other_account, instrument=aapl, order=other_order),
            "position": PositionFactory(portfolio=other_portfolio, instrument=aapl),
            "orderevent": m.OrderEvent.objects.create(order=other_order, sequence=0, event_type="new", ts=TS),
            "beneficialowner": other_account.owner,
            "desk": other_desk,
        },
    }


def _risk_objects(portfolio: m.Portfolio) -> dict[str, Any]:
    from riskapp.models import Limit, LimitBreach, RiskRun, Scenario

    limit = Limit.objects.create(portfolio=portfolio, kind="gross_leverage", threshold=Decimal("2"))
    breach = LimitBreach.objects.create(
        limit=limit,
        portfolio=portfolio,
        severity="breach",
        measured=Decimal("3"),
        limit_value=Decimal("2"),
        utilisation=1.5,
        recommended_action="Reduce gross exposure.",
    )
    scenario = Scenario.objects.create(name="Energy crash", shocks={"sector:Energy": -40})
    run = RiskRun.objects.create(
        calculation=CalculationRun.objects.create(
            kind="risk.run", status="succeeded", parameters={"portfolio_id": portfolio.pk}
        ),
        portfolio=portfolio,
        as_of=TS.date(),
        summary={"nav": 10_000_000},
    )
    return {"risklimit": limit, "riskbreach": breach, "riskscenario": scenario, "riskrun": run}


def _surveillance_objects(account: m.Account) -> dict[str, Any]:
    from surveillance.models import Alert, Case

    case = Case.objects.create(reference="CASE-00001", title="Case", desk=account.desk)
    alert = Alert.objects.create(
        scenario="spoofing",
        account=account,
        desk=account.desk,
        window_start=TS,
        window_end=TS,
        score=50,
        summary="Suspected spoofing",
        case=case,
    )
    run = CalculationRun.objects.create(kind="surveillance.sweep", status="succeeded")
    return {"surveillancealert": alert, "surveillancecase": case, "surveillancerun": run}


def _wealth_objects(desk: m.Desk) -> dict[str, Any]:
    """A client of the ``wealth_advisor`` user (the matrix's advisor, on ``desk`` so that the
    auditor of the desk sees it), with a profile, a goal and its plan, a recommendation and a scan."""
    from wealth.models import Client, Goal, GoalPlan, Questionnaire, QuestionnaireResponse, Recommendation, RiskProfile

    advisor = UserFactory(username=Role.WEALTH_ADVISOR.value, roles=[Role.WEALTH_ADVISOR.value])
    desk.members.add(advisor)
    client = Client.objects.create(code="WC1", name="Client", advisor=advisor, birth_date=TS.date().replace(year=1980))
    questionnaire = Questionnaire.objects.create(version=99, title="Matrix", questions=[])
    response = QuestionnaireResponse.objects.create(client=client, questionnaire=questionnaire, answers={})
    profile = RiskProfile.objects.create(
        client=client, response=response, willingness=50, capacity=50, score=50, profile=3
    )
    goal = Goal.objects.create(client=client, kind="home", name="Home", target_amount=100_000, horizon_years=5)
    plan = GoalPlan.objects.create(
        goal=goal, success_probability=0.5, median_outcome=100_000, fan={}, seed=1, paths=10, created_by=advisor
    )
    recommendation = Recommendation.objects.create(client=client, kind="harvest", title="Harvest", reason="Loss")
    run = CalculationRun.objects.create(kind="wealth.scan", status="succeeded", user=advisor)
    return {
        "wealthclient": client,
        "wealthprofile": profile,
        "wealthgoal": goal,
        "wealthplan": plan,
        "wealthrecommendation": recommendation,
        "wealthrun": run,
    }


def _tca_objects(order: m.Order) -> dict[str, Any]:
    from tests.factories import TcaOrderResultFactory

    # A user-less run (an ingestion follow-up): like every run, only its owner, auditors and
    # superusers see it, hence 404 for the other roles in the matrix.
    run = CalculationRun.objects.create(kind="tca.run", status="succeeded", parameters={"mode": "pending"})
    return {"tcaorder": TcaOrderResultFactory(order=order, run=run), "tcarun": run}


@dataclass
class Actor:
    who: str
    user: User | None
    browser: Client
    api: APIClient


def _actor(who: str, make_user) -> Actor:
    browser, api = Client(), APIClient()
    user = None
    if who == "superuser":
        user = UserFactory(username="root", is_superuser=True, is_staff=True)
    elif who != "anonymous":
        user = make_user(Role(who))
    if user is not None:
        browser.force_login(user)
        _, raw = api_key_create(user=user, name="matrix")
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return Actor(who=who, user=user, browser=browser, api=api)


def _verdict(response: Any) -> str:
    status = response.status_code
    location = response.get("Location", "")
    if status in (301, 302, 303, 307, 308):
        if location.startswith("/admin/login/"):
            return "A"
        if location.startswith("/accounts/login/"):
            return "L"
        return "Y"
    if status < 300:
        return "Y"
    if status == 401:
        return "U"
    if status == 403:
        return "N"
    return str(status)


def _request(actor: Actor, route: Route, url: str, method: str) -> Any:
    client = actor.api if route.pattern.startswith("api/v1/") else actor.browser
    if method == "POST":
        if issubclass_safe(route.view, IngestViewSet):
            response = client.post(url, data=b'{"rows": [{}]}', content_type="application/json")
        else:
            response = client.post(url, data={"as_of": "2022-12-28"})
        if actor.user is not None:
            actor.browser.force_login(actor.user)  # a logout must not leak into the next request
        return response
    return client.get(url)


def issubclass_safe(view: Any, cls: type) -> bool:
    return isinstance(view, type) and issubclass(view, cls)


def _matches(expected: str, actual: str, *, who: str, route: Route) -> bool:
    if expected == "U":
        return actual in {"U", "N"}
    if route.name in SUPERUSER_404 and who == "superuser":
        return actual == "404"
    return expected == actual


# ---------------------------------------------------------------------------- the tests


def test_every_url_pattern_has_an_expected_row():
    missing = set()
    for route in ROUTES:
        try:
            _expected(route.name)
        except AssertionError:
            missing.add(route.name)
    assert not missing, f"URL patterns without a row in MATRIX: {sorted(missing)}"


def test_every_ingestion_endpoint_is_found_by_the_walk():
    ingest = {r.name for r in ROUTES if issubclass_safe(r.view, IngestViewSet) and r.name.endswith("-list")}
    assert len(ingest) == 14


@pytest.mark.parametrize("who", WHO)
def test_given_actor_when_opening_every_url_then_matrix_holds(who, objects, make_user):
    actor = _actor(who, make_user)
    column = WHO.index(who)
    wrong = []
    for route in ROUTES:
        url = _url(route, objects)
        method = "POST" if route.name in POST_ONLY else "GET"
        expected = _expected(route.name)[column]
        actual = _verdict(_request(actor, route, url, method))
        if not _matches(expected, actual, who=who, route=route):
            wrong.append(f"{method} {url} ({route.name}): expected {expected}, got {actual}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("who", WHO)
def test_given_actor_when_posting_a_batch_to_every_ingestion_endpoint_then_only_oms_and_superuser_pass(
    who, objects, make_user
):
    """A batch with one empty row: permitted callers get the validation error (400), not 401/403."""
    actor = _actor(who, make_user)
    expected = INGEST_ROW.split()[WHO.index(who)]
    wrong = []
    for route in ROUTES:
        if not (issubclass_safe(route.view, IngestViewSet) and route.name.endswith("-list")):
            continue
        url = _url(route, objects)
        response = _request(actor, route, url, "POST")
        actual = "Y" if response.status_code == 400 else _verdict(response)
        if not _matches(expected, actual, who=who, route=route):
            wrong.append(f"POST {url}: expected {expected}, got {response.status_code} {response.content[:200]!r}")
    assert not wrong, "\n".join(wrong)


SCOPED = ["portfolio", "account", "order", "trade", "position", "orderevent", "beneficialowner", "desk"]
_SEGMENT = {
    "portfolio": "portfolios",
    "account": "accounts",
    "order": "orders",
    "trade": "trades",
    "position": "positions",
    "orderevent": "order-events",
    "beneficialowner": "beneficial-owners",
    "desk": "desks",
}


@pytest.mark.parametrize("who", [r.value for r in Role if r != Role.AUDITOR] + [Role.AUDITOR.value])
def test_given_user_of_one_desk_then_other_desks_objects_are_404_and_absent_from_lists(who, objects, make_user):
    actor = _actor(who, make_user)
    for kind in SCOPED:
        foreign = objects["other"][kind]
        detail = actor.api.get(f"/api/v1/{_SEGMENT[kind]}/{foreign.pk}")
        assert detail.status_code == 404, (kind, detail.status_code)
        assert detail.json() == {"error": {"code": "not_found", "message": "Not found."}}
        listed = {row["id"] for row in actor.api.get(f"/api/v1/{_SEGMENT[kind]}?page_size=5000").json()["results"]}
        assert foreign.pk not in listed, kind
        assert objects["api"][kind].pk in listed, kind
    if who != Role.OMS_CLIENT.value:
        assert actor.browser.get(f"/portfolios/{objects['other']['portfolio'].code}/").status_code == 404
        assert actor.browser.get(f"/portfolios/{objects['portfolio'].code}/").status_code == 200


def test_given_superuser_then_every_desks_objects_are_visible(objects, make_user):
    actor = _actor("superuser", make_user)
    for kind in SCOPED:
        assert actor.api.get(f"/api/v1/{_SEGMENT[kind]}/{objects['other'][kind].pk}").status_code == 200, kind


def test_given_user_without_role_then_denied_everywhere_but_public_pages(objects, make_user):
    user = make_user(None)
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 403
    assert client.get("/portfolios/").status_code == 403
    assert client.get("/health/").status_code == 200
    assert not Group.objects.filter(user=user).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_given_nul_byte_in_a_page_path_then_not_found_not_server_error(objects, make_user, method):
    client = Client(raise_request_exception=False)
    client.force_login(make_user(Role.RISK_OFFICER))

    url = "/portfolios/%00/" if method == "get" else "/portfolios/%00/snapshot/"
    response = getattr(client, method)(url)

    assert response.status_code == 404
