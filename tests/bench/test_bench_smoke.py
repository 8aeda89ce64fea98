"""The benchmark code cannot rot: its pieces are checked here, and one tiny end-to-end run
(a real gunicorn, a scratch database, a few hundred rows) must succeed and write its section."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest

from bench import common, ingest

ROOT = Path(__file__).resolve().parents[2]


def _universe() -> ingest.Universe:
    return ingest.Universe(
        accounts={f"ACC{i:04d}": i + 1 for i in range(20)},
        instruments={f"SYM{i:04d}": i + 100 for i in range(30)},
        api_key="unused",
    )


# ---------------------------------------------------------------------------- docs sections


def test_given_no_file_when_a_section_is_written_then_the_file_has_the_header_and_the_section(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.md"

    common.section_write(name="ingest", body="## Ingestion\n\nfast", path=path)

    text = path.read_text()
    assert text.startswith("# Benchmarks")
    assert "<!-- bench:ingest:begin -->\n## Ingestion\n\nfast\n<!-- bench:ingest:end -->" in text


def test_given_other_sections_when_one_is_rewritten_then_others_and_free_text_stay_byte_for_byte(
    tmp_path: Path,
) -> None:
    path = tmp_path / "benchmarks.md"
    common.section_write(name="ingest", body="old ingest", path=path)
    common.section_write(name="risk", body="risk figures", path=path)
    path.write_text(path.read_text() + "\nA note someone wrote by hand.\n")
    before_risk = path.read_text().split("<!-- bench:risk:begin -->")[1]

    common.section_write(name="ingest", body="new ingest", path=path)

    text = path.read_text()
    assert "new ingest" in text and "old ingest" not in text
    assert text.split("<!-- bench:risk:begin -->")[1] == before_risk
    assert text.count("<!-- bench:ingest:begin -->") == 1
    assert text.index("bench:ingest:begin") < text.index("bench:risk:begin")  # order kept


def test_given_a_begin_marker_without_end_then_writing_refuses_instead_of_eating_the_file(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n<!-- bench:ingest:begin -->\nhalf a section\n## Risk\n")

    with pytest.raises(ValueError, match="no end marker"):
        common.section_write(name="ingest", body="x", path=path)
    assert "## Risk" in path.read_text()


def test_only_databases_named_bench_can_be_recreated() -> None:
    with pytest.raises(ValueError, match="bench"):
        common.database_recreate("postgres://postgres@127.0.0.1:5432/vigil")


# ---------------------------------------------------------------------------- data and report


def test_generated_trades_are_unique_valid_json_rows_and_their_typed_twins_match() -> None:
    universe = _universe()

    batches = ingest.trades_generate(batches=3, rows=500, universe=universe)
    typed = ingest.raw_tuples(batches, universe)

    ids = [row["trade_id"] for batch in batches for row in batch]
    assert len(ids) == len(set(ids)) == 1500
    stamps = [datetime.fromisoformat(row["ts"]) for batch in batches for row in batch]
    assert stamps == sorted(stamps) and all(ts.tzinfo is not None for ts in stamps)
    assert any(ts.microsecond % 1000 for ts in stamps)  # real microseconds, not whole milliseconds
    assert any("counterparty_account" in row for row in batches[0])
    body = orjson.loads(ingest.bodies_serialise(batches)[0])
    assert body == {"rows": batches[0]}
    first, twin = batches[0][0], typed[0][0]
    assert twin[: len(ingest.RAW_COLUMNS)] == twin and len(twin) == len(ingest.RAW_COLUMNS)
    assert twin[0] == first["trade_id"]
    assert twin[2] == Decimal(repr(first["price"]))
    assert twin[8] == universe.accounts[first["account"]]
    assert twin[9] == universe.instruments[first["instrument"]]


def test_the_report_shows_both_rates_their_ratio_and_the_verdict() -> None:
    def run(seconds: float, app: float | None, pg: float | None) -> ingest.Measurement:
        return ingest.Measurement(
            rows=20_000, batches=2, seconds=seconds, latencies_s=[seconds / 2] * 2, app_cpu_s=app, pg_cpu_s=pg
        )

    results = ingest.Results(
        api=run(0.4, 0.2, 0.3),
        raw=run(0.1, 0.05, 0.02),
        table=run(0.3, 0.05, 0.5),
        batches=2,
        rows=10_000,
        workers=2,
        load_average=0.5,
    )
    machine = common.Machine(cpu_model="Test CPU", cores=2, ram_gib=24, python="3.11", postgresql="15.0", os="Linux")

    text = ingest.report_markdown(results, machine)

    assert "## Ingestion" in text
    api_line = "| API: `POST /api/v1/trades` over HTTP | 20,000 | 0.40 | **50,000** | 200 ms | 200 ms "
    assert api_line + "| 100 ms | 150 ms |" in text
    assert "**200,000**" in text
    assert "**API / raw COPY = 0.25**" in text and "not met" in text
    assert "Test CPU, 2 cores" in text
    # CPU per batch: API 100 + 150 ms, bare COPY 25 + 10 ms, trade table 250 ms in PostgreSQL.
    assert "the API costs 250 ms" in text and "bare-table COPY 35 ms" in text and "near 0.14" in text
    assert "API / raw COPY = 0.25 (target ≥ 0.50: NOT met)" in results.summary()


# ---------------------------------------------------------------------------- end to end


@pytest.mark.integration
@pytest.mark.slow
def test_given_a_tiny_run_then_it_exits_0_and_writes_its_section(tmp_path: Path) -> None:
    """Given PostgreSQL, when `python -m bench.ingest` runs on 2 × 200 rows, then every batch is
    accepted, the figures are printed and the section lands in the docs file it was given."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        pytest.skip("the benchmark needs PostgreSQL (DATABASE_URL)")
    database = f"{parts.path.lstrip('/') or 'vigil'}_bench_smoke"  # per test database: parallel runs never meet
    docs = tmp_path / "benchmarks.md"
    env = dict(os.environ, BENCH_PG_URL=f"{parts.scheme}://{parts.netloc}")

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.ingest",
            "--batches",
            "2",
            "--rows",
            "200",
            "--workers",
            "1",
            "--database",
            database,
            "--docs",
            str(docs),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "API / raw COPY =" in done.stdout
    text = docs.read_text()
    assert "<!-- bench:ingest:begin -->" in text and "| API: `POST /api/v1/trades` over HTTP | 400 |" in text
