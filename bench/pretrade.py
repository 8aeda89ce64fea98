"""Pre-trade check benchmark: latency of ``POST /api/v1/pretrade/check`` on loopback.

    python -m bench.pretrade [--requests 2000] [--clients 2] [--positions 50] [--profile]

1. Recreate the ``vigil_risk_bench`` database, migrate it, and create a book directly: a desk,
   an ``oms_client`` user and its API key, ``--positions`` priced positions over 11 sectors,
   a few limits (position 2% of NAV, two sector limits, gross and net leverage) and one
   restricted instrument.
2. Generate the orders (instruments held and not, buys and sells, with and without a limit
   price, some of them denied) and serialise them to JSON before any clock starts.
3. A real gunicorn (``config.wsgi``, as ``bench.ingest`` runs it) with Redis as the cache
   (``--cache-url``, flushed before and after), as in production. After a warm-up, one client
   sends N sequential requests over one keep-alive connection; then ``--clients`` clients do
   the same at once. Every answer must be 200 with a decision.
   For reference, the same server also answers ``GET /health/`` (the middleware stack and one
   ``SELECT 1``), and one check is replayed in-process to count its PostgreSQL statements and
   cache operations.
4. p50/p95/p99/max latency (target p99 < 10 ms) and CPU per request (gunicorn workers and
   PostgreSQL, from /proc) are printed and written to the "pretrade" section of
   ``docs/benchmarks.md``.

``--profile`` instead runs the check in-process under cProfile (Django test client).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench import common
from bench.ingest import django_setup

SECTION = "pretrade"
ENDPOINT = "/api/v1/pretrade/check"
HEALTH = "/health/"  # the lightest request the stack answers: middleware and one SELECT 1
TARGET_P99_MS = 10.0
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/13"
PORTFOLIO = "PT-BOOK"
NAV = Decimal("100000000")
AS_OF = date(2022, 12, 28)  # the book's last close; any day works
SECTORS = (
    "Information Technology",
    "Health Care",
    "Financials",
    "Consumer Discretionary",
    "Communication Services",
    "Industrials",
    "Consumer Staples",
    "Energy",
    "Utilities",
    "Real Estate",
    "Materials",
)


@dataclass(frozen=True)
class Book:
    """What the orders point at: the portfolio code, instrument symbols and their last close."""

    portfolio: str
    closes: dict[str, float]
    held: list[str]
    restricted: str
    api_key: str
    limits: list[str]


# ---------------------------------------------------------------------------- set-up


def book_create(*, positions: int, seed: int = 7) -> Book:
    """A priced book of ``positions`` holdings (~1.6% of NAV each), limits and a restricted name."""
    from django.contrib.auth.models import Group, User

    from core.roles import Role
    from core.services import api_key_create
    from portfolios.models import Account, BeneficialOwner, Desk, Instrument, Portfolio, Position, PriceBar
    from riskapp.models import Limit, RestrictedInstrument

    rng = random.Random(seed)
    desk = Desk.objects.create(code="PTB", name="Pre-trade benchmark desk")
    user = User.objects.create_user(username="bench_oms", password=None)
    user.groups.add(Group.objects.get_or_create(name=Role.OMS_CLIENT.value)[0])
    desk.members.add(user)
    portfolio = Portfolio.objects.create(code=PORTFOLIO, name="Pre-trade benchmark book", desk=desk, nav=NAV)
    owner = BeneficialOwner.objects.create(code="PTB-OWNER", name="Benchmark owner")
    Account.objects.create(
        code="PTB-ACC", name="Book account", kind="proprietary", owner=owner, desk=desk, portfolio=portfolio
    )
    n_instruments = positions + max(10, positions // 5)  # some names the book does not hold
    instruments = Instrument.objects.bulk_create(
        [
            Instrument(
                symbol=f"PT{i:04d}", name=f"Company {i}", kind="equity", sector=SECTORS[i % len(SECTORS)], country="US"
            )
            for i in range(n_instruments)
        ]
    )
    closes: dict[str, float] = {}
    bars = []
    for inst in instruments:
        last = round(rng.uniform(10, 500), 2)
        closes[inst.symbol] = last
        for day, close in ((AS_OF - timedelta(days=1), round(last * rng.uniform(0.97, 1.03), 2)), (AS_OF, last)):
            bars.append(PriceBar(instrument=inst, date=day, close=Decimal(str(close)), adj_close=Decimal(str(close))))
    PriceBar.objects.bulk_create(bars)
    held = instruments[:positions]
    target = float(NAV) * 0.016
    Position.objects.bulk_create(
        [
            Position(
                portfolio=portfolio,
                instrument=inst,
                as_of=AS_OF - timedelta(days=1),
                # ~1.6% of NAV per name (under the 2% limit), one in eight short.
                quantity=Decimal(round(target * rng.uniform(0.6, 1.2) / closes[inst.symbol]))
                * (-1 if i % 8 == 7 else 1),
            )
            for i, inst in enumerate(held)
        ]
    )
    limits = [
        ("position_pct_nav", Decimal("0.02"), ""),
        ("sector_exposure", Decimal("0.15"), "Information Technology"),
        ("sector_exposure", Decimal("0.12"), "Energy"),
        ("gross_leverage", Decimal("1.5"), ""),
        ("net_leverage", Decimal("1.0"), ""),
    ]
    Limit.objects.bulk_create([Limit(portfolio=portfolio, kind=k, threshold=t, sector=s) for k, t, s in limits])
    restricted = instruments[-1]
    RestrictedInstrument.objects.create(instrument=restricted, reason="Benchmark: inside information")
    _, raw_key = api_key_create(user=user, name="pre-trade benchmark", expires_in_days=1)
    return Book(
        portfolio=PORTFOLIO,
        closes=closes,
        held=[i.symbol for i in held],
        restricted=restricted.symbol,
        api_key=raw_key,
        limits=[f"{k} {float(t):.0%}" + (f" ({s})" if s else "") for k, t, s in limits],
    )


def orders_generate(book: Book, n: int, *, seed: int = 11) -> list[bytes]:
    """``n`` order bodies as an OMS would send them, serialised: mostly names the book holds,
    some new names and the restricted one, order values from $10k to $3m (large ones break
    the 2% position limit), half with a limit price near the close."""
    rng = random.Random(seed)
    symbols = sorted(book.closes)
    bodies = []
    for _ in range(n):
        u = rng.random()
        symbol = rng.choice(book.held) if u < 0.8 else (book.restricted if u < 0.82 else rng.choice(symbols))
        close = book.closes[symbol]
        notional = 10 ** rng.uniform(4, 6.5)
        order: dict[str, Any] = {
            "portfolio": book.portfolio,
            "instrument": symbol,
            "side": rng.choice(("buy", "sell")),
            "quantity": str(max(1, round(notional / close))),
        }
        if rng.random() < 0.5:
            order["price"] = f"{close * rng.uniform(0.99, 1.01):.2f}"
        bodies.append(orjson.dumps(order))
    return bodies


def cache_flush(url: str) -> None:
    """Empty the benchmark's Redis database (only ``redis://`` URLs; other caches start empty)."""
    if not url.startswith(("redis://", "rediss://")):
        return
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


