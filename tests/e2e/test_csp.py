"""The Content-Security-Policy in a real browser: it is enforced, the guard in conftest sees
refusals, and the pages outside our templates (API docs, admin) run under it unchanged.

Every other browser test is guarded too: ``csp_violations_fail`` (tests/e2e/conftest.py) fails
any test during which Chromium refused something under the policy.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.roles import Role
from tests.csp import csp_directives

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_given_the_policy_when_a_page_tries_inline_code_then_the_browser_refuses_and_the_guard_sees_it(
    page, live_server, log_in, make_user, csp_violations_fail
):
    # Given a logged-in page served with the site's policy
    make_user(Role.RISK_OFFICER)
    log_in("risk_officer")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert csp_violations_fail == []

    # When something injected into the page adds an inline script and a <style> with content
    # (page.evaluate itself runs outside the page's policy, as a browser extension would)
    ran = page.evaluate(
        """() => {
          window.__inline_ran = false;
          const s = document.createElement("script");
          s.textContent = "window.__inline_ran = true";
          document.body.appendChild(s);
          const st = document.createElement("style");
          st.textContent = "body { background: rgb(255, 0, 0) }";
          document.head.appendChild(st);
          return {inline: window.__inline_ran, styled: st.sheet !== null};
        }"""
    )

    # Then neither took effect, and each refusal reached the guard
    assert ran == {"inline": False, "styled": False}
    page.wait_for_timeout(200)  # the violation events are dispatched asynchronously
    directives = " ".join(csp_violations_fail)
    assert "script-src-elem" in directives and "style-src-elem" in directives
    csp_violations_fail.clear()  # expected refusals: do not fail this test on them

    # And an empty <style> filled through the CSSOM (what plotly.js does) is allowed by the
    # policy's one hash, without a refusal
    filled = page.evaluate(
        """() => {
          const st = document.createElement("style");
          st.appendChild(document.createTextNode(""));
          document.head.appendChild(st);
          st.sheet.insertRule(".csp-probe { color: rgb(1, 2, 3) }", 0);
          const probe = document.createElement("span");
          probe.className = "csp-probe";
          document.body.appendChild(probe);
          return getComputedStyle(probe).color;
        }"""
    )
    assert filled == "rgb(1, 2, 3)"


def test_given_a_user_when_opening_the_api_docs_then_swagger_ui_renders_under_the_policy(
    page, live_server, log_in, make_user
):
    make_user(Role.RISK_OFFICER)
    log_in("risk_officer")

    response = page.goto(f"{live_server.url}/api/docs/")

    policy = response.headers["content-security-policy"]
    assert csp_directives(policy)["script-src"] == "'self'" and "unsafe-eval" not in policy
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Vigil API", timeout=15_000)
    expect(page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/instruments/?$")).first).to_be_visible()
    page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/instruments/?$")).first.click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()


def test_given_a_superuser_when_using_the_admin_then_it_works_under_the_policy(page, live_server, log_in, make_user):
    make_user(None, username="root", is_superuser=True, is_staff=True)
    log_in("root")

    page.goto(f"{live_server.url}/admin/portfolios/portfolio/add/")

    expect(page.get_by_role("heading", name=re.compile("Add portfolio", re.I))).to_be_visible()
    page.goto(f"{live_server.url}/admin/auth/user/")
    expect(page.locator("#result_list")).to_be_visible()
