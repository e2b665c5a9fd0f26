"""Input rules the schema states, answered as it says: each of them once, by
hand (test_schemathesis generates requests against all of them)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cash.models import PayoutProvider

pytestmark = pytest.mark.django_db

VENDOR = {"code": "CORK", "name": "Cork & Co", "commission_rate": "0.1000"}


def problem_of(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    problem = response.json()
    if field is not None:
        assert field in problem["errors"], problem
    return problem


def test_a_whole_number_may_be_written_with_a_zero_fraction(staff_api):
    response = staff_api.post("/api/v1/vendors/", {**VENDOR, "payout_delay_days": 3.0})
    assert response.status_code == 201, response.content
    assert response.json()["payout_delay_days"] == 3
    for value in (3.5, "3", True):
        body = {**VENDOR, "code": "CORK2", "payout_delay_days": value}
        problem_of(staff_api.post("/api/v1/vendors/", body), 400, "payout_delay_days")


@pytest.mark.parametrize("value", ["1e60", "0", "-1", "2.5", str(2**63)])
def test_an_id_filter_takes_a_whole_number_from_1_to_the_largest_bigint(staff_api, value):
    problem_of(staff_api.get("/api/v1/bank-statements/", {"account": value}), 400, "account")


def test_an_id_filter_in_range_filters(staff_api):
    response = staff_api.get("/api/v1/bank-statements/", {"account": str(2**63 - 1)})
    assert response.status_code == 200 and response.json()["results"] == []


@pytest.mark.parametrize("value", ["", "xml"])
def test_a_format_names_one_of_the_operations_formats(staff_api, value):
    response = staff_api.get(
        "/api/v1/reports/customer-aging/", {"at": "2026-01-31", "format": value}
    )
    problem_of(response, 404)


@pytest.mark.parametrize("month", ["0001-01", "9999-12"])
def test_a_period_has_a_month_before_and_after_it(staff_api, month):
    problem_of(staff_api.post(f"/api/v1/periods/{month}/close/"), 400, "month")
    problem_of(staff_api.get(f"/api/v1/periods/{month}/"), 400, "month")


def test_a_month_that_has_not_ended_does_not_close_409(staff_api):
    problem = problem_of(staff_api.post("/api/v1/periods/9999-01/close/"), 409, "month")
    assert problem["code"] == "not_ended"


def test_reopening_a_period_needs_a_reason(staff_api):
    problem_of(staff_api.post("/api/v1/periods/2026-01/reopen/", {"reason": ""}), 400, "reason")


@pytest.mark.parametrize(
    "url",
    [
        "http://[2001:db8::1]/hooks",  # an IPv6 literal
        "https://user:secret@hooks.example.com/",  # credentials
        "http://localhost#%mN{",  # not RFC 3986
        "https://" + "a" * 64 + ".example.com/",  # a label over 63 characters
        "ftp://hooks.example.com/",
    ],
)
def test_a_webhook_url_is_refused_where_its_pattern_refuses_it(staff_api, url):
    problem_of(staff_api.post("/api/v1/webhook-endpoints/", {"url": url}), 400, "url")


def test_a_webhook_description_is_text(staff_api):
    body = {"url": "https://hooks.example.com/x", "description": 0}
    problem_of(staff_api.post("/api/v1/webhook-endpoints/", body), 400, "description")


def _upload(api):
    data = SimpleUploadedFile("payouts.csv", b"id,amount\n", content_type="text/csv")
    return api.post("/api/v1/payout-reports/", {"file": data}, format="multipart")


def test_a_payout_report_without_a_provider_depends_on_the_providers_there_are(staff_api):
    assert problem_of(_upload(staff_api), 404, "provider")["code"] == "not_found"
    for code in ("stripe", "market"):
        PayoutProvider.objects.create(code=code, name=code.title(), payment_method="card")
    assert problem_of(_upload(staff_api), 409, "provider")["code"] == "ambiguous"
