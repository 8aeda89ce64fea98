"""gunicorn settings for the web process: ``gunicorn -c config/gunicorn.conf.py config.wsgi``.

Everything comes from the environment (docs/operations.md lists the variables). Every worker
process writes its metrics to files in ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary
directory when unset) and ``/metrics`` sums them; the hooks below empty the directory when the
server starts (files of a previous run would be added to this one's counters) and tell
prometheus_client when a worker exits.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Sync workers: one request at a time each. Size by CPU (2–4 per core) and by memory: a worker
# holds a request's whole working set (a 10,000-row ingestion batch, a PDF report).
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# A request running longer than this is killed and its worker replaced (ingestion of the largest
# batch and report rendering stay well below it).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle a worker after this many requests (0: never), against slow memory growth.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# Django logs one access line per request, with its request id (core.middleware.AccessMiddleware).
accesslog = None
errorlog = "-"
# Worker heartbeat files on a memory file system: a slow container disk cannot stall workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn's documented choice


# Several worker processes: metrics always in multiprocess mode. Set here, in the master before
# it forks, so every worker has it before importing prometheus_client; a directory of its own
# per server start when the environment names none.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="vigil-prometheus-")


def _metrics_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    return Path(value) if value else None


def on_starting(server: Any) -> None:
    directory = _metrics_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    if _metrics_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
