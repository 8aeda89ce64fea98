"""Configuration fails loudly when wrong and is clean in production mode."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # The browser tests' conftest allows async-unsafe calls in this process; a deployment must not.
    dropped = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="vigil.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    )
    env.update(extra)
    return env


def test_production_mode_passes_check_deploy_with_no_warnings(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("secret", ["", "short", "dev-only-insecure-key-change-me-0123456789abcdefghijklmnop"])
def test_production_mode_refuses_to_start_without_a_real_secret(tmp_path, secret):
    result = _manage("check", env=_production_env(tmp_path, SECRET_KEY=secret))
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_mode_refuses_debug(tmp_path):
    result = _manage("check", env=_production_env(tmp_path, DEBUG="true"))
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_database_connections_are_health_checked():
    from django.conf import settings

    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_base_mode_with_debug_off_refuses_the_development_secret_key(tmp_path):
    # Given the base settings (manage.py's default) with DEBUG off and no SECRET_KEY
    env = _production_env(tmp_path, DJANGO_SETTINGS_MODULE="config.settings.base", DEBUG="false")
    env.pop("SECRET_KEY")

    # When Django starts, then it refuses rather than sign sessions with the published key
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_mode_refuses_a_short_metrics_token(tmp_path):
    # Given a guessable bearer token for /metrics; then production refuses to start
    result = _manage("check", env=_production_env(tmp_path, METRICS_TOKEN="short-token"))
    assert result.returncode != 0
    assert "METRICS_TOKEN must be at least 32 characters" in result.stderr


def test_request_ids_with_a_trailing_newline_are_replaced(client):
    # Given an upstream request id ending in a newline (``$`` would have accepted it)
    response = client.get("/health/", HTTP_X_REQUEST_ID="abc\n")
    # Then a fresh, safe id is used and echoed instead
    assert response["X-Request-ID"] != "abc\n" and "\n" not in response["X-Request-ID"]