# ---------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Measurement:
    """Latencies (seconds) of every request of one run, and what the run cost."""

    clients: int
    latencies_s: list[float]
    seconds: float
    decisions: dict[str, int]
    app_cpu_s: float | None
    pg_cpu_s: float | None

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        # Nearest rank: the reported p99 is a latency some request really had.
        rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
        return ordered[rank - 1] * 1000

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_s) * 1000

    @property
    def max_ms(self) -> float:
        return max(self.latencies_s) * 1000

    @property
    def requests_per_s(self) -> float:
        return common.rate(len(self.latencies_s), self.seconds)

    def cpu_ms_per_request(self, seconds: float | None) -> float | None:
        return None if seconds is None else seconds * 1000 / len(self.latencies_s)


class Client:
    """One OMS connection: keep-alive HTTP/1.1 with the lightest client the stdlib has, so the
    latency measured is the server's and the network stack's, not a client library's."""

    def __init__(self, base_url: str, api_key: str) -> None:
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        self.headers = {"Authorization": f"Api-Key {api_key}", "Content-Type": "application/json"}

    def check(self, body: bytes | None) -> tuple[float, str]:
        """Send one order (or, for ``None``, ``GET /health/``); return the latency (s) and the
        decision (the health status). Anything but 200 raises."""
        began = time.perf_counter()
        if body is None:
            self.conn.request("GET", HEALTH, headers=self.headers)
        else:
            self.conn.request("POST", ENDPOINT, body=body, headers=self.headers)
        response = self.conn.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - began
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} for {body!r}: {payload[:2000]!r}")
        answer = orjson.loads(payload)
        return elapsed, str(answer["decision"] if body is not None else answer["status"])

    def close(self) -> None:
        self.conn.close()


CpuReader = Callable[[], tuple[float | None, float | None]]


