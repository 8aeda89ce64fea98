"""Load test: the whole stack on loopback under 50 simulated users for 5 minutes (``make bench-load``).

    python -m bench.load [--users 50] [--seconds 300] [--database vigil_load] [--no-docs]

Shorter trial runs: ``BENCH_LOAD_USERS=20 BENCH_LOAD_SECONDS=60 python -m bench.load``.

1. Set-up (``bench.load_seed``, kept between runs): a PostgreSQL database migrated and loaded with
   the demo (``load_demo``, ``risk_demo_setup``, ``surveillance_demo_setup``, ``wealth_demo_setup``),
   then topped up by COPY to 1,000,000 trades and 10,000 alerts; the seeding time is reported.
   Logins per role and OMS API keys are refreshed on every run.
2. Processes, each in its own process group and always stopped, also when the run fails or is
   sent SIGTERM (and, on Linux, when this process is killed outright): gunicorn (``config.wsgi``
   with ``config.settings.production`` and the project's ``config/gunicorn.conf.py``; 3 ``gthread``
   workers × 4 threads by default, ``--web-worker-class sync`` for the deployment's model), one
   Celery worker on every queue with a real Redis broker (DB 12; the cache on DB 11), and locust
   (``bench/locustfile.py``) headless. Each worker renders the login page before measuring.
3. Figures: per endpoint p50/p95/p99 and request/error counts (every request is recorded by the
   locustfile, percentiles are exact nearest ranks), the dashboards' pooled p95 (target < 200 ms),
   errors (target 0), the RSS of each process at start and end (psutil, sampled every 5 s for
   the peak), background runs and queue backlog; written between ``<!-- load:start -->`` and
   ``<!-- load:end -->`` in ``docs/reliability.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg
import redis
import requests

from bench import common, load_seed
from bench.load_report import (
    DASHBOARDS,
    MemoryRow,
    Sample,
    endpoint_stats,
    pooled_percentile_ms,
    region_replace,
    report_markdown,
)

DOCS_PATH = common.REPO_ROOT / "docs" / "reliability.md"
WORK_DIR = common.REPO_ROOT / "var" / "bench-load"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/12"  # not 13 (bench.pretrade flushes it) nor 14 (tests)
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/11"
QUEUES = ("default", "risk", "surveillance", "tca", "wealth")
MEMORY_EVERY_S = 5.0


# ---------------------------------------------------------------------------- processes


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM if this benchmark dies, even by SIGKILL (no orphans)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextmanager
def process_group(argv: Sequence[str], *, env: Mapping[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv`` in a process group of its own; on leaving, SIGTERM the group, SIGKILL after 20 s."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=common.REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        try:
            yield proc
        finally:
            _group_stop(proc)


def _group_stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the leader alone first (gunicorn and Celery then stop their own workers, Celery
    after the task in hand), then the whole group, then SIGKILL whatever is left."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=20)
    for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; its workers may still be finishing a request.
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def _wait_for(check: Any, *, proc: subprocess.Popen[bytes], log_path: Path, what: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        if check():
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} not ready within {timeout_s:.0f} s:\n{log_path.read_text()[-4000:]}")


def warm_up(base_url: str, connections: int) -> None:
    """Render the login page on every worker before measuring: a worker imports the URL conf,
    the views and their libraries on its first request, which takes seconds, not milliseconds."""

    def get(_: int) -> None:
        requests.get(base_url + "/accounts/login/", headers={"X-Forwarded-Proto": "https"}, timeout=120)

    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(get, range(3 * connections)))


def web_env(url: str, args: argparse.Namespace) -> dict[str, str]:
    """Production settings as a deployment behind a TLS proxy runs them; nothing relaxed."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": url,
            "CELERY_BROKER_URL": args.broker_url,
            "CACHE_URL": args.cache_url,
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


GUNICORN_CONF = common.REPO_ROOT / "config" / "gunicorn.conf.py"


