"""Figures and the ``docs/reliability.md`` region of the load test (pure: no processes, no database)."""

from __future__ import annotations

import argparse
import math
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bench import common
from bench.load_seed import SeedReport

START_MARKER = "<!-- load:start -->"
END_MARKER = "<!-- load:end -->"
DASHBOARD_TARGET_P95_MS = 200.0
#: The pages people land on; their pooled p95 is held to the target.
DASHBOARDS = frozenset(
    {"GET /", "GET /risk/", "GET /surveillance/", "GET /surveillance/dashboard/", "GET /execution/", "GET /wealth/"}
)
MIB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    """One request as the locustfile recorded it: seconds since start, name, status, latency."""

    t_s: float
    name: str
    status: int
    ms: float
    ok: bool
    error: str = ""


@dataclass(frozen=True)
class EndpointStats:
    name: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True)
class MemoryRow:
    name: str
    processes_start: int
    processes_end: int
    rss_start: int  # bytes, summed over the group's processes
    rss_end: int
    rss_peak: int


def percentile_ms(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``q``% of values at or below it
    (so a reported p99 is a latency some request really had). NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def endpoint_stats(samples: Iterable[Sample]) -> list[EndpointStats]:
    """Per request name, busiest first, and a last ``all requests`` row."""
    by_name: dict[str, list[Sample]] = defaultdict(list)
    everything: list[Sample] = []
    for s in samples:
        by_name[s.name].append(s)
        everything.append(s)
    groups = sorted(by_name.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    if everything:
        groups.append(("all requests", everything))
    out = []
    for name, group in groups:
        ms = [s.ms for s in group]
        out.append(
            EndpointStats(
                name=name,
                requests=len(group),
                errors=sum(not s.ok for s in group),
                p50_ms=percentile_ms(ms, 50),
                p95_ms=percentile_ms(ms, 95),
                p99_ms=percentile_ms(ms, 99),
                max_ms=max(ms),
            )
        )
    return out


def pooled_percentile_ms(samples: Iterable[Sample], names: Collection[str], q: float) -> float:
    """The ``q`` percentile over every request whose name is in ``names``."""
    return percentile_ms([s.ms for s in samples if s.name in names], q)


def endpoint_table(stats: Sequence[EndpointStats]) -> str:
    lines = [
        "| endpoint | requests | errors | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in stats:
        name = f"`{s.name}`" if s.name != "all requests" else "**all requests**"
        errors = f"**{s.errors:,}**" if s.errors else "0"
        figures = " | ".join(f"{v:.0f}" for v in (s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms))
        lines.append(f"| {name} | {s.requests:,} | {errors} | {figures} |")
    return "\n".join(lines)


def memory_table(rows: Sequence[MemoryRow]) -> str:
    lines = [
        "| process | count start → end | RSS start MiB | RSS end MiB | RSS peak MiB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.processes_start} → {r.processes_end} | {r.rss_start / MIB:.0f} | "
            f"{r.rss_end / MIB:.0f} | {r.rss_peak / MIB:.0f} |"
        )
    return "\n".join(lines)


def region_replace(text: str, body: str, *, start: str = START_MARKER, end: str = END_MARKER) -> str:
    """``text`` with what lies between ``start`` and ``end`` replaced by ``body``; everything else
    kept byte for byte. Both markers must be present, in that order."""
    i = text.find(start)
    j = text.find(end, i + len(start)) if i >= 0 else -1
    if i < 0 or j < 0:
        raise ValueError(f"Markers {start} … {end} not found in order.")
    return text[: i + len(start)] + "\n" + body.strip() + "\n" + text[j:]


def error_digest(samples: Iterable[Sample], limit: int = 8) -> list[tuple[str, int]]:
    """The most frequent distinct failures, ``"name: error"`` with their counts."""
    counts = Counter(f"{s.name}: {s.error or f'HTTP {s.status}'}" for s in samples if not s.ok)
    return counts.most_common(limit)


def _workers(args: argparse.Namespace) -> str:
    if args.web_worker_class == "sync":
        return (
            f"{args.web_workers} `sync` workers (one request at a time each, a new connection per request, "
            "as the deployment's default)"
        )
    return (
        f"{args.web_workers} `gthread` workers × {args.web_threads} threads: {args.web_workers} processes keep "
        "both cores busy while one waits on PostgreSQL, the threads overlap those waits without the memory of "
        "more processes, and idle keep-alive connections wait in the worker's poller, not in a thread"
    )


def _ms(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.0f} ms"


def report_markdown(
    *,
    stats: Sequence[EndpointStats],
    dashboards_p95_ms: float,
    memory: Sequence[MemoryRow],
    backlog: Mapping[str, int],
    runs: Sequence[tuple[str, str, int]],
    samples: Sequence[Sample],
    seeding: SeedReport,
    recorded: Mapping[str, tuple[float, str]],
    counts: Mapping[str, int],
    machine: common.Machine,
    args: argparse.Namespace,
    load_average: tuple[float, float],
    worker_errors: Sequence[str],
    web_errors: Sequence[str],
) -> str:
    total = stats[-1] if stats else EndpointStats("all requests", 0, 0, math.nan, math.nan, math.nan, math.nan)
    span_s = max((s.t_s for s in samples), default=0.0)
    met = not math.isnan(dashboards_p95_ms) and dashboards_p95_ms < DASHBOARD_TARGET_P95_MS
    errors = error_digest(samples)
    error_lines = "\n".join(f"- {n:,} × {text[:240]}" for text, n in errors) or "- none"
    run_lines = ", ".join(f"{kind} {status} {n:,}" for kind, status, n in runs) or "none"
    queued = sum(backlog.values())
    backlog_text = ", ".join(f"{q} {n:,}" for q, n in backlog.items() if n) or "none"
    bulk = ", ".join(
        f"{step} {recorded[step][0]:.0f} s ({recorded[step][1]})" for step in ("trades", "alerts") if step in recorded
    )
    demo = ", ".join(
        f"{step} {recorded[step][0]:.0f} s"
        for step in ("load_demo", "risk_demo_setup", "surveillance_demo_setup", "wealth_demo_setup")
        if step in recorded
    )
    this_run = ", ".join(f"{k} {v:.0f} s" for k, v in seeding.steps_s.items())
    return f"""### Load test

Measured {common.now_utc()} by `python -m bench.load --users {args.users} --seconds {args.seconds}` (`make bench-load`).
Machine: {machine.as_markdown()}
The 1-minute load average was {load_average[0]:.1f} when the load started and {load_average[1]:.1f} at its end
(the machine's {machine.cores} cores also run locust, PostgreSQL and Redis).

**Errors: {total.errors:,} of {total.requests:,} requests** (target 0) over {span_s:.0f} s.
**Dashboards p95: {_ms(dashboards_p95_ms)}** (the pages in {", ".join(f"`{d[4:]}`" for d in sorted(DASHBOARDS))},
pooled; target < {DASHBOARD_TARGET_P95_MS:.0f} ms: {"met" if met else "**not met**"}).

{endpoint_table(stats)}

Latency is from sending the request to reading the whole answer, as the client saw it; percentiles are
nearest ranks over every request (login and ramp-up included).

Failures (most frequent first):
{error_lines}

Memory (resident set size, psutil; PostgreSQL backends are the sessions on this database, and each
counts the shared buffers it touched, so their sum overstates their private memory):

{memory_table(memory)}

Background work: calculation runs created during the load: {run_lines}. Celery messages still queued
when it stopped: {queued:,} ({backlog_text}). Worker log lines with an error: {len(worker_errors)};
gunicorn error lines: {len(web_errors)}.

Data: {counts.get("portfolios_trade", 0):,} trades, {counts.get("portfolios_order", 0):,} orders,
{counts.get("portfolios_orderevent", 0):,} order events and {counts.get("surveillance_alert", 0):,} alerts in
`{args.database}` at the end (the run's ingestion included). Seeding (kept between runs): demo {demo or "n/a"};
bulk COPY {bulk or "n/a"}. This run's set-up: {this_run or "nothing to do"}.

How it runs:

- gunicorn `config.wsgi` with `config.settings.production` (`DEBUG` off, a random 64-character key,
  `ALLOWED_HOSTS=127.0.0.1`, HTTPS redirect, HSTS and `Secure` cookies on), {_workers(args)}.
  Redis is the cache (`{args.cache_url}`).
- One Celery worker on every queue (`{args.broker_url}`), concurrency {args.worker_concurrency},
  at niceness {args.worker_nice} (background work yields the CPU to the web tier): the
  follow-ups of each ingested batch (incremental surveillance, TCA, limit checks) share the two cores
  with the web tier; a backlog above shows where it could not keep up.
- locust, headless, {args.users} users (spawned over ~25 s) for {args.seconds} s: OMS clients posting
  batches of 10 orders, 30 order events and 20 fills with `Idempotency-Key` (one in ten fill batches
  re-sent as a retry and replayed), OMS clients asking pre-trade checks, and people of each role
  (risk officers, compliance analysts and supervisors, wealth advisors, auditors) who log in through
  the form and open their dashboards with 3–10 s of reading between pages (`bench/locustfile.py`).
  Each client acts as the TLS-terminating proxy (`X-Forwarded-Proto: https`) and returns the
  `Secure` cookies over loopback.
"""
