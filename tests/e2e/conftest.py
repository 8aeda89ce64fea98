"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Chromium comes from the system package (``apt-get install chromium``), never from
``playwright install``: the browser is found at ``VIGIL_CHROMIUM`` (default
``/usr/bin/chromium``), and the tests are skipped with a reason when it is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

# Playwright's sync API keeps an asyncio loop running in the test thread, and Django refuses
# ORM calls from a thread with a running loop. The test thread never awaits anything, so the
# check is a false alarm here. Test conftest only: never set this in application settings.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path(os.environ.get("VIGIL_CHROMIUM", "/usr/bin/chromium"))
# Headless in containers and CI: no sandbox (no user namespaces), no GPU, /tmp instead of a
# small /dev/shm, and no background traffic to Google services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PASSWORD = "Correct-Horse-Battery-9"  # the factories' password


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    """One headless Chromium for the session (overrides pytest-playwright's ``browser``)."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium package (apt-get install chromium)")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """The width the layout is designed for; UTC like the server, so dates agree."""
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "timezone_id": "UTC"}


# Runs in every document before the page's own scripts (injected by the browser driver, so
# the page's CSP does not apply to it): a CSP refusal fires ``securitypolicyviolation`` on the
# document, which is turned into a console message the fixture below collects.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.effectiveDirective + " refused " + (e.blockedURI || "inline")
    + " at " + e.sourceFile + ":" + e.lineNumber + " on " + e.documentURI);
}, true);
"""


@pytest.fixture(autouse=True)
def csp_violations_fail(page: Any) -> Iterator[list[str]]:
    """Fails the test when the browser refused anything under the Content-Security-Policy.

    Chromium reports a refusal twice: its own console line ("Refused to load/apply/execute
    ...") and the ``securitypolicyviolation`` event; either one is enough to fail.
    """
    violations: list[str] = []

    def collect(message: Any) -> None:
        text = message.text
        if text.startswith("CSP violation:") or ("Refused to" in text and "Content Security Policy" in text):
            violations.append(text)

    page.add_init_script(_REPORT_CSP_VIOLATIONS)
    page.on("console", collect)
    yield violations
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def screenshot(page: Any) -> Any:
    """screenshot("name") -> saves the full page as var/screenshots/<name>.png (git-ignored), returns the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def log_in(page: Any, live_server: Any) -> Any:
    """log_in(username, password=PASSWORD) through the real login form."""

    def go(username: str, password: str = PASSWORD) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()

    return go
