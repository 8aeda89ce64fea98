"""Given nothing configured (SQLite file, no broker), Vigil migrates, loads a small demo and
serves the login page — the `make run` path on a fresh machine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_embedded_default_migrates_loads_demo_and_serves_login(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"}}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    # The default is var/vigil.sqlite3; a temporary SQLite file keeps the developer's copy intact.
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'vigil.sqlite3'}"

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )

    migrate = manage("migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr
    demo = manage("load_demo", "--small", "--password", "Demo-Password-2026!")
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-4000:]
    assert "risk_officer" in demo.stdout

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as resp:
                    assert resp.status == 200
                    body = resp.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert "Log in to Vigil" in body
    finally:
        server.terminate()
        server.wait(timeout=10)
