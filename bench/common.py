"""Machinery shared by every benchmark: a scratch PostgreSQL database, a real gunicorn server
on loopback, the machine's facts, and ``docs/benchmarks.md`` sections.

``docs/benchmarks.md`` holds one section per benchmark between HTML comment markers
(``<!-- bench:NAME:begin -->`` … ``<!-- bench:NAME:end -->``). A benchmark replaces only its
own section, so the ingestion, risk, surveillance, TCA and wealth benchmarks can run at
different times, even on different machines, without clobbering each other; each section
carries the machine and date it was measured on.
"""

from __future__ import annotations

import io
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
import psycopg
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"
DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432"
# Base settings refuse the development key when DEBUG is off; one throwaway key per run.
_SECRET_KEY = "bench-" + secrets.token_urlsafe(48)

DOCS_HEADER = """# Benchmarks

Measured by `make bench` (one module per benchmark under `bench/`). Each section below is
written by its benchmark and replaced on every run; it names the machine and date it was
measured on. Edit text outside the markers freely; text inside them is regenerated.
"""


# ---------------------------------------------------------------------------- database


def database_url(name: str, *, server_url: str | None = None) -> str:
    """``postgres://…/<name>`` on the server of ``server_url`` (default: $BENCH_PG_URL or local)."""
    base = urlsplit(server_url or os.environ.get("BENCH_PG_URL", DEFAULT_SERVER_URL))
    return urlunsplit((base.scheme, base.netloc, f"/{name}", "", ""))


def database_recreate(url: str) -> None:
    """Drop (force-disconnecting its sessions) and create the database named by ``url``.

    Only databases whose name contains "bench" are touched, so a wrong argument can never
    drop a development or test database.
    """
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"Refusing to recreate database {name!r}: benchmark databases contain 'bench'.")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    """Drop the benchmark database of ``url`` (same safety rule as :func:`database_recreate`)."""
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"Refusing to drop database {name!r}: benchmark databases contain 'bench'.")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_env(url: str, **extra: str) -> dict[str, str]:
    """Environment for a Django process (server or manage.py) on the benchmark database.

    Base settings with DEBUG off: production settings would demand a secret key and HTTPS,
    which a loopback benchmark does not have; DEBUG on would record every SQL query.
    """
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DEBUG": "false",
            "SECRET_KEY": _SECRET_KEY,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
            # One OMS client posting as fast as it can must not be throttled by the benchmark.
            "API_THROTTLE_USER": "1000000/min",
            # No broker: follow-up tasks (if any app registers one) would run in-process.
            "CELERY_BROKER_URL": "",
            # With a broker, incremental detection after a batch is a message to a worker; in
            # process it would be timed as part of ingestion. bench.surveillance measures it.
            "SURVEILLANCE_INCREMENTAL": "false",
        }
    )
    env.update(extra)
    return env


def manage(*args: str, env: Mapping[str, str]) -> None:
    """Run ``manage.py`` with ``args`` in a child process; raise with its output on failure."""
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        env=dict(env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


# ---------------------------------------------------------------------------- HTTP server


def free_port() -> int:
    """A TCP port free on loopback right now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running gunicorn: where it answers and its master's process id."""

    base_url: str
    pid: int

    def worker_pids(self) -> list[int]:
        return child_pids(self.pid)


@contextmanager
def gunicorn_serve(
    *, env: Mapping[str, str], workers: int, log_path: Path, threads: int = 1, ready_path: str = "/"
) -> Iterator[Server]:
    """Run ``gunicorn config.wsgi`` on loopback and yield it once it answers; always stop it.

    The ``gthread`` worker is used because it keeps connections alive (the ``sync`` worker
    closes every connection, which would add a TCP handshake per batch). The server's output
    goes to ``log_path`` and is shown if it fails to start.
    """
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(threads),
                # A worker takes no more connections than it has threads, so K keep-alive clients
                # land on K workers instead of queueing behind one.
                "--worker-connections",
                str(threads),
                "--keep-alive",
                "30",
                "--timeout",
                "300",
                "--log-level",
                "warning",
            ],
            env=dict(env),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stopping it stops its workers
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_answering(proc, base_url + ready_path, log_path)
            yield Server(base_url=base_url, pid=proc.pid)
        finally:
            _stop(proc)


