"""The report endpoints: JSON rows, the CSV rendition, and a clear 400 for bad dates or a missing rate."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.factories import complete_worked_refund, drain_ledger, make_order

TAX = "/api/v1/reports/tax/"


def test_the_tax_report_as_json_and_csv(staff_api, worked_order, alice):
    complete_worked_refund(worked_order, alice)
    today = f"{timezone.localdate():%Y-%m-%d}"

    response = staff_api.get(TAX, {"date_from": today, "date_to": today})

    assert response.status_code == 200
    body = response.json()
    assert body["reporting_currency"] == "EUR"
    [vat10] = [row for row in body["rows"] if row["tax_code"] == "VAT-10"]
    assert (vat10["net"], vat10["tax"], vat10["booked_tax"], vat10["difference"]) == (
        "65.00",
        "6.50",
        "6.50",
        "0.00",
    )
    csv = staff_api.get(TAX, {"date_from": today, "date_to": today}, HTTP_ACCEPT="text/csv")
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    assert "VAT-10,,EUR,90.00,25.00,65.00,6.50,6.50,0.00" in csv.content.decode()
    by_param = staff_api.get(TAX, {"date_from": today, "date_to": today, "format": "csv"})
    assert by_param.content == csv.content


def test_bad_dates_name_the_field(staff_api):
    response = staff_api.get(TAX, {"date_from": "2026-13-01", "date_to": "2026-01-31"})
    assert response.status_code == 400
    assert "date_from" in response.json()["errors"]
    response = staff_api.get("/api/v1/reports/vendor-aging/")
    assert response.status_code == 400
    assert "at" in response.json()["errors"]


def test_a_missing_rate_is_a_400_naming_currency_and_date(staff_api, acme):
    make_order(number="ORD-USD", currency="USD", lines=[(acme, "MUG-01", 1, "10.00", "0.10")])
    drain_ledger()
    at = timezone.localdate() + timedelta(days=1)

    response = staff_api.get("/api/v1/reports/customer-aging/", {"at": f"{at:%Y-%m-%d}"})

    assert response.status_code == 400
    assert f"No exchange rate for USD to EUR on or before {at:%Y-%m-%d}" in str(response.json())
    plain = staff_api.get(
        "/api/v1/reports/customer-aging/", {"at": f"{at:%Y-%m-%d}", "convert": "false"}
    )
    assert plain.status_code == 200
    assert plain.json()["rows"][0]["total"] == "11.00"
