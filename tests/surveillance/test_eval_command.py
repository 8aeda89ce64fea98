"""``manage.py surveillance_eval``: the table per severity, the documented section it writes, and
a clear refusal of bad options. Small markets; no database."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from surveillance.engine.scenarios import SCENARIOS
from surveillance.management.commands.surveillance_eval import END, START, doc_update

SMALL = {"days": 2, "instruments": 2, "episodes": 1, "seed": 3}


def _run(**options) -> str:
    out = StringIO()
    call_command("surveillance_eval", stdout=out, **options)
    return out.getvalue()


def test_given_one_severity_when_run_then_it_prints_one_table_with_every_scenario():
    text = _run(severity="high", **SMALL)
    assert "severity high: seed 3, 2 sessions x 2 instruments (activity 0.35)" in text
    assert "severity low" not in text
    header = next(line for line in text.splitlines() if line.startswith("scenario"))
    for column in ("episodes", "alerts", "TP", "FP", "FN", "precision", "recall", "F1", "alerts/10k orders"):
        assert column in header
    for scenario in SCENARIOS:
        row = next(line for line in text.splitlines() if line.startswith(scenario))
        assert row.split()[1 if "(no detector)" not in row else 3] == "1"  # one episode each
    assert "per 10,000 orders" in text


def test_given_all_severities_when_run_then_three_tables_are_printed():
    text = _run(severity="all", **SMALL)
    assert [s for s in ("low", "default", "high") if f"severity {s}:" in text] == ["low", "default", "high"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"severity": "extreme"}, "extreme"),
        ({"days": 0}, "--days"),
        ({"instruments": -2}, "--instruments"),
        ({"episodes": -1}, "--episodes"),
        ({"days": 100_000}, "days must be between"),
    ],
)
def test_given_a_bad_option_when_run_then_it_fails_with_a_clear_message(options, message):
    with pytest.raises(CommandError, match=message):
        _run(**{**SMALL, **options})


def test_given_write_doc_then_the_tables_go_between_the_markers_and_a_rerun_replaces_them(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    (tmp_path / "docs").mkdir()
    _run(severity="low", write_doc=True, **SMALL)
    doc = (tmp_path / "docs" / "surveillance-methodology.md").read_text()
    assert doc.startswith("# Surveillance methodology")
    assert doc.count(START) == doc.count(END) == 1
    section = doc.split(START)[1].split(END)[0]
    assert "**Severity low**" in section and "| spoofing |" in section and "`spoof_size_x`" in section
    assert "## The scenario generator" in doc
    _run(severity="high", write_doc=True, **SMALL)
    doc = (tmp_path / "docs" / "surveillance-methodology.md").read_text()
    section = doc.split(START)[1].split(END)[0]
    assert "**Severity high**" in section and "**Severity low**" not in section
    assert doc.count(START) == 1


def test_given_a_doc_without_markers_then_the_section_is_appended_and_other_text_kept():
    text = doc_update("# Title\n\nKept.\n", "TABLE")
    assert text.startswith("# Title\n\nKept.") and text.rstrip().endswith(f"{START}\nTABLE\n{END}")
    again = doc_update(text, "NEW")
    assert "TABLE" not in again and "NEW" in again and "Kept." in again