def measure(
    *, base_url: str, api_key: str, bodies: Sequence[bytes | None], clients: int, cpu: CpuReader
) -> Measurement:
    """Each of ``clients`` connections sends every body in turn, all starting together."""
    connections = [Client(base_url, api_key) for _ in range(clients)]
    for conn in connections:  # connect (and get a worker) before the clock starts
        conn.check(bodies[0])
    latencies: list[list[float]] = [[] for _ in range(clients)]
    decisions: list[Counter[str]] = [Counter() for _ in range(clients)]
    errors: list[Exception] = []
    start = threading.Barrier(clients + 1)

    def loop(index: int) -> None:
        conn, mine, seen = connections[index], latencies[index], decisions[index]
        start.wait()
        try:
            for body in bodies:
                elapsed, decision = conn.check(body)
                mine.append(elapsed)
                seen[decision] += 1
        except Exception as exc:  # noqa: BLE001 - re-raised by the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    app_before, pg_before = cpu()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    app_after, pg_after = cpu()
    for conn in connections:
        conn.close()
    if errors:
        raise errors[0]
    total: Counter[str] = Counter()
    for seen in decisions:
        total.update(seen)
    return Measurement(
        clients=clients,
        latencies_s=[x for mine in latencies for x in mine],
        seconds=seconds,
        decisions=dict(total),
        app_cpu_s=None if app_before is None or app_after is None else app_after - app_before,
        pg_cpu_s=None if pg_before is None or pg_after is None else pg_after - pg_before,
    )


# ---------------------------------------------------------------------------- round trips


@dataclass(frozen=True)
class RoundTrips:
    """What one check asks of PostgreSQL and the cache (counted in-process, cache warm)."""

    statements: list[str]  # first words of each SQL statement, e.g. "SELECT core_apikey"
    cache_ops: dict[str, int]  # cache method -> calls