def gunicorn_argv(port: int, args: argparse.Namespace) -> list[str]:
    """The deployment's gunicorn (its config file when the project has one), on loopback, with
    the worker model of this run: options given here override the file's."""
    conf = ["-c", str(GUNICORN_CONF)] if GUNICORN_CONF.exists() else []
    return [
        sys.executable,
        "-m",
        "gunicorn",
        *conf,
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.web_workers),
        "--worker-class",
        args.web_worker_class,
        "--threads",
        str(args.web_threads),
        "--keep-alive",
        "30",  # longer than a person's think time: connections are reused, as behind a proxy
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]


def celery_argv(args: argparse.Namespace) -> list[str]:
    """The worker at a lower CPU priority (``nice``) than the web tier it shares the cores with,
    as an operator co-locating them would run it: background work yields to people and OMS calls."""
    return [
        *(["nice", "-n", str(args.worker_nice)] if args.worker_nice else []),
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        ",".join(QUEUES),
        "--concurrency",
        str(args.worker_concurrency),
        "-n",
        "load@%h",
        "--loglevel",
        "INFO",
    ]


# ---------------------------------------------------------------------------- memory


def _rss(pids: Sequence[int]) -> tuple[int, int]:
    """(processes alive, RSS bytes summed) of ``pids``."""
    alive, total = 0, 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
            alive += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return alive, total


class MemoryWatch:
    """RSS of each process group at start, every few seconds (for the peak) and at the end."""

    def __init__(self, *, web_pid: int, worker_pid: int, url: str, redis_pid: int | None) -> None:
        self.web_pid, self.worker_pid, self.url, self.redis_pid = web_pid, worker_pid, url, redis_pid
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def groups(self) -> dict[str, list[int]]:
        def children(pid: int) -> list[int]:
            try:
                return [c.pid for c in psutil.Process(pid).children()]
            except psutil.NoSuchProcess:
                return []

        return {
            "gunicorn master": [self.web_pid],
            "gunicorn workers": children(self.web_pid),
            "celery worker (main)": [self.worker_pid],
            "celery worker (pool)": children(self.worker_pid),
            "PostgreSQL backends": common.postgres_backend_pids(self.url),
            "Redis server": [self.redis_pid] if self.redis_pid else [],
        }

    def snapshot(self) -> dict[str, tuple[int, int]]:
        taken = {name: _rss(pids) for name, pids in self.groups().items()}
        for name, (_, rss) in taken.items():
            self.peak[name] = max(self.peak.get(name, 0), rss)
        return taken

    def _loop(self) -> None:
        while not self._stop.wait(MEMORY_EVERY_S):
            try:
                self.snapshot()
            except Exception as exc:  # noqa: BLE001 - a failed sample must not end the run
                print(f"memory sample failed: {exc}", file=sys.stderr)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def memory_rows(
    start: Mapping[str, tuple[int, int]], end: Mapping[str, tuple[int, int]], peak: Mapping[str, int]
) -> list[MemoryRow]:
    return [
        MemoryRow(
            name=name,
            processes_start=start[name][0],
            processes_end=end.get(name, (0, 0))[0],
            rss_start=start[name][1],
            rss_end=end.get(name, (0, 0))[1],
            rss_peak=peak.get(name, 0),
        )
        for name in start
    ]


# ---------------------------------------------------------------------------- background work


def queue_backlog(broker_url: str) -> dict[str, int]:
    """Messages waiting in each Celery queue of the broker (priority sub-queues included)."""
    client = redis.Redis.from_url(broker_url)
    try:
        out = {}
        for queue in QUEUES:
            out[queue] = sum(
                int(client.llen(key)) for key in client.scan_iter(match=f"{queue}*") if client.type(key) == b"list"
            )
        return out
    finally:
        client.close()


def runs_since(url: str, since: datetime) -> list[tuple[str, str, int]]:
    """(kind, status, count) of the calculation runs created since ``since``."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT kind, status, count(*) FROM core_calculationrun WHERE created_at >= %s GROUP BY 1, 2 ORDER BY 1, 2",
            (since,),
        ).fetchall()
    return [(str(k), str(s), int(n)) for k, s, n in rows]


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
            for t in ("portfolios_order", "portfolios_trade", "portfolios_orderevent", "surveillance_alert")
        }


def redis_pid(url: str) -> int | None:
    """The Redis server's process id when it runs on this machine (else None)."""
    client = redis.Redis.from_url(url)
    try:
        pid = int(client.info("server")["process_id"])
    finally:
        client.close()
    return pid if psutil.pid_exists(pid) else None


