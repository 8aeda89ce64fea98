"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis).

Given the schema the app serves at ``/api/schema/``, a small book touching every product and an
API key, when schemathesis generates requests for every operation (valid input and, where an
operation takes input, invalid input) and sends them in-process through the WSGI app, then no
response is a 5xx and every response's status code, content type and body are ones the schema
documents for that operation (schemathesis' ``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance`` and ``response_schema_conformance`` checks).

The run does not stop at the first failure: it lists every operation that failed, each failure
once, with a curl command that reproduces it. It is reproducible: each operation's cases come from
a seed derived from the operation's name, and nothing is replayed from a local example database.
``VIGIL_FUZZ_SCALE=10`` multiplies the number of cases for a deeper local run.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import zlib
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup
from werkzeug.test import Client

from core.models import CalculationRun
from core.roles import Role
from core.services import api_key_create
from riskapp.models import Limit, Scenario
from tests import factories as f

# transaction=True: requests go through the real WSGI handler, which manages connections like
# production (and would poison a test-wide transaction on the first database error);
# serialized_rollback restores the rows migrations seed (roles) for the tests that follow.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SCALE = int(os.environ.get("VIGIL_FUZZ_SCALE", "1"))
# Cases per operation for the superuser, who reaches every endpoint: valid input, then input that
# breaks the schema (wrong types, out-of-range values, missing fields). Operations with a small
# input space (no parameters) run out of distinct cases early, hence the margin over 1,000.
POSITIVE_EXAMPLES = 8 * SCALE
NEGATIVE_EXAMPLES = 4 * SCALE
# A second, shorter pass as an OMS client: the same checks on the refusals and desk scoping of a
# role that may ingest but not read most products.
OMS_EXAMPLES = 2 * SCALE
MIN_TOTAL_CASES = 1_000
# Runs the fuzzed requests started ran in-process (tests run tasks eagerly). A run may fail for a
# reason the caller can act on (a domain error: no positions that day, too little history), never
# on a programming error: that means the API accepted input the run cannot handle.
PROGRAMMING_ERRORS = {
    name for name, kind in vars(builtins).items() if isinstance(kind, type) and issubclass(kind, Exception)
}


def _settings(max_examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=max_examples,
        deadline=None,  # requests go through the whole stack and the database; timing is not under test
        database=None,  # reproducible from the seed alone, never from examples a previous run saved
        # Generate and report; shrinking would rerun a failing operation dozens of times and the
        # report already carries the exact request.
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        # Generated bulk bodies are large and a few operations reject many draws (enums, formats):
        # properties of the API's input space, not of this test's data.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def _seed_book() -> None:
    """A small book touching every product: one desk, a portfolio with positions and 30 days of
    prices, orders and trades with a TCA result, alerts (one in a case), a limit and a scenario,
    a wealth client with a goal and a recommendation."""
    desk = f.DeskFactory(code="EQ", name="Equities")
    portfolio = f.PortfolioFactory(code="PF-FUZZ", desk=desk)
    instruments = [f.InstrumentFactory(symbol=symbol) for symbol in ("AAA", "BBB", "CCC")]
    for i, instrument in enumerate(instruments):
        f.PositionFactory(portfolio=portfolio, instrument=instrument, as_of=date(2022, 12, 27))
        for day in range(30):
            close = Decimal(100 + i) + Decimal(day % 7) / 10
            f.PriceBarFactory(
                instrument=instrument, date=date(2022, 11, 1) + timedelta(days=day), close=close, adj_close=close
            )
    account = f.AccountFactory(code="ACC-FUZZ", desk=desk, portfolio=portfolio)
    order = f.OrderFactory(account=account, instrument=instruments[0])
    f.TradeFactory(account=account, instrument=instruments[0], order=order)
    f.TcaExecutionResultFactory(
        order_result=f.TcaOrderResultFactory(order=f.OrderFactory(account=account, instrument=instruments[1]))
    )
    f.CostModelFactory()
    alert = f.AlertFactory(account=account, instrument=instruments[0], case=f.CaseFactory(desk=desk))
    f.AlertCommentFactory(alert=alert)
    f.AlertFactory(account=account, instrument=instruments[2])
    f.DetectorConfigFactory(scenario="spoofing")
    client = f.ClientFactory()
    f.GoalFactory(client=client)
    f.RecommendationFactory(client=client)
    Limit.objects.create(portfolio=portfolio, kind=Limit.Kind.VAR, threshold=Decimal("1000000"))
    Scenario.objects.create(name="Equity crash", shocks={"sector:Information Technology": -30})


def _real_path_values(
    operation: schemathesis.APIOperation, browser: Client, auth: dict[str, str]
) -> list[dict[str, Any]]:
    """Path parameters of objects that exist, read from the matching list endpoint, so that detail
    and action operations are exercised on real rows and not only answered with 404."""
    names = [p.name for p in operation.path_parameters]
    if len(names) != 1:
        return []
    (name,) = names
    list_path = operation.path.split("{", 1)[0]
    response = browser.get(list_path, headers=auth)
    if response.status_code != 200:
        return []
    payload = response.get_json()
    rows = payload.get("results", []) if isinstance(payload, dict) else payload
    field = name if rows and name in rows[0] else "id"
    return [{name: row[field]} for row in rows[:3] if field in row]


def _strategy(operation: schemathesis.APIOperation, mode: GenerationMode, real: list[dict[str, Any]]) -> Any:
    generated = operation.as_strategy(generation_mode=mode)
    if not real:
        return generated
    return st.one_of(generated, *(operation.as_strategy(generation_mode=mode, path_parameters=p) for p in real))


class _Run:
    """Cases sent and failures found, per operation label; each kind of failure kept once."""

    def __init__(self, application: Any, auth: dict[str, str]) -> None:
        self.application = application
        self.auth = auth
        self.cases: Counter[str] = Counter()
        self.failures: dict[str, dict[str, str]] = {}

    def operation(self, operation: Any, mode: GenerationMode, examples: int, real: list[dict[str, Any]]) -> None:
        label = operation.label

        @hypothesis.seed(zlib.crc32(f"{label} {mode.value}".encode()))
        @_settings(examples)
        @given(case=_strategy(operation, mode, real))
        def send(case: schemathesis.Case) -> None:
            self.cases[label] += 1
            response = case.call(app=self.application, headers=self.auth)
            try:
                case.validate_response(response, checks=CHECKS, headers=self.auth)
            except (Failure, FailureGroup) as exc:
                found = self.failures.setdefault(label, {})
                for failure in exc.exceptions if isinstance(exc, FailureGroup) else [exc]:
                    key = f"{failure.code} {failure.title}"
                    body = response.content[:300].decode(errors="replace")
                    found.setdefault(
                        key,
                        f"{key}: {failure.message[:600]}\n  -> {response.status_code} {body}\n"
                        f"  {case.as_curl_command(headers=self.auth)}",
                    )

        # Negative mode has nothing to break on an operation that takes no input.
        with contextlib.suppress(hypothesis.errors.Unsatisfiable):
            send()

    def report(self) -> str:
        return "\n\n".join(
            f"== {label}\n" + "\n".join(found.values()) for label, found in sorted(self.failures.items())
        )


def _fuzz(schema: Any, application: Any, auth: dict[str, str], passes: list[tuple[GenerationMode, int]]) -> _Run:
    run = _Run(application, auth)
    browser = Client(application)
    for result in schema.get_all_operations():
        operation = result.ok()
        real = _real_path_values(operation, browser, auth)
        for mode, examples in passes:
            run.operation(operation, mode, examples, real)
    return run


def test_every_operation_answers_generated_requests_as_its_schema_says(django_user_model, make_user):
    from config.wsgi import application

    _seed_book()
    superuser = django_user_model.objects.create_superuser("fuzz-admin", "fuzz-admin@example.com", "unused-Pass-1")
    admin_auth = {"Authorization": f"Api-Key {api_key_create(user=superuser, name='fuzz')[1]}"}
    oms_auth = {"Authorization": f"Api-Key {api_key_create(user=make_user(Role.OMS_CLIENT), name='fuzz')[1]}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, headers=admin_auth)

    admin = _fuzz(schema, application, admin_auth, [(POSITIVE, POSITIVE_EXAMPLES), (NEGATIVE, NEGATIVE_EXAMPLES)])
    oms = _fuzz(schema, application, oms_auth, [(POSITIVE, OMS_EXAMPLES)])

    total = admin.cases.total() + oms.cases.total()
    print(
        f"\n{len(admin.cases)} operations; {admin.cases.total()} cases as superuser "
        f"({min(admin.cases.values())} to {max(admin.cases.values())} per operation), "
        f"{oms.cases.total()} as OMS client; {total} in all"
    )
    assert not admin.failures, f"{len(admin.failures)} operations failed as superuser:\n\n{admin.report()}"
    assert not oms.failures, f"{len(oms.failures)} operations failed as OMS client:\n\n{oms.report()}"
    crashed = [
        f"{run.kind} #{run.pk} {run.parameters}: {run.error[:300]}"
        for run in CalculationRun.objects.filter(status=CalculationRun.Status.FAILED)
        if run.error.split(":", 1)[0] in PROGRAMMING_ERRORS
    ]
    assert crashed == [], "runs accepted by the API failed on a programming error:\n" + "\n".join(crashed)
    assert len(admin.cases) >= 100, "operations are missing: does the schema endpoint serve all of them?"
    assert total >= MIN_TOTAL_CASES
