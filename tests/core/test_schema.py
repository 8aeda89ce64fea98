"""The OpenAPI schema generates cleanly, documents ingestion's error statuses, and the docs page
works offline (Swagger UI from the installed sidecar package, no CDN)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

from core.roles import Role
from portfolios.ingest import SPECS

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker) -> dict:
    """The schema as ``manage.py spectacular --validate --fail-on-warn`` writes it (fails on any warning)."""
    out: Path = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    generated = yaml.safe_load(out.read_text())
    # The router accepts both spellings; the schema shows one. Look paths up without the slash.
    generated["paths"] = {path.rstrip("/"): item for path, item in generated["paths"].items()}
    return generated


def test_schema_generates_and_validates_without_warnings(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Vigil API"


def test_schema_documents_every_ingestion_error_status_for_trades(schema):
    post = schema["paths"]["/api/v1/trades"]["post"]

    assert {"400", "401", "403", "409", "413", "422"} <= set(post["responses"])
    assert {"200", "201"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in post["parameters"])


@pytest.mark.parametrize("segment", sorted({name.replace("_", "-") for name in SPECS}))
def test_schema_has_list_detail_and_ingestion_for_every_entity(schema, segment):
    assert {"get", "post"} <= set(schema["paths"][f"/api/v1/{segment}"])
    assert "get" in schema["paths"][f"/api/v1/{segment}/{{id}}"]


def test_every_operation_documents_the_errors_it_can_answer(schema):
    """Found by the schema fuzz test (test_schema_fuzz.py): PATCH/DELETE of a missing limit, the
    comments of a missing alert, a limit with an invalid body answered statuses the schema did
    not list. Any operation on an object can answer 404; any that reads a body, 400 and 415."""
    missing = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            codes = set(operation["responses"])
            expected = {"401", "403", "429"}
            expected |= {"404"} if "{" in path else set()
            expected |= {"400", "415"} if method in {"post", "put", "patch"} else set()
            expected |= {"400"} if method == "get" else set()
            if not expected <= codes:
                missing.append(f"{method.upper()} {path}: {sorted(expected - codes)}")

    assert missing == []


def test_schema_names_the_api_key_scheme(schema):
    schemes = schema["components"]["securitySchemes"]

    assert any(s.get("type") == "apiKey" and s.get("name") == "Authorization" for s in schemes.values())


def test_schema_endpoint_needs_authentication(client, make_user):
    assert client.get("/api/schema/").status_code in {401, 403}

    client.force_login(make_user(Role.RISK_OFFICER))
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/v1/trades" in response.content


def test_docs_page_renders_for_a_logged_in_user_with_local_assets_only(make_user, settings):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = Client()
    assert client.get("/api/docs/").status_code in {302, 401, 403}
    client.force_login(make_user(Role.COMPLIANCE_ANALYST))

    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    external = re.findall(r"""(?:src|href)=["'](?:https?:)?//[^"']+""", html)
    assert external == [], external
    assert not re.search(r"cdn|unpkg|jsdelivr|cloudflare", html, re.IGNORECASE)
    assets = re.findall(r"""["'](/static/[^"']+\.(?:js|css))["']""", html)
    assert assets, html
    for asset in assets:
        name = asset.removeprefix(settings.STATIC_URL)
        assert finders.find(name), name
        assert client.get(asset).status_code == 200, asset
