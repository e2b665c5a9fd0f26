"""Accounting periods through the API: GET /api/v1/periods/, POST
.../{YYYY-MM}/close/ and .../reopen/ (ledger.closing decides)."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Permission

from ledger.models import AccountingPeriod, PeriodEvent, PeriodStatus
from tests.factories import UserFactory, ended_months_with_books

from .conftest import client_for


@pytest.fixture
def months(db) -> tuple[date, date]:
    return ended_months_with_books()


def label(month: date) -> str:
    return f"{month:%Y-%m}"


def test_the_api_lists_closes_and_reopens_periods(staff_api, months):
    earlier, later = months

    closed = staff_api.post(f"/api/v1/periods/{label(earlier)}/close/", {}, format="json")

    assert closed.status_code == 200, closed.content
    assert closed.json()["month"] == label(earlier)
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_by"] == "fiona"
    listed = staff_api.get("/api/v1/periods/").json()
    assert [(p["month"], p["status"]) for p in listed][-2:] == [
        (label(later), "open"),
        (label(earlier), "closed"),
    ]
    assert staff_api.get(f"/api/v1/periods/{label(earlier)}/").json()["status"] == "closed"

    reopened = staff_api.post(
        f"/api/v1/periods/{label(earlier)}/reopen/", {"reason": "Missed refund"}, format="json"
    )

    assert reopened.status_code == 200
    assert reopened.json() == {
        "month": label(earlier),
        "status": "open",
        "closed_by": "",
        "closed_at": None,
    }
    assert PeriodEvent.objects.get(action="reopen").process == "api"


@pytest.mark.parametrize(
    ("path", "body", "status", "field", "code"),
    [
        ("{later}/close/", {}, 409, "month", "invalid_transition"),
        ("{earlier}/reopen/", {"reason": "why"}, 409, "month", "invalid_transition"),
        ("{earlier}/reopen/", {}, 400, "reason", "validation_error"),
        ("2026-13/close/", {}, 400, "month", "validation_error"),
    ],
)
def test_the_api_refuses_invalid_transitions_with_the_field(
    staff_api, months, path, body, status, field, code
):
    earlier, later = months
    response = staff_api.post(
        "/api/v1/periods/" + path.format(earlier=label(earlier), later=label(later)),
        body,
        format="json",
    )

    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert field in response.json()["errors"]
    assert not PeriodEvent.objects.exists()


def test_a_period_not_in_the_books_is_404(staff_api, months):
    assert staff_api.get("/api/v1/periods/1999-01/").status_code == 404


def test_staff_with_only_view_permissions_may_not_close(months):
    earlier, _ = months
    user = UserFactory(username="vic", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_accountingperiod"))
    client = client_for(user)

    assert client.get("/api/v1/periods/").status_code == 200
    assert client.post(f"/api/v1/periods/{label(earlier)}/close/").status_code == 403
    assert not AccountingPeriod.objects.filter(status=PeriodStatus.CLOSED).exists()
