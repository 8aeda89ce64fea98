"""JSON log lines: one access line per request carrying its request id; task context in task logs."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest
from django.conf import settings
from django.test import Client

from config.celery import app as celery_app
from core import context
from core import logging as vigil_logging
from core.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines():
    """Records of every logger, formatted by the settings' ``json`` formatter and request-id filter."""
    configurator = logging.config.DictConfigurator(settings.LOGGING)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(configurator.configure_formatter(dict(settings.LOGGING["formatters"]["json"])))
    handler.addFilter(configurator.configure_filter(dict(settings.LOGGING["filters"]["request_id"])))
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(saved_level)


def test_given_a_request_then_one_json_access_line_with_the_response_request_id(json_lines, make_user):
    user = make_user(Role.RISK_OFFICER)
    client = Client(REMOTE_ADDR="192.0.2.7")
    client.force_login(user)

    response = client.get("/portfolios/")

    access = [line for line in json_lines() if line["logger"] == "vigil.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == response["X-Request-ID"]
    assert line["method"] == "GET"
    assert line["route"] == "portfolios:portfolio_list"
    assert line["status"] == 200
    assert line["user_id"] == user.pk
    assert line["client_ip"] == "192.0.2.7"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["ts"]


def test_given_an_upstream_request_id_then_the_log_line_carries_it(json_lines):
    response = Client().get("/accounts/login/", HTTP_X_REQUEST_ID="lb-abc.123")

    assert response["X-Request-ID"] == "lb-abc.123"
    access = [line for line in json_lines() if line["logger"] == "vigil.access"]
    assert [line["request_id"] for line in access] == ["lb-abc.123"]
    assert access[0]["user_id"] is None


def test_given_health_polls_then_no_access_line_unless_they_fail(json_lines):
    assert Client().get("/health/").status_code == 200
    assert not [line for line in json_lines() if line["logger"] == "vigil.access"]


@celery_app.task(bind=True, name="tests.core.log_probe")
def log_probe(self, run_id: int, note: str = "") -> None:  # type: ignore[no-untyped-def]
    logging.getLogger("tests.log_probe").info("inside the task %s", note)


def test_given_a_task_then_its_log_lines_carry_task_id_name_and_run_id(json_lines):
    result = log_probe.apply(args=[42], kwargs={"note": "x"})

    lines = [line for line in json_lines() if line["logger"] == "tests.log_probe"]
    assert len(lines) == 1
    assert lines[0]["task_id"] == result.id
    assert lines[0]["task_name"] == "tests.core.log_probe"
    assert lines[0]["run_id"] == 42
    assert lines[0]["request_id"] == "-"
    # And after the task, its context is gone
    assert vigil_logging.current_task() is None


def test_given_a_task_run_inside_a_request_then_it_logs_the_request_id(json_lines):
    token = context.set_current(context.RequestContext(request_id="req-1"))
    try:
        log_probe.apply(kwargs={"run_id": 7})
    finally:
        context.reset(token)

    (line,) = [line for line in json_lines() if line["logger"] == "tests.log_probe"]
    assert (line["request_id"], line["run_id"]) == ("req-1", 7)


def test_given_a_request_queues_a_task_then_the_message_carries_the_request_id():
    headers: dict[str, str] = {}
    token = context.set_current(context.RequestContext(request_id="req-2"))
    try:
        vigil_logging._task_publishing(headers=headers)
    finally:
        context.reset(token)
    assert headers == {vigil_logging.REQUEST_ID_HEADER: "req-2"}