def _wait_until_answering(proc: subprocess.Popen[bytes], url: str, log_path: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            requests.get(url, timeout=10)  # any HTTP answer (even 401/404) means it is up
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)  # not listening yet, or a worker still importing Django
    raise RuntimeError(f"gunicorn did not answer on {url} within {timeout_s:.0f} s:\n{log_path.read_text()[-4000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (master and workers); SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    pgid = os.getpgid(proc.pid)
    os.killpg(pgid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout=5)


# ---------------------------------------------------------------------------- CPU accounting
# Wall-clock rates move with whatever else runs on the machine; CPU time per batch moves much
# less, so benchmarks report both. Linux /proc only; elsewhere these return None / [].


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds used so far by ``pids``; None if any cannot be read."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


def postgres_backend_pids(url: str) -> list[int]:
    """Server process ids of the other sessions open on the database of ``url``."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchall()
    return [int(r[0]) for r in rows]


class PostgresCpu:
    """CPU seconds used by every session ever seen on the database of ``url``.

    Call it before and after a run and subtract: a session opened during the run counts from
    its start, one closed during the run keeps its last reading. Only meaningful when
    PostgreSQL runs on this machine (its processes are visible in /proc); else None.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: dict[int, float] = {}

    def __call__(self) -> float | None:
        for pid in postgres_backend_pids(self.url):
            used = cpu_seconds([pid])
            if used is None:
                return None
            self.seen[pid] = used
        return sum(self.seen.values())


# ---------------------------------------------------------------------------- machine facts


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cores: int
    ram_gib: float
    python: str
    postgresql: str
    os: str

    def as_markdown(self) -> str:
        return (
            f"CPU {self.cpu_model}, {self.cores} cores, {self.ram_gib:.0f} GiB RAM; "
            f"Python {self.python}; PostgreSQL {self.postgresql}; {self.os}."
        )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2  # kB -> GiB
    except OSError:
        pass
    return 0.0


def machine_info(url: str) -> Machine:
    """Facts about this machine and the PostgreSQL server of ``url``."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return Machine(
        cpu_model=_cpu_model(),
        cores=os.cpu_count() or 1,
        ram_gib=_ram_gib(),
        python=platform.python_version(),
        postgresql=str(row[0]).split()[0] if row else "?",
        os=f"{platform.system()} {platform.release()}",
    )


# ---------------------------------------------------------------------------- docs/benchmarks.md


def _markers(name: str) -> tuple[str, str]:
    if not re.fullmatch(r"[a-z0-9_-]+", name):
        raise ValueError(f"Section names are lower-case words: {name!r}")
    return f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"


def section_write(*, name: str, body: str, path: Path = DOCS_PATH) -> None:
    """Replace the section ``name`` of ``path`` with ``body`` (appended if absent).

    Everything outside this section's markers, including other benchmarks' sections, is kept
    byte for byte.
    """
    begin, end = _markers(name)
    block = f"{begin}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else DOCS_HEADER
    start = text.find(begin)
    if start >= 0:
        stop = text.find(end, start)
        if stop < 0:
            raise ValueError(f"{path}: section {name!r} has a begin marker but no end marker.")
        text = text[:start] + block + text[stop + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("inf")


# ---------------------------------------------------------------------------- bulk writes (COPY)

COPY_CHUNK_ROWS = 500_000  # rows per CSV chunk sent to COPY: ~50 MB of text at most


def ts_text(ts_us: np.ndarray) -> np.ndarray:
    """int64 epoch microseconds as PostgreSQL timestamptz literals (UTC)."""
    return np.char.add(np.datetime_as_string(ts_us.astype("datetime64[us]"), unit="us"), "+00")


def copy_rows(cursor: Any, table: str, columns: Mapping[str, Any], *, ts: Sequence[str] = ()) -> int:
    """COPY ``columns`` (arrays of one length, or scalars) into ``table`` in chunks; returns the rows.

    ``ts`` names columns of int64 epoch µs written as UTC timestamps; NaN/None are NULL, an empty
    string stays an empty string. ``cursor`` is a psycopg cursor.
    """
    n = max(len(v) for v in columns.values() if not np.isscalar(v))
    names = ", ".join(columns)
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
        for lo in range(0, n, COPY_CHUNK_ROWS):
            hi = min(n, lo + COPY_CHUNK_ROWS)
            part = {}
            for k, v in columns.items():
                if np.isscalar(v):
                    part[k] = v
                    continue
                # A Series is cut by position and re-indexed, so every chunk lines up with the frame.
                cut = v.iloc[lo:hi].reset_index(drop=True) if isinstance(v, pd.Series) else v[lo:hi]
                part[k] = ts_text(np.asarray(cut)) if k in ts else cut
            buffer = io.StringIO()
            pd.DataFrame(part, index=pd.RangeIndex(hi - lo)).to_csv(buffer, index=False, header=False, na_rep="\\N")
            copy.write(buffer.getvalue())
    return n


def sequences_reset(cursor: Any, tables: Sequence[str]) -> None:
    """Move each table's id sequence past the ids written explicitly."""
    for table in tables:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"
        )


def equities_copy(cursor: Any, ids: Any, symbols: Any) -> int:
    """US equities with the given ids and symbols (tick 0.01, lots of 100)."""
    return copy_rows(
        cursor,
        "portfolios_instrument",
        {
            "id": ids,
            "symbol": symbols,
            "name": "",
            "kind": "equity",
            "currency": "USD",
            "sector": "",
            "country": "US",
            "tick_size": 0.01,
            "lot_size": 100,
            "multiplier": 1,
            "option_right": "",
            "is_active": True,
        },
    )