def _flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


# ---------------------------------------------------------------------------- samples


def _error_lines(log_path: Path) -> list[str]:
    """Lines of a process log reporting an error (plain or JSON log format)."""
    marks = ("ERROR/", '"level": "ERROR"', "[ERROR]", " ERROR ", "Traceback", '"level": "CRITICAL"')
    return [line for line in log_path.read_text(errors="replace").splitlines() if any(m in line for m in marks)]


def samples_read(path: Path) -> list[Sample]:
    with path.open(newline="") as f:
        return [
            Sample(
                t_s=float(r["t_s"]),
                name=r["name"],
                status=int(r["status"]),
                ms=float(r["ms"]),
                ok=r["ok"] == "1",
                error=r["error"],
            )
            for r in csv.DictReader(f)
        ]


# ---------------------------------------------------------------------------- run


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--users", type=int, default=_env_int("BENCH_LOAD_USERS", 50), help="simulated users (50)")
    parser.add_argument("--seconds", type=int, default=_env_int("BENCH_LOAD_SECONDS", 300), help="duration (300)")
    parser.add_argument("--database", default=os.environ.get("BENCH_LOAD_DATABASE", "vigil_load"), help="kept")
    parser.add_argument("--trades", type=int, default=_env_int("BENCH_LOAD_TRADES", 1_000_000))
    parser.add_argument("--alerts", type=int, default=_env_int("BENCH_LOAD_ALERTS", 10_000))
    parser.add_argument("--web-workers", type=int, default=_env_int("BENCH_LOAD_WEB_WORKERS", 3))
    parser.add_argument("--web-threads", type=int, default=_env_int("BENCH_LOAD_WEB_THREADS", 4))
    parser.add_argument(
        "--web-worker-class",
        choices=("gthread", "sync"),
        default=os.environ.get("BENCH_LOAD_WEB_WORKER_CLASS", "gthread"),
    )
    parser.add_argument("--worker-concurrency", type=int, default=_env_int("BENCH_LOAD_WORKER_CONCURRENCY", 1))
    parser.add_argument(
        "--worker-nice", type=int, default=_env_int("BENCH_LOAD_WORKER_NICE", 10), help="worker niceness (10; 0: none)"
    )
    parser.add_argument("--broker-url", default=os.environ.get("BENCH_LOAD_BROKER_URL", DEFAULT_BROKER_URL))
    parser.add_argument("--cache-url", default=os.environ.get("BENCH_LOAD_CACHE_URL", DEFAULT_CACHE_URL))
    parser.add_argument("--docs", type=Path, default=DOCS_PATH, help="file whose load region is written")
    parser.add_argument("--no-docs", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if min(args.users, args.seconds, args.web_workers, args.web_threads, args.worker_concurrency) < 1:
        parser.error("users, seconds, workers, threads and concurrency must be positive")
    return args


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds the ExitStack: every process is stopped


def measure(*, url: str, args: argparse.Namespace, targets: dict[str, Any]) -> dict[str, Any]:
    """Start the stack, run locust, stop everything; returns what was measured."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    samples_path, config_path = WORK_DIR / "samples.csv", WORK_DIR / "config.json"
    samples_path.unlink(missing_ok=True)
    env = web_env(url, args)
    for broker in (args.broker_url, args.cache_url):
        _flush(broker)  # no task or cached state left over from an earlier run
    port = common.free_port()
    base_url = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        web = stack.enter_context(process_group(gunicorn_argv(port, args), env=env, log_path=WORK_DIR / "gunicorn.log"))

        def answering() -> bool:
            try:
                return requests.get(base_url + "/health/", headers={"X-Forwarded-Proto": "https"}, timeout=5).ok
            except requests.RequestException:
                return False

        _wait_for(answering, proc=web, log_path=WORK_DIR / "gunicorn.log", what="gunicorn")
        warm_up(base_url, args.web_workers * args.web_threads)
        worker_log = WORK_DIR / "celery.log"
        worker = stack.enter_context(process_group(celery_argv(args), env=env, log_path=worker_log))
        _wait_for(
            lambda: " ready." in worker_log.read_text(errors="replace"), proc=worker, log_path=worker_log, what="celery"
        )
        config_path.write_text(json.dumps({**targets, "run_id": datetime.now(UTC).strftime("%Y%m%d%H%M%S")}))
        locust_env = {**os.environ, "BENCH_LOAD_CONFIG": str(config_path), "BENCH_LOAD_SAMPLES": str(samples_path)}
        spawn_rate = max(1.0, args.users / 25)  # people arrive over ~25 s, not all at one instant
        locust = [
            sys.executable, "-m", "locust", "-f", str(common.REPO_ROOT / "bench" / "locustfile.py"),
            "--headless", "--users", str(args.users), "--spawn-rate", f"{spawn_rate:g}",
            "--run-time", f"{args.seconds}s", "--host", base_url, "--only-summary",
            "--stop-timeout", "10", "--exit-code-on-error", "0", "--loglevel", "WARNING",
        ]  # fmt: skip
        watch = stack.enter_context(
            MemoryWatch(web_pid=web.pid, worker_pid=worker.pid, url=url, redis_pid=redis_pid(args.broker_url))
        )
        memory_start = watch.snapshot()
        started = datetime.now(UTC)
        load_average = os.getloadavg()[0]
        print(f"locust: {args.users} users for {args.seconds} s against {base_url} ...", flush=True)
        with process_group(locust, env=locust_env, log_path=WORK_DIR / "locust.log") as run:
            run.wait(timeout=args.seconds + 180)
        memory_end = watch.snapshot()
        backlog = queue_backlog(args.broker_url)
        runs = runs_since(url, started)
        worker_errors = _error_lines(worker_log)
        web_errors = _error_lines(WORK_DIR / "gunicorn.log")
    if not samples_path.exists():
        raise RuntimeError(f"locust wrote no samples:\n{(WORK_DIR / 'locust.log').read_text()[-4000:]}")
    return {
        "samples": samples_read(samples_path),
        "memory": memory_rows(memory_start, memory_end, watch.peak),
        "backlog": backlog,
        "runs": runs,
        "worker_errors": worker_errors,
        "web_errors": web_errors,
        "load_average": (load_average, os.getloadavg()[0]),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGTERM, _terminate)
    url = common.database_url(args.database)
    print(f"setting up {args.database} (kept between runs) ...", flush=True)
    setup_env = common.django_env(url)  # base settings, tasks in-process: the demo steps run their work inline
    seeding = load_seed.seed(url=url, env=setup_env, trades=args.trades, alerts=args.alerts)
    password = secrets.token_urlsafe(18)  # every load-test login's, new on every run
    targets = {**load_seed.people_and_targets(url=url, env=setup_env, password=password), "password": password}
    machine = common.machine_info(url)
    measured = measure(url=url, args=args, targets=targets)
    stats = endpoint_stats(measured["samples"])
    dashboards_p95 = pooled_percentile_ms(measured["samples"], DASHBOARDS, 95)
    body = report_markdown(
        stats=stats,
        dashboards_p95_ms=dashboards_p95,
        memory=measured["memory"],
        backlog=measured["backlog"],
        runs=measured["runs"],
        samples=measured["samples"],
        seeding=seeding,
        recorded=load_seed.steps_recorded(url),
        counts=table_counts(url),
        machine=machine,
        args=args,
        load_average=measured["load_average"],
        worker_errors=measured["worker_errors"],
        web_errors=measured["web_errors"],
    )
    print(body)
    if not args.no_docs:
        args.docs.write_text(region_replace(args.docs.read_text(), body))
        print(f"wrote the load region of {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
