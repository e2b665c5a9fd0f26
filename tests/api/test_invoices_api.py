"""GET /api/v1/invoices/ (filters, detail, PDF), credit notes naming the invoice
they correct, and GET /api/v1/tax-codes/."""

from datetime import timedelta
from decimal import Decimal

import pytest

from ledger.models import Invoice, InvoiceKind, TaxCode
from tests.audit_plugin import drain_ledger
from tests.factories import complete_worked_refund, make_order
from vendors.models import TaxModel

V1 = "/api/v1"


def items(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def books(worked_order, alice, acme, bolt):
    """ORD-1001 sold and refunded (the worked example), and a sale of ACME's
    alone where ACME is seller of record."""
    case = complete_worked_refund(worked_order, alice)
    acme.tax_model = TaxModel.SELLER
    acme.vat_id = "GB123456789"
    acme.save()
    make_order(number="ORD-2002", lines=[(acme, "MUG-01", 1, "20.00", "0.10")])
    drain_ledger()
    return case


def test_the_worked_invoice_as_the_api_shows_it(books, staff_api):
    number = Invoice.objects.get(order__number="ORD-1001", kind=InvoiceKind.SALE).number

    invoice = staff_api.get(f"{V1}/invoices/{number}/").json()

    assert (invoice["kind"], invoice["order"], invoice["seller_vendor"]) == (
        "sale",
        "ORD-1001",
        None,
    )
    assert (invoice["net_amount"], invoice["tax_amount"], invoice["total_amount"]) == (
        "100.00",
        "9.00",
        "109.00",
    )
    assert [(line["description"], line["gross_amount"]) for line in invoice["lines"]] == [
        ("MUG-01", "44.00"),
        ("TEE-01", "55.00"),
        ("Shipping", "10.00"),
    ]
    assert [(row["tax_rate"], row["net_amount"], row["tax_amount"]) for row in invoice["tax"]] == [
        ("0.0000", "10.00", "0.00"),
        ("0.1000", "90.00", "9.00"),
    ]
    pdf = staff_api.get(invoice["pdf"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_invoices_filter_by_order_vendor_kind_and_date(books, staff_api):
    by_order = items(staff_api.get(f"{V1}/invoices/", {"order": "ORD-1001"}))
    assert sorted(i["kind"] for i in by_order) == [
        "commission",
        "commission",
        "commission_credit",
        "sale",
    ]
    acme = items(staff_api.get(f"{V1}/invoices/", {"vendor": "ACME"}))
    assert sorted((i["order"], i["kind"]) for i in acme) == [
        ("ORD-1001", "commission"),
        ("ORD-1001", "commission_credit"),
        ("ORD-2002", "commission"),
        ("ORD-2002", "sale"),
    ]
    sales = items(staff_api.get(f"{V1}/invoices/", {"vendor": "ACME", "kind": "sale"}))
    assert [(i["number"].split("-")[0], i["seller_vendor"], i["seller_vat_id"]) for i in sales] == [
        ("ACME", "ACME", "GB123456789")
    ]
    day = Invoice.objects.get(order__number="ORD-2002", kind=InvoiceKind.SALE).issue_date
    assert len(items(staff_api.get(f"{V1}/invoices/", {"date_from": day, "date_to": day}))) == 6
    after = {"date_from": day + timedelta(days=1)}
    assert items(staff_api.get(f"{V1}/invoices/", after)) == []


def test_a_vendor_lists_its_commission_documents_and_what_was_issued_on_its_behalf(
    books, acme_api, bolt_api
):
    acme = items(acme_api.get(f"{V1}/invoices/"))
    assert sorted((i["order"], i["kind"]) for i in acme) == [
        ("ORD-1001", "commission"),
        ("ORD-1001", "commission_credit"),
        ("ORD-2002", "commission"),
        ("ORD-2002", "sale"),
    ]
    bolt = items(bolt_api.get(f"{V1}/invoices/"))
    assert [(i["order"], i["kind"], i["billed_vendor"]) for i in bolt] == [
        ("ORD-1001", "commission", "BOLT")
    ]
    # Another vendor's commission invoice is not found, exactly like a missing one.
    other = Invoice.objects.get(billed_vendor__code="ACME", order__number="ORD-2002").number
    assert bolt_api.get(f"{V1}/invoices/{other}/").status_code == 404
    assert bolt_api.get(f"{V1}/invoices/{other}/pdf/").status_code == 404


def test_a_credit_note_names_the_invoice_it_corrects_and_where_the_money_went(books, staff_api):
    [note] = items(staff_api.get(f"{V1}/credit-notes/", {"order": "ORD-1001"}))

    invoice = Invoice.objects.get(order__number="ORD-1001", kind=InvoiceKind.SALE)
    assert note["invoice"] == invoice.number
    assert note["refunds"] == [
        {"payment_method": "card", "bank_account_code": "090", "amount": "27.50"}
    ]
    assert [(row["tax_rate"], row["tax_amount"]) for row in note["tax"]] == [("0.1000", "2.50")]


def test_tax_codes(db, staff_api):
    TaxCode.objects.create(
        code="DE-VAT-19", jurisdiction="DE", rate=Decimal("0.19"), tax_type="19% (VAT on Income)"
    )
    TaxCode.objects.create(code="VAT-10", rate=Decimal("0.10"), tax_type="10%")

    codes = items(staff_api.get(f"{V1}/tax-codes/"))
    german = items(staff_api.get(f"{V1}/tax-codes/", {"jurisdiction": "DE"}))

    assert [c["code"] for c in codes] == ["VAT-10", "DE-VAT-19"]
    assert german == [
        {
            "code": "DE-VAT-19",
            "name": "",
            "jurisdiction": "DE",
            "rate": "0.1900",
            "tax_type": "19% (VAT on Income)",
        }
    ]
    assert staff_api.get(f"{V1}/tax-codes/DE-VAT-19/").json()["rate"] == "0.1900"
