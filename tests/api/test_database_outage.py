"""The database goes away: the API answers 503 JSON with Retry-After, pages a
plain 503, never a 500 page.

The outage is real: the connection is closed and pointed at a port where
nothing listens, so the next query fails to connect as it would with
PostgreSQL stopped.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client

from tests.factories import MembershipFactory, StaffFactory

from .conftest import client_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def database_down() -> Iterator[None]:
    saved = {key: connection.settings_dict.get(key) for key in ("HOST", "PORT")}
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def assert_api_unavailable(response) -> None:
    assert response.status_code == 503, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "5"
    problem = response.json()
    assert problem == {
        "type": "/api/problems/service_unavailable/",
        "title": "Service unavailable",
        "status": 503,
        "detail": "The database is unavailable; retry the request shortly.",
        "code": "service_unavailable",
        "retry_after": 5,
        "instance": problem["instance"],
        "request_id": response["X-Request-ID"],
    }


def test_an_api_view_answers_503_json_when_the_database_is_down():
    api = client_for(StaffFactory(username="fiona"))
    api.raise_request_exception = False
    assert api.get("/api/v1/refund-cases/").status_code == 200

    with database_down():
        response = api.get("/api/v1/refund-cases/")

    assert_api_unavailable(response)
    assert api.get("/api/v1/refund-cases/").status_code == 200  # back


def test_a_middleware_that_hits_the_down_database_answers_503_json_under_the_api():
    # The Idempotency-Key middleware authenticates the caller before any view.
    api = client_for(StaffFactory(username="fiona"))
    api.raise_request_exception = False

    with database_down():
        response = api.post(
            "/api/v1/refund-cases/", {}, format="json", HTTP_IDEMPOTENCY_KEY="outage-1"
        )

    assert_api_unavailable(response)


def test_a_portal_page_answers_a_plain_503_when_the_database_is_down():
    member = MembershipFactory()
    browser = Client(raise_request_exception=False)
    browser.force_login(member.user)
    assert browser.get("/portal/inbox/").status_code == 200

    with database_down():
        response = browser.get("/portal/inbox/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/plain")
    assert b"cannot reach its database" in response.content


def test_the_admin_answers_a_plain_503_when_the_database_is_down():
    staff = StaffFactory(username="sam", is_superuser=True)
    browser = Client(raise_request_exception=False)
    browser.force_login(staff)

    with database_down():
        response = browser.get("/admin/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