def round_trips_count(body: bytes, api_key: str) -> RoundTrips:
    """Send one check through the Django test client in this process and record every SQL
    statement (transaction control included) and every call on the default cache."""
    import re

    from django.core.cache import caches
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    client = DjangoClient(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    client.post(ENDPOINT, data=body, content_type="application/json")  # warm: state cached
    cache = caches["default"]
    ops: Counter[str] = Counter()
    names = ("get", "set", "add", "delete", "get_many", "set_many", "incr", "touch", "has_key")
    originals = {name: getattr(cache, name) for name in names}

    def counted(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            ops[name] += 1
            return originals[name](*args, **kwargs)

        return call

    for name in names:
        setattr(cache, name, counted(name))
    try:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(ENDPOINT, data=body, content_type="application/json")
    finally:
        for name in names:
            delattr(cache, name)  # the instance attribute hid the class's method
    if response.status_code != 200:
        raise RuntimeError(f"in-process check: HTTP {response.status_code}: {response.content[:2000]!r}")

    def label(sql: str) -> str:
        verb = sql.split(None, 1)[0].upper()
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql)
        if table and verb in {"SELECT", "INSERT", "UPDATE", "DELETE"}:
            return f"{verb} {table.group(1)}"
        function = re.match(r"SELECT\s+(\w+)\(", sql, re.IGNORECASE)  # e.g. pg_advisory_xact_lock(...)
        return f"{verb} {function.group(1)}()" if function else verb

    return RoundTrips(statements=[label(q["sql"]) for q in queries.captured_queries], cache_ops=dict(ops))


# ---------------------------------------------------------------------------- profiling


def profile_checks(bodies: list[bytes], api_key: str, *, top: int = 30) -> None:
    """Run the checks in-process through the Django test client under cProfile.

    The profiler counts CPU time (``time.process_time``), not wall time, so waiting for
    PostgreSQL or Redis does not show up as Python cost; the totals are inflated by the
    profiler's own overhead, the proportions much less.
    """
    import cProfile
    import pstats

    from django.test import Client as DjangoClient

    client = DjangoClient(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    for body in bodies[:50]:  # warm the cache first, as the server run does
        client.post(ENDPOINT, data=body, content_type="application/json")
    began = time.process_time()
    for body in bodies:
        client.post(ENDPOINT, data=body, content_type="application/json")
    per = (time.process_time() - began) / len(bodies) * 1000
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for body in bodies:
        client.post(ENDPOINT, data=body, content_type="application/json")
    profiler.disable()
    print(f"in-process: {len(bodies)} checks, {per:.2f} ms of CPU each without the profiler")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


# ---------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Results:
    baseline: Measurement  # GET /health/ on the same server, one client
    single: Measurement
    concurrent: Measurement
    trips: RoundTrips
    book: Book
    args: argparse.Namespace
    load_average: tuple[float, float]  # 1-minute load average at the start and at the end

    def summary(self) -> str:
        lines = []
        for label, m in (("health", self.baseline), ("check", self.single), ("check", self.concurrent)):
            lines.append(
                f"{label} {m.clients} client(s): {len(m.latencies_s):,} requests, {m.requests_per_s:,.0f}/s   "
                f"p50 {m.p50_ms:.2f} ms  p95 {m.percentile_ms(95):.2f} ms  p99 {m.percentile_ms(99):.2f} ms  "
                f"max {m.max_ms:.2f} ms   CPU/request: app {_ms(m.cpu_ms_per_request(m.app_cpu_s))}, "
                f"PostgreSQL {_ms(m.cpu_ms_per_request(m.pg_cpu_s))}"
            )
        p99 = self.single.percentile_ms(99)
        lines.append(
            f"p99 {p99:.2f} ms (target < {TARGET_P99_MS:.0f} ms: {'met' if p99 < TARGET_P99_MS else 'NOT met'})"
        )
        return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f} ms"


TABLE_HEADER = (
    "| run | requests | p50 ms | p95 ms | p99 ms | max ms | requests/s | CPU/request: gunicorn "
    "| CPU/request: PostgreSQL | decisions |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
)


def _line(m: Measurement, label: str = "") -> str:
    label = label or ("1 client, sequential" if m.clients == 1 else f"{m.clients} concurrent clients")
    decisions = ", ".join(f"{k} {v:,}" for k, v in sorted(m.decisions.items()))
    return (
        f"| {label} | {len(m.latencies_s):,} | {m.p50_ms:.2f} | {m.percentile_ms(95):.2f} | "
        f"**{m.percentile_ms(99):.2f}** | {m.max_ms:.2f} | {m.requests_per_s:,.0f} | "
        f"{_ms(m.cpu_ms_per_request(m.app_cpu_s))} | {_ms(m.cpu_ms_per_request(m.pg_cpu_s))} | {decisions} |"
    )


def report_markdown(r: Results, machine: common.Machine) -> str:
    a, b = r.args, r.book
    p99 = r.single.percentile_ms(99)
    p99_2 = r.concurrent.percentile_ms(99)
    verdict = "met" if p99 < TARGET_P99_MS else "**not met**"
    verdict_2 = "met" if p99_2 < TARGET_P99_MS else "**not met**"
    command = f"python -m bench.pretrade --requests {a.requests} --clients {a.clients} --positions {a.positions}"
    return f"""## Pre-trade check

Measured {common.now_utc()} by `{command}`.
Machine: {machine.as_markdown()}

{TABLE_HEADER}
{_line(r.single)}
{_line(r.concurrent)}
{_line(r.baseline, f"reference: `GET {HEALTH}`, 1 client")}

**p99 = {p99:.2f} ms** with one client (target < {TARGET_P99_MS:.0f} ms on loopback: {verdict}); {p99_2:.2f} ms with
{r.concurrent.clients} clients at once ({verdict_2}). The 1-minute load average was {r.load_average[0]:.1f} when the run
started and {r.load_average[1]:.1f} at its end; the machine's {machine.cores} cores are shared by the client, gunicorn,
PostgreSQL and Redis; a load above the core count means other work competed with the run.

Where the time goes: the reference line is the same server answering its lightest request (the
middleware stack and one `SELECT 1`), p50 {r.baseline.p50_ms:.2f} ms. On top of that one check makes
{len(r.trips.statements)} PostgreSQL round trips ({_statements(r.trips.statements)}) and
{sum(r.trips.cache_ops.values())} cache round trips to Redis ({_ops(r.trips.cache_ops)}), counted in-process
with the cache warm.

How it is measured:

- Book: `{b.portfolio}` with {a.positions} priced positions over 11 sectors (about 1.6% of NAV each,
  one in eight short), NAV {NAV:,.0f}; limits {", ".join(b.limits)}; one restricted instrument.
- Orders: {a.requests:,} generated orders (80% in names held, 2% in the restricted name, the rest in any
  name; $10k–$3m each; half with a limit price near the close), serialised to JSON before the clock
  starts; each client sends all of them in turn.
- Server: gunicorn (`config.wsgi`, base settings, `DEBUG=false`) on 127.0.0.1 with {max(a.clients, 1)} `gthread`
  worker(s) of one thread, Redis as the Django cache (`{a.cache_url}`, flushed first), PostgreSQL for the
  rest. {a.warmup} warm-up requests per connection fill the cached risk state before measuring.
- Client: one keep-alive `http.client` connection per client (a thread each); the latency is from
  sending the request to reading the whole answer, and every answer must be 200 with a decision.
- Each check authenticates the API key, checks the role, finds the portfolio in the user's desks,
  reads the instrument, the book's risk state and the restricted list from the cache, applies the
  exposure limits to the book after the order, and writes an audit event (hash chain) in PostgreSQL.
  DRF's per-user throttle also reads and writes its request history in the cache on every request.
- CPU per request is read from /proc: the gunicorn workers and the PostgreSQL sessions (kept open for
  the whole run, `CONN_MAX_AGE=3600`, so every session is seen).
"""


def _statements(statements: list[str]) -> str:
    counts = Counter(statements)
    return ", ".join(f"{name} × {n}" if n > 1 else name for name, n in counts.items())


def _ops(ops: dict[str, int]) -> str:
    return ", ".join(f"{name} × {n}" for name, n in sorted(ops.items()))


# ---------------------------------------------------------------------------- main


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pretrade", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per client (default 2,000)")
    parser.add_argument("--clients", type=int, default=2, help="clients of the concurrent run (default 2)")
    parser.add_argument("--positions", type=int, default=50, help="positions in the book (default 50)")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per connection (default 200)")
    parser.add_argument("--cache-url", default=DEFAULT_CACHE_URL, help=f"Django cache (default {DEFAULT_CACHE_URL})")
    parser.add_argument("--database", default="vigil_risk_bench", help="benchmark database, recreated")
    parser.add_argument("--docs", type=Path, default=common.DOCS_PATH, help="file whose 'pretrade' section is written")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--keep-database", action="store_true", help="leave the benchmark database behind")
    parser.add_argument("--profile", action="store_true", help="profile the checks in-process instead of measuring")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.clients < 1 or args.positions < 1 or args.warmup < 0:
        parser.error("--requests, --clients and --positions must be positive, --warmup at least 0")
    return args


