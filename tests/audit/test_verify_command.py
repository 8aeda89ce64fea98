"""``manage.py audit_verify``: exit 0 on an intact (or empty) chain, fail naming the broken row."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from audit.services import _row_fields, audit_record, event_hash
from tests.audit.conftest import tamper

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def chain():
    return [audit_record(action="test.step", parameters={"n": n}) for n in range(5)]


def test_given_an_intact_chain_then_it_prints_rows_checked_and_the_head(chain):
    output = _run()

    assert "intact: 5 rows checked" in output
    assert f"{chain[-1].pk}:{chain[-1].hash}" in output


def test_given_an_empty_trail_then_it_passes_and_says_so():
    assert "empty: 0 rows checked" in _run()


@pytest.mark.audit_tamper
def test_given_an_altered_row_then_it_fails_naming_that_row(chain):
    victim = chain[2]
    tamper(
        "UPDATE audit_auditevent SET parameters = '{\"n\": 99}'::jsonb WHERE id = %s",
        [victim.pk],
    )

    with pytest.raises(CommandError) as failure:
        _run()

    assert f"#{victim.pk}:" in str(failure.value)
    assert "altered" in str(failure.value)
    assert "2 row(s) before it verified" in str(failure.value)


@pytest.mark.audit_tamper
def test_given_an_altered_row_with_a_recomputed_hash_then_the_next_row_breaks(chain):
    """A forger who rewrites a row and its own hash still breaks the link to the next row."""
    victim = chain[1]
    victim.action = "test.forged"
    forged = event_hash(prev_hash=victim.prev_hash, fields=_row_fields(victim))
    tamper("UPDATE audit_auditevent SET action = %s, hash = %s WHERE id = %s", ["test.forged", forged, victim.pk])

    with pytest.raises(CommandError) as failure:
        _run()

    assert f"#{chain[2].pk}:" in str(failure.value)
    assert "removed, or rows were reordered" in str(failure.value)


@pytest.mark.audit_tamper
def test_given_a_deleted_middle_row_then_it_fails_naming_the_row_after_the_gap(chain):
    removed = chain[2]
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [removed.pk])

    with pytest.raises(CommandError) as failure:
        _run()

    message = str(failure.value)
    assert f"BROKEN at event #{chain[3].pk}:" in message
    assert f"between #{chain[1].pk} and #{chain[3].pk} was removed" in message


@pytest.mark.audit_tamper
def test_given_the_first_row_deleted_then_it_fails_at_the_new_first_row(chain):
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [chain[0].pk])

    with pytest.raises(CommandError, match=rf"#{chain[1].pk}: .*earlier rows removed"):
        _run()


@pytest.mark.audit_tamper
def test_given_a_recorded_head_when_newest_rows_are_removed_then_expect_head_fails(chain):
    head = re.search(r"Head: (\d+:[0-9a-f]{64})", _run()).group(1)
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [chain[-1].pk])

    assert "intact: 4 rows checked" in _run()  # the shorter chain alone looks fine
    with pytest.raises(CommandError, match="is missing"):
        _run("--expect-head", head)


def test_given_a_recorded_head_when_still_present_then_expect_head_passes(chain):
    head = f"{chain[-1].pk}:{chain[-1].hash}"
    audit_record(action="test.later")

    assert "intact: 6 rows checked" in _run("--expect-head", head)


def test_malformed_expect_head_is_refused():
    with pytest.raises(CommandError, match="ID:HASH"):
        _run("--expect-head", "12:abc")


@pytest.mark.audit_tamper
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_real_command_exits_0_when_intact_and_1_on_a_break():
    """What cron or a probe sees: the exit status of ``manage.py audit_verify`` in its own process."""
    chain = [audit_record(action="test.step", parameters={"n": n}) for n in range(3)]
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "audit_verify"]

    intact = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [chain[1].pk])
    broken = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)

    assert intact.returncode == 0, intact.stderr
    assert "intact: 3 rows checked" in intact.stdout
    assert broken.returncode == 1
    assert f"#{chain[2].pk}" in broken.stderr
