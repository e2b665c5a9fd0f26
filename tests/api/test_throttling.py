"""Rate limits: per API key, and per client address without credentials; past
one, 429 with Retry-After, as a problem."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from tests.factories import StaffFactory

from .conftest import client_for


@pytest.fixture
def low_limits(settings):
    settings.API_THROTTLE_RATES = {"authenticated": "3/min", "anonymous": "2/min"}
    caches[settings.API_THROTTLE_CACHE].clear()
    yield
    caches[settings.API_THROTTLE_CACHE].clear()


def test_a_key_past_its_limit_gets_429_with_retry_after(low_limits, db):
    staff = StaffFactory(username="tess")
    api, other_key = client_for(staff), client_for(staff)
    assert [api.get("/api/v1/orders/").status_code for _ in range(3)] == [200] * 3

    response = api.get("/api/v1/orders/")

    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "throttled" and problem["status"] == 429
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    assert problem["retry_after"] == retry_after
    assert problem["request_id"] == response["X-Request-ID"]
    # A write is refused too, and does nothing.
    assert api.post("/api/v1/vendors/", {"code": "T", "name": "T"}).status_code == 429
    # Each key has its own count, even the same user's.
    assert other_key.get("/api/v1/orders/").status_code == 200


def test_requests_without_credentials_are_counted_per_address(low_limits, db, anonymous_api):
    assert [anonymous_api.get("/api/v1/orders/").status_code for _ in range(2)] == [401, 401]
    response = anonymous_api.get("/api/v1/orders/")
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    # The address is REMOTE_ADDR: a forged X-Forwarded-For is no new client.
    forged = anonymous_api.get("/api/v1/orders/", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert forged.status_code == 429
    # A caller with a key is not counted as anonymous.
    assert client_for(StaffFactory()).get("/api/v1/orders/").status_code == 200


def test_off_means_no_limit(settings, db):
    settings.API_THROTTLE_RATES = {"authenticated": "off", "anonymous": "off"}
    api = client_for(StaffFactory())
    assert {api.get("/api/v1/reasons/").status_code for _ in range(5)} == {200}
