"""The Content-Security-Policy is sent in every mode, and its one pinned hash still matches
what the installed plotly.js injects (the browser tests would see the refusal; this says why)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import plotly
import pytest
from django.conf import settings
from django.test import Client

from tests.csp import csp_directives

# plotly.js's bundle creates <style> elements with a fixed id and a single-quoted CSS text.
_INJECTED_STYLE = re.compile(r"""createElement\("style"\);\w\.id="[0-9a-f]{64}",\w\.textContent='([^'\\]*)'""")


def test_the_pinned_plotly_style_hash_is_that_of_the_stylesheet_the_installed_plotly_injects():
    # Given the plotly.js served from the installed package (the same file as STATICFILES_DIRS)
    bundle = (Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js").read_text()

    # When every stylesheet it injects with content is hashed as the browser does
    injected = _INJECTED_STYLE.findall(bundle)
    hashes = {"'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'" for css in injected}

    # Then there is exactly the one the policy admits (plotly upgraded: recompute the setting)
    assert hashes == {settings.PLOTLY_MAPLIBRE_STYLE_SHA256}
    assert settings.PLOTLY_MAPLIBRE_STYLE_SHA256 in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src"]


@pytest.mark.django_db
def test_given_the_default_settings_then_pages_and_api_answers_carry_the_policy():
    # Given test mode (the base settings every mode shares), not only production
    for url in ("/accounts/login/", "/health/", "/api/v1/instruments"):
        policy = csp_directives(Client().get(url)["Content-Security-Policy"])
        assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'", url
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'", url
