"""docker/compose.yml and the gunicorn configuration: the deployment the operations guide describes.

``docker compose config`` is used when the docker compose plugin is installed; the structure
checks below run everywhere (PyYAML resolves the file's anchors and merge keys like compose).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.health import known_queues

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yml"
DUMMY_ENV = {"SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "vigil.example.com", "POSTGRES_PASSWORD": "pw"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _command(service: dict[str, Any]) -> list[str]:
    return service["command"]


def _app_services(services: dict[str, Any]) -> dict[str, Any]:
    return {name: s for name, s in services.items() if "build" in s}


def test_every_app_service_runs_production_settings_and_waits_for_healthy_postgres_and_redis(services):
    for name, service in _app_services(services).items():
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production", name
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}, name
        assert service["depends_on"]["redis"] == {"condition": "service_healthy"}, name
        if name != "migrate":
            assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name


def test_web_runs_gunicorn_from_its_conf_with_multiprocess_metrics_and_a_health_check(services):
    web = services["web"]
    assert _command(web) == ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]
    assert web["environment"]["PROMETHEUS_MULTIPROC_DIR"] in web["tmpfs"]
    assert {"WEB_CONCURRENCY", "GUNICORN_TIMEOUT", "METRICS_TOKEN", "LOG_FORMAT"} <= set(web["environment"])
    assert "http://127.0.0.1:8000/health/" in " ".join(web["healthcheck"]["test"])


def test_one_worker_service_per_routed_queue(services):
    # A queue added to CELERY_TASK_ROUTES without a worker service would never be consumed.
    consumed = {}
    for name, service in services.items():
        command = service.get("command", [])
        if command[:4] == ["celery", "-A", "config", "worker"]:
            consumed[name] = command[command.index("-Q") + 1]
    assert sorted(consumed.values()) == known_queues()
    assert all(name == f"worker-{queue}" for name, queue in consumed.items())


def test_exactly_one_beat_and_one_outbox_relay_when_the_command_exists(services):
    beats = [s for s in services.values() if s.get("command", [])[:4] == ["celery", "-A", "config", "beat"]]
    assert len(beats) == 1 and beats[0]["deploy"]["replicas"] == 1
    relay = ROOT / "core" / "management" / "commands" / "outbox_relay.py"
    relays = [s for s in services.values() if s.get("command", [])[:3] == ["python", "manage.py", "outbox_relay"]]
    assert len(relays) == (1 if relay.exists() else 0)
    if relays:
        assert "--loop" in relays[0]["command"]


def test_redis_never_evicts_queued_messages(services):
    command = services["redis"]["command"]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


def test_every_variable_the_stack_reads_is_documented():
    names = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    conf = (ROOT / "config" / "gunicorn.conf.py").read_text()
    names |= set(re.findall(r'environ\.get\("([A-Z_]+)"', conf))
    docs = (ROOT / "docs" / "operations.md").read_text()
    assert not sorted(n for n in names if f"`{n}`" not in docs)


def test_dockerfile_starts_gunicorn_from_its_conf():
    assert (
        'CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]'
        in (ROOT / "docker" / "Dockerfile").read_text()
    )


def test_gunicorn_conf_reads_its_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "45")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    namespace: dict[str, Any] = {}
    exec(compile((ROOT / "config" / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)  # noqa: S102

    assert (namespace["workers"], namespace["timeout"], namespace["bind"]) == (3, 45, "0.0.0.0:9000")
    assert namespace["accesslog"] is None  # Django logs the access line, with the request id
    # And the start hook empties the metrics directory of a previous run
    (tmp_path / "counter_123.db").write_bytes(b"old")
    namespace["on_starting"](None)
    assert not list(tmp_path.iterdir())


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _compose_available(), reason="the docker compose plugin is not installed here")
def test_docker_compose_validates_the_file_with_a_dummy_env(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in DUMMY_ENV.items()))
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "--env-file", str(env_file), "config", "--quiet"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
