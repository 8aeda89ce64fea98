"""Ingestion benchmark: trades per second through ``POST /api/v1/trades`` against raw COPY.

    python -m bench.ingest [--batches N] [--rows 10000] [--workers K] [--profile]

1. Recreate the ``vigil_bench`` database, migrate it, and create the reference data directly
   (a desk, owners, accounts, instruments, an ``oms_client`` user and its API key).
2. Generate N batches of realistic trades (unique trade ids, µs UTC timestamps, prices,
   quantities, accounts, instruments, some internal crosses) and serialise them to JSON
   before any clock starts.
3. API: a real gunicorn server on loopback (K workers) receives the batches from K
   keep-alive connections; every answer must be 201 with every row created.
4. Raw: the same rows (as typed Python values, ids already resolved) go through psycopg
   ``COPY`` into a bare table with the same column types and no index or constraint, one
   transaction per batch, from K connections too: the baseline of the target (API ≥ 0.5 ×).
   Then once more into the trade table itself: the floor its indexes and constraints set.
5. Rates, the API/raw ratio, batch latencies and CPU per batch (application and PostgreSQL,
   from /proc) are printed and written to the "ingest" section of ``docs/benchmarks.md``.

``--profile`` instead runs the server-side path of one batch in-process under cProfile.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import psycopg
import requests

from bench import common

SECTION = "ingest"
RAW_TABLE = "bench_raw_trade"
ENDPOINT = "/api/v1/trades"
VENUES = ("XNYS", "XNAS", "ARCX", "BATS", "IEXG", "XLON", "XETR")
BROKERS = ("GSCO", "MSCO", "JPMS", "CITI", "UBSS", "")
# Columns of the trade table in the order the pipeline COPYs them (portfolios.ingest.TRADES).
RAW_COLUMNS = (
    "trade_id",
    "side",
    "price",
    "quantity",
    "venue",
    "broker",
    "commission",
    "ts",
    "account_id",
    "instrument_id",
    "order_id",
    "counterparty_account_id",
)


@dataclass(frozen=True)
class Universe:
    """Reference data the trades point at: code -> database id."""

    accounts: dict[str, int]
    instruments: dict[str, int]
    api_key: str


# (application CPU seconds, PostgreSQL CPU seconds) so far; None where it cannot be read.
CpuReading = tuple[float | None, float | None]
CpuReader = Callable[[], CpuReading]


@dataclass(frozen=True)
class Measurement:
    """One timed run. CPU is what the run cost the application side (the gunicorn workers for
    the API, this process for raw COPY) and the PostgreSQL sessions it used."""

    rows: int
    batches: int
    seconds: float
    latencies_s: list[float]
    app_cpu_s: float | None = None
    pg_cpu_s: float | None = None

    @property
    def rows_per_s(self) -> float:
        return common.rate(self.rows, self.seconds)

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_s) * 1000

    @property
    def max_ms(self) -> float:
        return max(self.latencies_s) * 1000

    def cpu_ms_per_batch(self) -> CpuReading:
        def per_batch(seconds: float | None) -> float | None:
            return None if seconds is None else seconds * 1000 / self.batches

        return per_batch(self.app_cpu_s), per_batch(self.pg_cpu_s)

    def cpu_ms_total(self) -> float | None:
        app, pg = self.cpu_ms_per_batch()
        return None if app is None or pg is None else app + pg


# ---------------------------------------------------------------------------- set-up


def django_setup(url: str) -> None:
    """Point this process's Django at the benchmark database (before anything imports models)."""
    os.environ.update(common.django_env(url))
    import django

    django.setup()


