"""The report pages in the admin: the form, the table, the CSV of the same
rows; the exchange-rates CSV import; staff without the permission are refused."""

from __future__ import annotations

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from ledger.models import ExchangeRate
from tests.factories import PASSWORD, UserFactory, complete_worked_refund

TAX = "admin:ledger_exchangerate_report_tax"


def test_the_tax_report_page_and_its_csv(staff, worked_order, alice):
    complete_worked_refund(worked_order, alice)
    today = f"{timezone.localdate():%Y-%m-%d}"
    query = {"date_from": today, "date_to": today, "convert": "on"}

    page = staff.get(reverse(TAX), query)

    assert page.status_code == 200
    html = page.content.decode()
    assert "<td>VAT-10</td>" in html
    assert "<td>6.50</td>" in html
    download = staff.get(reverse(TAX), {**query, "format": "csv"})
    assert download["Content-Type"].startswith("text/csv")
    assert "VAT-10,,EUR,90.00,25.00,65.00,6.50,6.50,0.00,65.00,6.50,6.50" in (
        download.content.decode()
    )


def test_the_aging_and_accrued_pages_render(staff):
    today = f"{timezone.localdate():%Y-%m-%d}"
    for name in ("vendor_aging", "customer_aging", "accrued_refunds"):
        page = staff.get(reverse(f"admin:ledger_exchangerate_report_{name}"), {"at": today})
        assert page.status_code == 200
        assert "Nothing to report." in page.content.decode()


def test_a_bad_date_is_shown_on_the_form(staff):
    page = staff.get(reverse(TAX), {"date_from": "2026-02-30", "date_to": "2026-03-01"})
    assert page.status_code == 200
    assert "Enter a valid date." in page.content.decode()


def test_staff_without_the_permission_are_refused(client, db):
    UserFactory(username="carol", is_staff=True)
    assert client.login(username="carol", password=PASSWORD)
    assert client.get(reverse(TAX)).status_code == 403


def test_rates_import_in_the_admin(staff):
    form = staff.get(reverse("admin:ledger_exchangerate_import")).content.decode()
    assert 'enctype="multipart/form-data"' in form
    assert "<code>date,currency,rate</code>" in form
    upload = SimpleUploadedFile("rates.csv", b"date,currency,rate\n2026-01-02,USD,0.91\n")

    response = staff.post(reverse("admin:ledger_exchangerate_import"), {"file": upload})

    assert response.status_code == 302
    assert ExchangeRate.objects.get(currency="USD").rate == Decimal("0.91")
    bad = SimpleUploadedFile("rates.csv", b"date,currency,rate\n2026-01-02,USD,abc\n")
    page = staff.post(reverse("admin:ledger_exchangerate_import"), {"file": bad})
    assert "Line 2: &#x27;abc&#x27; is not a number." in page.content.decode()
