"""Exports and settlement statements over the API: streamed CSV, dates
checked field by field, typed as binary in the schema, vendors scoped."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger.credit_notes import issue_credit_notes
from ledger.exports import QUICKBOOKS_COLUMNS, XERO_COLUMNS, XERO_INVOICE_COLUMNS
from ledger.models import SettlementStatement
from tests.factories import complete_worked_refund, empty_statement

V1 = "/api/v1"


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def refunded(worked_order, alice):
    case = complete_worked_refund(worked_order, alice)
    issue_credit_notes([case])
    return case


def rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize(
    ("slug", "columns"),
    [
        ("xero-credit-notes", XERO_COLUMNS),
        ("xero-invoices", XERO_INVOICE_COLUMNS),
        ("quickbooks-journals", QUICKBOOKS_COLUMNS),
        ("journals", None),
    ],
)
def test_each_export_streams_its_csv(staff_api, refunded, today, slug, columns):
    response = staff_api.get(
        f"{V1}/exports/{slug}/", {"date_from": str(today), "date_to": str(today)}
    )

    assert response.status_code == 200
    assert response.streaming  # a StreamingHttpResponse over a generator
    assert response["Content-Type"].startswith("text/csv")
    assert f"{today.isoformat()}.csv" in response["Content-Disposition"]
    found = rows(response)
    assert found
    if columns:
        assert list(found[0]) == columns


def test_a_client_asking_for_csv_gets_it(staff_api, refunded, today):
    response = staff_api.get(
        f"{V1}/exports/journals/?date_from={today}&date_to={today}", HTTP_ACCEPT="text/csv"
    )

    assert response.status_code == 200
    assert any(row["Case ID"] == refunded.case_id for row in rows(response))


def test_the_xero_credit_notes_export_agrees_with_the_credit_note(staff_api, refunded, today):
    response = staff_api.get(
        f"{V1}/exports/xero-credit-notes/", {"date_from": str(today), "date_to": str(today)}
    )

    note = refunded.credit_notes.get()
    lines = [r for r in rows(response) if r["*CreditNoteNumber"] == note.number]
    total = sum(
        Decimal(r["*UnitAmount"]) * int(r["*Quantity"]) + Decimal(r["TaxAmount"]) for r in lines
    )
    assert total == note.total_amount == Decimal("27.50")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "date_from"),
        ({"date_from": "2026-01-01"}, "date_to"),
        ({"date_from": "2026-13-01", "date_to": "2026-01-31"}, "date_from"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-31"}, "date_to"),
    ],
)
def test_bad_dates_are_refused_naming_the_field(staff_api, query, field):
    response = staff_api.get(f"{V1}/exports/journals/", query)

    assert response.status_code == 400
    assert field in response.content.decode()


def test_the_schema_types_exports_and_renditions_as_binary(staff_api):
    schema = staff_api.get("/api/schema/?format=json").json()
    paths = schema["paths"]

    for slug in ("journals", "quickbooks-journals", "xero-credit-notes", "xero-invoices"):
        operation = paths[f"/api/v1/exports/{slug}/"]["get"]
        content = operation["responses"]["200"]["content"]
        assert content["text/csv"]["schema"]["format"] == "binary"
        names = {p["name"] for p in operation["parameters"]}
        assert {"date_from", "date_to"} <= names
    pdf = paths["/api/v1/settlement-statements/{id}/pdf/"]["get"]["responses"]["200"]["content"]
    assert pdf["application/pdf"]["schema"]["format"] == "binary"


def _statement(vendor, today) -> SettlementStatement:
    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return empty_statement(
        vendor, start, today.replace(day=1) - timedelta(days=1), cutoff=timezone.now()
    )


def test_vendors_see_their_own_statements_and_staff_all(
    refunded, acme, bolt, today, acme_api, staff_api
):
    mine, theirs = _statement(acme, today), _statement(bolt, today)

    listed = acme_api.get(f"{V1}/settlement-statements/").json()
    assert [row["id"] for row in listed["results"]] == [mine.pk]
    assert acme_api.get(f"{V1}/settlement-statements/{theirs.pk}/csv/").status_code == 404
    everyone = staff_api.get(f"{V1}/settlement-statements/").json()
    assert {row["vendor"] for row in everyone["results"]} == {"ACME", "BOLT"}

    csv_response = acme_api.get(f"{V1}/settlement-statements/{mine.pk}/csv/")
    assert csv_response.streaming and csv_response["Content-Type"].startswith("text/csv")
    pdf_response = acme_api.get(
        f"{V1}/settlement-statements/{mine.pk}/pdf/", HTTP_ACCEPT="application/pdf"
    )
    assert pdf_response.status_code == 200
    assert pdf_response.content.startswith(b"%PDF")