def universe_create(*, accounts: int = 100, instruments: int = 500) -> Universe:
    """The desk, owners, accounts and instruments the trades use, and an OMS client's API key."""
    from django.contrib.auth.models import Group, User

    from core.roles import Role
    from core.services import api_key_create
    from portfolios.models import Account, BeneficialOwner, Desk, Instrument

    desk = Desk.objects.create(code="BENCH", name="Benchmark desk")
    user = User.objects.create_user(username="bench_oms", password=None)
    user.groups.add(Group.objects.get_or_create(name=Role.OMS_CLIENT.value)[0])
    desk.members.add(user)
    owners = BeneficialOwner.objects.bulk_create(
        [BeneficialOwner(code=f"BO{i:04d}", name=f"Owner {i}") for i in range(max(1, accounts // 2))]
    )
    account_objs = Account.objects.bulk_create(
        [
            Account(code=f"ACC{i:04d}", name=f"Account {i}", kind="client", owner=owners[i % len(owners)], desk=desk)
            for i in range(accounts)
        ]
    )
    instrument_objs = Instrument.objects.bulk_create(
        [Instrument(symbol=f"SYM{i:04d}", name=f"Company {i}", kind="equity", country="US") for i in range(instruments)]
    )
    _, raw_key = api_key_create(user=user, name="benchmark", expires_in_days=1)
    return Universe(
        accounts={a.code: a.pk for a in account_objs},
        instruments={i.symbol: i.pk for i in instrument_objs},
        api_key=raw_key,
    )


# ---------------------------------------------------------------------------- data


def trades_generate(
    *, batches: int, rows: int, universe: Universe, seed: int = 20240304, prefix: str = "BT"
) -> list[list[dict[str, Any]]]:
    """``batches`` lists of ``rows`` trade rows as an OMS would send them (JSON-ready values).

    Prices have 2–4 decimals, quantities are whole or fractional shares, timestamps advance by
    a random number of microseconds, and about 5% of trades are internal crosses with a
    counterparty account.
    """
    rng = random.Random(seed)
    accounts = sorted(universe.accounts)
    symbols = sorted(universe.instruments)
    ts = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
    out: list[list[dict[str, Any]]] = []
    for b in range(batches):
        batch: list[dict[str, Any]] = []
        for i in range(rows):
            ts += timedelta(microseconds=rng.randint(1, 20_000))
            quantity: int | float = rng.randint(1, 5000) if rng.random() < 0.9 else round(rng.uniform(0.1, 50), 3)
            account = rng.choice(accounts)
            row: dict[str, Any] = {
                "trade_id": f"{prefix}{b:05d}-{i:06d}",
                "account": account,
                "instrument": rng.choice(symbols),
                "side": rng.choice(("buy", "sell")),
                "price": round(rng.uniform(5, 500), rng.choice((2, 2, 2, 4))),
                "quantity": quantity,
                "venue": rng.choice(VENUES),
                "broker": rng.choice(BROKERS),
                "commission": round(float(quantity) * 0.0035, 4),
                "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            if rng.random() < 0.05:
                row["counterparty_account"] = rng.choice([a for a in accounts[:10] if a != account])
            batch.append(row)
        out.append(batch)
    return out


def bodies_serialise(batches: list[list[dict[str, Any]]]) -> list[bytes]:
    return [orjson.dumps({"rows": batch}) for batch in batches]


def _decimal(value: float | int) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def raw_tuples(batches: list[list[dict[str, Any]]], universe: Universe) -> list[list[tuple[Any, ...]]]:
    """The same rows as typed Python values in :data:`RAW_COLUMNS` order, ids resolved."""
    acc, ins = universe.accounts, universe.instruments
    return [
        [
            (
                r["trade_id"],
                r["side"],
                _decimal(r["price"]),
                _decimal(r["quantity"]),
                r["venue"],
                r["broker"],
                _decimal(r["commission"]),
                datetime.fromisoformat(r["ts"]),
                acc[r["account"]],
                ins[r["instrument"]],
                None,
                acc[r["counterparty_account"]] if "counterparty_account" in r else None,
            )
            for r in batch
        ]
        for batch in batches
    ]


# ---------------------------------------------------------------------------- measuring


def _cpu_delta(before: CpuReading, after: CpuReading) -> list[float | None]:
    return [None if b is None or a is None else a - b for b, a in zip(before, after, strict=True)]


def _run_concurrently(
    items: int, concurrency: int, make_worker: Callable[[], Callable[[int], None]], cpu: CpuReader
) -> tuple[float, list[float | None]]:
    """Process item indexes 0..items-1 with ``concurrency`` threads.

    Each thread gets its own worker (its own connection), built before the clock starts.
    Returns the wall time (s) and the CPU seconds ``cpu`` saw used meanwhile.
    """
    next_item = iter(range(items))
    lock = threading.Lock()
    errors: list[Exception] = []
    workers = [make_worker() for _ in range(concurrency)]
    start = threading.Barrier(concurrency + 1)

    def loop(work: Callable[[int], None]) -> None:
        start.wait()
        while not errors:
            with lock:
                index = next(next_item, None)
            if index is None:
                return
            try:
                work(index)
            except Exception as exc:  # noqa: BLE001 - re-raised by the main thread below
                errors.append(exc)

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    cpu_before = cpu()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    cpu_used = _cpu_delta(cpu_before, cpu())
    if errors:
        raise errors[0]
    return elapsed, cpu_used


def api_measure(
    *, base_url: str, api_key: str, bodies: list[bytes], rows: int, concurrency: int, cpu: CpuReader
) -> Measurement:
    """POST every body over keep-alive connections; every answer must be 201 with all rows created."""
    url = base_url + ENDPOINT
    headers = {"Authorization": f"Api-Key {api_key}", "Content-Type": "application/json"}
    latencies: list[float] = []

    def make_worker() -> Callable[[int], None]:
        session = requests.Session()

        def work(index: int) -> None:
            began = time.perf_counter()
            response = session.post(url, data=bodies[index], headers=headers, timeout=300)
            latencies.append(time.perf_counter() - began)
            if response.status_code != 201:
                raise RuntimeError(f"batch {index}: HTTP {response.status_code}: {response.text[:2000]}")
            created = response.json()["created"]
            if created != rows:
                raise RuntimeError(f"batch {index}: {created} of {rows} rows created")

        return work

    seconds, (app_cpu, pg_cpu) = _run_concurrently(len(bodies), concurrency, make_worker, cpu)
    return Measurement(
        rows=rows * len(bodies),
        batches=len(bodies),
        seconds=seconds,
        latencies_s=latencies,
        app_cpu_s=app_cpu,
        pg_cpu_s=pg_cpu,
    )


def raw_table_create(url: str) -> None:
    """A bare copy of the trade table's columns: same types, no index, no constraint."""
    cols = ", ".join(RAW_COLUMNS)
    with psycopg.connect(url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        conn.execute(f"CREATE TABLE {RAW_TABLE} AS SELECT {cols} FROM portfolios_trade WITH NO DATA")


def copy_measure(*, url: str, table: str, batches: list[list[tuple[Any, ...]]], concurrency: int) -> Measurement:
    """COPY each batch into ``table`` in its own transaction, from ``concurrency`` connections."""
    statement = f"COPY {table} ({', '.join(RAW_COLUMNS)}) FROM STDIN"
    latencies: list[float] = []
    connections: list[psycopg.Connection[Any]] = []

    def make_worker() -> Callable[[int], None]:
        conn = psycopg.connect(url)
        connections.append(conn)

        def work(index: int) -> None:
            began = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
                for row in batches[index]:
                    copy.write_row(row)
            latencies.append(time.perf_counter() - began)

        return work

    def cpu() -> CpuReading:
        return time.process_time(), common.cpu_seconds([c.info.backend_pid for c in connections])

    try:
        seconds, (app_cpu, pg_cpu) = _run_concurrently(len(batches), concurrency, make_worker, cpu)
    finally:
        for conn in connections:
            conn.close()
    return Measurement(
        rows=sum(len(b) for b in batches),
        batches=len(batches),
        seconds=seconds,
        latencies_s=latencies,
        app_cpu_s=app_cpu,
        pg_cpu_s=pg_cpu,
    )


def renamed(batches: list[list[tuple[Any, ...]]], prefix: str) -> list[list[tuple[Any, ...]]]:
    """The same rows under other trade ids (the trade table refuses a trade id twice)."""
    return [[(prefix + row[0], *row[1:]) for row in batch] for batch in batches]


def count_rows(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


# ---------------------------------------------------------------------------- profiling


def profile_one_batch(body: bytes, *, top: int = 30) -> None:
    """Run the server-side path of one batch in-process under cProfile and print the hot spots.

    The body goes through the same entry point as the view (``ingest_request``), so JSON
    parsing, validation, reference resolution, COPY, INSERT and audit are all included.
    """
    import cProfile
    import pstats

    from django.contrib.auth.models import User

    from core.ingest.pipeline import ingest_request
    from portfolios.ingest import TRADES

    user = User.objects.get(username="bench_oms")
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    status, _, _ = ingest_request(spec=TRADES, user=user, body=body, endpoint=ENDPOINT, idempotency_key=None)
    profiler.disable()
    print(f"in-process: HTTP {status}, {time.perf_counter() - began:.3f} s under the profiler")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


# ---------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Results:
    api: Measurement
    raw: Measurement  # COPY into the bare table: the baseline of the target
    table: Measurement  # COPY into the trade table itself: what its indexes and constraints cost
    batches: int
    rows: int
    workers: int
    load_average: float  # 1-minute load average when the run started: other work on the machine

    @property
    def ratio(self) -> float:
        return self.api.rows_per_s / self.raw.rows_per_s

    def summary(self) -> str:
        lines = []
        for label, m in (("API", self.api), ("COPY, bare table", self.raw), ("COPY, trade table", self.table)):
            app, pg = m.cpu_ms_per_batch()
            lines.append(
                f"{label:18s} {m.rows_per_s:>9,.0f} rows/s   batch p50 {m.p50_ms:5.0f} ms, max {m.max_ms:5.0f} ms   "
                f"CPU per batch: Python {_ms(app)}, PostgreSQL {_ms(pg)}"
            )
        verdict = "met" if self.ratio >= 0.5 else "NOT met"
        lines.append(f"API / raw COPY = {self.ratio:.2f} (target ≥ 0.50: {verdict})")
        return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f} ms"


def _line(label: str, m: Measurement) -> str:
    app, pg = m.cpu_ms_per_batch()
    return (
        f"| {label} | {m.rows:,} | {m.seconds:.2f} | **{m.rows_per_s:,.0f}** | {m.p50_ms:.0f} ms | {m.max_ms:.0f} ms "
        f"| {_ms(app)} | {_ms(pg)} |"
    )


def report_markdown(r: Results, machine: common.Machine) -> str:
    verdict = "met" if r.ratio >= 0.5 else "**not met**"
    return f"""## Ingestion

Measured {common.now_utc()} by `python -m bench.ingest --batches {r.batches} --rows {r.rows} --workers {r.workers}`.
Machine: {machine.as_markdown()}

| path | rows | seconds | rows/s | batch p50 | batch max | CPU/batch: Python | CPU/batch: PostgreSQL |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{_line(f"API: `POST {ENDPOINT}` over HTTP", r.api)}
{_line("raw psycopg `COPY` into a bare table", r.raw)}
{_line("raw psycopg `COPY` into the trade table itself", r.table)}

**API / raw COPY = {r.ratio:.2f}** (target ≥ 0.50: {verdict}). The 1-minute load average was
{r.load_average:.1f} when the run started; other work on the machine lowers the rates, not the
CPU cost per batch.

{cpu_analysis(r)}

How it is measured:

- {r.batches} batches of {r.rows:,} realistic trades (unique trade ids, µs UTC timestamps, prices
  with 2–4 decimals, whole and fractional quantities, {UNIVERSE_TEXT}, ~5% internal crosses),
  serialised to JSON before the clock starts. One small warm-up batch per connection first.
- API: gunicorn (`config.wsgi`, base settings, `DEBUG=false`) on 127.0.0.1 with {r.workers}
  `gthread` worker(s) of one thread; {r.workers} keep-alive client connection(s) post the
  batches. Every answer must be 201 with every row created, and the table count is checked
  afterwards. The API path includes JSON parsing, validation of every field, reference
  resolution with desk scoping, COPY into the trade table (falling back to a staging table and
  `INSERT … ON CONFLICT DO NOTHING` when a row already exists), the audit event and the commit.
- Raw: the same rows as typed Python values (ids already resolved) through psycopg 3
  `COPY … FROM STDIN` (`write_row`), one transaction per batch, from {r.workers} connection(s):
  into a table with the same column types and no index or constraint, then into the trade table.
- Workers: the machine has {machine.cores} cores, shared by gunicorn, PostgreSQL and the client,
  and the work is CPU-bound. With as many workers as cores one batch is validated in Python
  while another is written by PostgreSQL; more workers than cores only add contention.
- CPU per batch is read from /proc: the gunicorn workers (API) or this process (COPY), and the
  PostgreSQL sessions used. Unlike rows/s it hardly moves when other work shares the machine.
"""


UNIVERSE_TEXT = "100 accounts, 500 instruments"


def cpu_analysis(r: Results) -> str:
    """Where the CPU goes, and the best ratio the trade table's own write cost allows."""
    api, raw, table = r.api.cpu_ms_total(), r.raw.cpu_ms_total(), r.table.cpu_ms_per_batch()[1]
    if api is None or raw is None or table is None:
        return "(CPU time could not be read on this machine, so there is no breakdown.)"
    if not (api and raw and table):  # /proc counts in 10 ms ticks: a tiny run may read 0
        return "(The run was too short to break its CPU time down.)"
    api_app, api_pg = r.api.cpu_ms_per_batch()
    return textwrap.fill(
        f"Where the time goes, in CPU per batch: the API costs {api:.0f} ms ({_ms(api_app)} in Python: "
        f"HTTP, JSON, validation, COPY formatting; {_ms(api_pg)} in PostgreSQL), the bare-table COPY "
        f"{raw:.0f} ms. Writing the rows into the trade table itself (third line: its seven indexes, "
        f"check constraints and deferred foreign-key checks, no validation at all) costs PostgreSQL "
        f"{table:.0f} ms per batch alone, so on this schema even an API with no Python cost would stay "
        f"near {raw / table:.2f} of the bare-table rate; the API reaches "
        f"{r.api.rows_per_s / r.table.rows_per_s:.2f} of the trade-table COPY rate.",
        width=96,
    )


# ---------------------------------------------------------------------------- main


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--batches", type=int, default=20, help="batches to send (default 20)")
    parser.add_argument("--rows", type=int, default=10_000, help="rows per batch (default 10,000)")
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn workers = client connections = COPY connections (default 2)"
    )
    parser.add_argument("--database", default="vigil_bench", help="benchmark database, recreated (default vigil_bench)")
    parser.add_argument("--docs", type=Path, default=common.DOCS_PATH, help="file whose 'ingest' section is written")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--keep-database", action="store_true", help="leave the benchmark database behind")
    parser.add_argument("--profile", action="store_true", help="profile one batch in-process instead of measuring")
    args = parser.parse_args(argv)
    if args.batches < 1 or args.rows < 1 or args.workers < 1:
        parser.error("--batches, --rows and --workers must be positive")
    if args.rows > 10_000:
        parser.error("--rows is at most 10,000 (the API's INGEST_MAX_ROWS)")
    return args


def measure(*, url: str, env: dict[str, str], universe: Universe, args: argparse.Namespace) -> Results:
    """Generate the rows, then measure the API, the bare-table COPY and the trade-table COPY."""
    batches = trades_generate(batches=args.batches, rows=args.rows, universe=universe)
    bodies = bodies_serialise(batches)
    typed = raw_tuples(batches, universe)
    into_table = renamed(typed, "RX")
    warm_rows = trades_generate(batches=args.workers, rows=100, universe=universe, seed=1, prefix="WARM")
    warm_bodies = bodies_serialise(warm_rows)
    warm_typed = raw_tuples(warm_rows, universe)
    k = args.workers
    log_path = common.REPO_ROOT / "var" / "bench-gunicorn.log"
    load_average = os.getloadavg()[0]

    print(f"API: {args.batches} × {args.rows:,} rows, {k} worker(s) ...", flush=True)
    with common.gunicorn_serve(env=env, workers=k, log_path=log_path) as server:
        post = partial(api_measure, base_url=server.base_url, api_key=universe.api_key, concurrency=k)
        post(bodies=warm_bodies, rows=100, cpu=lambda: (None, None))
        workers, postgres = server.worker_pids(), common.PostgresCpu(url)
        api = post(bodies=bodies, rows=args.rows, cpu=lambda: (common.cpu_seconds(workers), postgres()))
    before = 100 * k
    if count_rows(url, "portfolios_trade") != before + api.rows:
        raise RuntimeError(f"the trade table does not hold the {api.rows} rows the API acknowledged")

    print("raw COPY into a bare table ...", flush=True)
    raw_table_create(url)
    copy_measure(url=url, table=RAW_TABLE, batches=warm_typed, concurrency=k)
    raw = copy_measure(url=url, table=RAW_TABLE, batches=typed, concurrency=k)
    if count_rows(url, RAW_TABLE) != 100 * k + raw.rows:
        raise RuntimeError("the bare table does not hold every row")

    print("raw COPY into the trade table ...", flush=True)
    copy_measure(url=url, table="portfolios_trade", batches=renamed(warm_typed, "RX"), concurrency=k)
    table = copy_measure(url=url, table="portfolios_trade", batches=into_table, concurrency=k)
    if count_rows(url, "portfolios_trade") != 2 * (before + api.rows):
        raise RuntimeError("the trade table does not hold every copied row")
    return Results(
        api=api, raw=raw, table=table, batches=args.batches, rows=args.rows, workers=k, load_average=load_average
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    url = common.database_url(args.database)
    print(f"setting up {args.database} ...", flush=True)
    common.database_recreate(url)
    try:
        env = common.django_env(url)
        common.manage("migrate", "--noinput", env=env)
        django_setup(url)
        universe = universe_create()
        if args.profile:
            batch = trades_generate(batches=1, rows=args.rows, universe=universe)
            profile_one_batch(bodies_serialise(batch)[0])
            return 0
        machine = common.machine_info(url)
        results = measure(url=url, env=env, universe=universe, args=args)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep_database:
            common.database_drop(url)

    print(results.summary())
    if not args.no_docs:
        common.section_write(name=SECTION, body=report_markdown(results, machine), path=args.docs)
        print(f"wrote section '{SECTION}' of {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
