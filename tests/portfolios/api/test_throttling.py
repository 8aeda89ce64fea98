"""Throttling: a client over its rate gets 429 with Retry-After, in the API's error shape."""

from __future__ import annotations

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from core.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(settings, monkeypatch):
    """3 requests a minute per user, counted in a cache of this test only.

    DRF copies the rates onto the throttle classes at import time, so the setting alone is not
    enough: the class attribute is patched as well.
    """
    rates = {"user": "3/min", "anon": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    cache = LocMemCache("throttle-test", {})
    for throttle in (UserRateThrottle, AnonRateThrottle):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", rates)
        monkeypatch.setattr(throttle, "cache", cache)
    return rates


def test_given_user_over_rate_then_429_with_retry_after(oms, low_rates):
    statuses = [oms.get("/api/v1/instruments").status_code for _ in range(3)]

    throttled = oms.get("/api/v1/instruments")

    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "throttled"
    assert 0 < int(throttled["Retry-After"]) <= 60


def test_given_throttled_client_then_ingestion_is_refused_too(oms, low_rates):
    for _ in range(3):
        oms.get("/api/v1/desks")

    response = oms.post("/api/v1/desks", {"rows": [{"code": "D", "name": "d"}]}, format="json")

    assert response.status_code == 429
    assert "Retry-After" in response


def test_given_one_user_throttled_then_another_user_is_not(oms, low_rates, make_user, api_client_for):
    for _ in range(4):
        oms.get("/api/v1/instruments")
    other = api_client_for(make_user(Role.RISK_OFFICER))

    assert other.get("/api/v1/instruments").status_code == 200
