"""Production mode's response headers and cookie flags, read from a real login.

A subprocess loads ``config.settings.production`` (as a deployment would) against this test's
committed database, fetches the login page over HTTPS, logs in, and reports what it got.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from core.roles import Role
from tests.config.test_settings import ROOT, _production_env
from tests.conftest import PASSWORD
from tests.csp import csp_directives

# Runs inside the production-mode process: Django's test client speaks WSGI to the real stack
# (all middleware), "secure" makes the requests HTTPS as the proxy would report them.
_PROBE = """
import json, django
django.setup()
from django.test import Client

def cookie(response, name):
    morsel = response.cookies[name]
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"]}

plain = Client().get("/accounts/login/", HTTP_HOST="vigil.example.com")
client = Client(HTTP_HOST="vigil.example.com")
page = client.get("/accounts/login/", secure=True)
login = client.post("/accounts/login/", {"username": "rita", "password": "%s"}, secure=True)
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location", "")],
    "page": page.status_code,
    "login": [login.status_code, login.get("Location", "")],
    "headers": {k.lower(): v for k, v in page.headers.items()},
    "csrftoken": cookie(page, "csrftoken"),
    "sessionid": cookie(login, "sessionid"),
}))
"""


@pytest.mark.django_db(transaction=True)
def test_given_production_mode_when_logging_in_over_https_then_headers_and_cookies_are_hardened(tmp_path, make_user):
    # Given a user committed to the test database, and production settings pointed at it
    user = make_user(Role.RISK_OFFICER, username="rita")
    # Production checks passwords with PBKDF2 only (test settings hash with MD5); few iterations
    # keep the login quick, and the hash records its own iteration count.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "probe-salt", iterations=1000)
    user.save(update_fields=["password"])
    db = connection.settings_dict
    env = _production_env(tmp_path, DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}")

    # When the login page is fetched and the user logs in
    result = subprocess.run(
        [sys.executable, "-c", _PROBE % PASSWORD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout.strip().splitlines()[-1])

    # Then plain HTTP is sent to HTTPS, and the login works over HTTPS
    assert got["plain"] == [301, "https://vigil.example.com/accounts/login/"]
    assert got["page"] == 200 and got["login"] == [302, "/"]
    headers = got["headers"]
    # HSTS: one year, subdomains, preload (docs/security.md)
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    policy = csp_directives(headers["content-security-policy"])
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'self'" and policy["form-action"] == "'self'"
    assert policy["img-src"] == "'self' data:"
    assert "unsafe-inline" not in policy["style-src"] and "unsafe-eval" not in headers["content-security-policy"]
    # Cookies: HTTPS only, out of reach of scripts, not sent on cross-site subrequests
    assert got["sessionid"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert got["csrftoken"] == {"secure": True, "httponly": True, "samesite": "Lax"}