def run(*, url: str, env: dict[str, str], book: Book, args: argparse.Namespace) -> Results:
    bodies = orders_generate(book, args.requests)
    warm = orders_generate(book, max(args.warmup, 1), seed=99)
    log_path = common.REPO_ROOT / "var" / "bench-pretrade-gunicorn.log"
    load_average = os.getloadavg()[0]
    workers = max(args.clients, 1)
    cache_flush(args.cache_url)
    with common.gunicorn_serve(env=env, workers=workers, log_path=log_path) as server:
        nothing: CpuReader = lambda: (None, None)  # noqa: E731
        check = {"base_url": server.base_url, "api_key": book.api_key}
        if args.warmup:
            measure(bodies=warm, clients=workers, cpu=nothing, **check)
        pids, postgres = server.worker_pids(), common.PostgresCpu(url)

        def cpu() -> tuple[float | None, float | None]:
            return common.cpu_seconds(pids), postgres()

        print(f"reference: GET {HEALTH} × {args.requests:,} ...", flush=True)
        baseline = measure(bodies=[None] * args.requests, clients=1, cpu=cpu, **check)
        print(f"1 client × {args.requests:,} sequential requests ...", flush=True)
        single = measure(bodies=bodies, clients=1, cpu=cpu, **check)
        print(f"{args.clients} clients × {args.requests:,} requests ...", flush=True)
        concurrent = measure(bodies=bodies, clients=args.clients, cpu=cpu, **check)
        trips = round_trips_count(bodies[0], book.api_key)  # same Redis, so the cache is warm
    return Results(
        baseline=baseline,
        single=single,
        concurrent=concurrent,
        trips=trips,
        book=book,
        args=args,
        load_average=(load_average, os.getloadavg()[0]),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    url = common.database_url(args.database)
    print(f"setting up {args.database} ...", flush=True)
    common.database_recreate(url)
    # Connections kept for the whole run: with the default 60 s a worker reconnects mid-run, and
    # a session that ends between two /proc readings would take its CPU time with it.
    env = common.django_env(url, CACHE_URL=args.cache_url, CONN_MAX_AGE="3600")
    try:
        common.manage("migrate", "--noinput", env=env)
        os.environ["CACHE_URL"] = args.cache_url  # this process's Django too (django_setup reads the env)
        django_setup(url)
        book = book_create(positions=args.positions)
        if args.profile:
            cache_flush(args.cache_url)
            profile_checks(orders_generate(book, args.requests), book.api_key)
            return 0
        machine = common.machine_info(url)
        results = run(url=url, env=env, book=book, args=args)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep_database:
            common.database_drop(url)
        cache_flush(args.cache_url)

    print(results.summary())
    if not args.no_docs:
        common.section_write(name=SECTION, body=report_markdown(results, machine), path=args.docs)
        print(f"wrote section '{SECTION}' of {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
