"""The accounting exports agree with the ledger: each against its import
template's required columns, amounts positive, and the export's amounts tie
to the journals of the period, on DESIGN's worked example and with ACME as
seller of record (docs/accounting.md, "Exports")."""

import csv
import inspect
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger.credit_notes import issue_credit_notes
from ledger.exports import (
    JOURNAL_COLUMNS,
    QUICKBOOKS_COLUMNS,
    XERO_COLUMNS,
    XERO_INVOICE_COLUMNS,
    export_lines,
)
from ledger.models import (
    Account,
    AccountRole,
    CreditNote,
    Entry,
    Invoice,
    InvoiceKind,
    JournalKind,
)
from tests.audit_plugin import drain_ledger
from tests.factories import complete_refund, complete_worked_refund
from vendors.models import Vendor

D = Decimal
ZERO = D("0")

# Xero's templates mark required columns with *; QuickBooks Online's journal
# entry import needs these.
XERO_CREDIT_NOTE_REQUIRED = [
    "*ContactName",
    "*CreditNoteNumber",
    "*CreditNoteDate",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "*AccountCode",
    "*TaxType",
]
XERO_INVOICE_REQUIRED = [
    "*ContactName",
    "*InvoiceNumber",
    "*InvoiceDate",
    "*DueDate",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "*AccountCode",
    "*TaxType",
]
QUICKBOOKS_REQUIRED = ["JournalNo", "JournalDate", "AccountName", "Debits", "Credits"]


def read(lines) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(lines))))


@pytest.fixture
def today():
    return timezone.now().date()


def refunded(order, alice, *, acme_model: str = ""):
    Vendor.objects.filter(code="ACME").update(tax_model=acme_model)
    case = complete_worked_refund(order, alice)
    issue_credit_notes([case])
    return case


def ledger_movement(today) -> dict[str, Decimal]:
    """Credit minus debit per account code over the sale and refund journals."""
    moved: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for code, debit, credit in Entry.objects.filter(
        journal__date=today, journal__kind__in=[JournalKind.SALE, JournalKind.REFUND]
    ).values_list("account__code", "debit", "credit"):
        moved[code] += credit - debit
    return {code: amount for code, amount in moved.items() if amount}


def exported_movement(today) -> dict[str, Decimal]:
    """What the Xero exports post, per account code, plus what stays outside
    them: a seller of record's documents (its customers' money, wholly its
    payable's) and the commission documents' settlement against the payable."""
    moved: dict[str, Decimal] = defaultdict(lambda: ZERO)
    tax = ZERO
    kinds = dict(Invoice.objects.values_list("number", "kind"))
    for sign, rows, number in (
        (1, read(export_lines("xero-invoices", today, today)), "*InvoiceNumber"),
        (-1, read(export_lines("xero", today, today)), "*CreditNoteNumber"),
    ):
        for row in rows:
            net = D(row["*UnitAmount"]) * int(row["*Quantity"])
            moved[row["*AccountCode"]] += sign * net
            tax += sign * D(row["TaxAmount"])
            if kinds.get(row[number]) in (InvoiceKind.COMMISSION, InvoiceKind.COMMISSION_CREDIT):
                # Billed to the vendor: settled from what the platform owes it.
                vendor = Invoice.objects.get(number=row[number]).billed_vendor_id
                payable = Account.objects.get(role=AccountRole.VENDOR_PAYABLE, vendor_id=vendor)
                moved[payable.code] -= sign * (net + D(row["TaxAmount"]))
            else:
                moved["clearing"] -= sign * (net + D(row["TaxAmount"]))
    for invoice in Invoice.objects.filter(seller_vendor__isnull=False):
        payable = Account.objects.get(role=AccountRole.VENDOR_PAYABLE, vendor=invoice.seller_vendor)
        moved[payable.code] += invoice.total_amount
        moved["clearing"] -= invoice.total_amount
    for note in CreditNote.objects.filter(invoice__seller_vendor__isnull=False):
        payable = Account.objects.get(
            role=AccountRole.VENDOR_PAYABLE, vendor=note.invoice.seller_vendor
        )
        moved[payable.code] -= note.total_amount
        moved["clearing"] += note.total_amount
    moved["tax"] = tax
    return {code: amount for code, amount in moved.items() if amount}


def as_ledger(moved: dict[str, Decimal]) -> dict[str, Decimal]:
    """The ledger's movement with output tax and clearing summed as the export's."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    roles = dict(Account.objects.values_list("code", "role"))
    for code, amount in moved.items():
        role = roles[code]
        key = {"output_tax": "tax", "gateway_clearing": "clearing"}.get(role, code)
        out[key] += amount
    return {code: amount for code, amount in out.items() if amount}


def test_the_exports_tie_to_the_ledger_on_the_worked_example(worked_order, alice, today):
    refunded(worked_order, alice)

    assert (
        as_ledger(ledger_movement(today))
        == exported_movement(today)
        == {
            "clearing": D("-81.50"),  # 109.00 paid less 27.50 refunded
            "tax": D("6.50"),  # 9.00 on the invoice less 2.50 on the credit note
            "2000-ACME": D("18.00"),  # 36.00 - 18.00
            "2000-BOLT": D("42.50"),
            "4000": D("9.50"),  # 11.50 - 2.00
            "4100": D("10.00"),
            "5000": D("-5.00"),
        }
    )


def test_the_exports_tie_to_the_ledger_with_a_seller_of_record(worked_order, alice, today):
    refunded(worked_order, alice, acme_model="seller")

    assert as_ledger(ledger_movement(today)) == exported_movement(today)
    # ACME's invoice and credit note are its own, issued on its behalf: not the platform's.
    invoices = read(export_lines("xero-invoices", today, today))
    notes = read(export_lines("xero", today, today))
    acme_docs = set(
        Invoice.objects.filter(seller_vendor__code="ACME").values_list("number", flat=True)
    ) | set(
        CreditNote.objects.filter(invoice__seller_vendor__code="ACME").values_list(
            "number", flat=True
        )
    )
    assert len(acme_docs) == 2
    assert not acme_docs & {r["*InvoiceNumber"] for r in invoices}
    assert not acme_docs & {r["*CreditNoteNumber"] for r in notes}
    # The platform's tax: BOLT's 5.00 less 0.50 back.
    assert exported_movement(today)["tax"] == D("4.50")


def test_each_export_has_its_templates_required_columns_and_positive_amounts(
    worked_order, alice, today
):
    refunded(worked_order, alice)

    for name, columns, required, amounts in (
        ("xero", XERO_COLUMNS, XERO_CREDIT_NOTE_REQUIRED, ["*UnitAmount", "TaxAmount"]),
        ("xero-invoices", XERO_INVOICE_COLUMNS, XERO_INVOICE_REQUIRED, ["*UnitAmount"]),
        ("quickbooks", QUICKBOOKS_COLUMNS, QUICKBOOKS_REQUIRED, ["Debits", "Credits"]),
        ("journal", JOURNAL_COLUMNS, ["Journal No", "Date", "Account code"], ["Debit", "Credit"]),
    ):
        rows = read(export_lines(name, today, today))
        assert rows, name
        assert list(rows[0]) == columns
        for column in required:
            assert column in columns
            if column not in ("Debits", "Credits"):
                assert all(row[column] for row in rows), (name, column)
        for row in rows:
            values = [D(row[column]) for column in amounts if row[column]]
            assert values and all(value >= 0 for value in values), (name, row)


def test_xero_references_the_corrected_invoice_and_names_the_tax_rate(worked_order, alice, today):
    case = refunded(worked_order, alice)
    invoice = Invoice.objects.get(order=worked_order, kind=InvoiceKind.SALE)

    notes = read(export_lines("xero", today, today))
    customer = [r for r in notes if r["*CreditNoteNumber"].startswith("CN-")]
    assert {r["Reference"] for r in customer} == {invoice.number}
    assert {r["*TaxType"] for r in customer} == {"10%"}  # TaxCode VAT-10's tax_type
    invoices = read(export_lines("xero-invoices", today, today))
    sale = [r for r in invoices if r["*InvoiceNumber"] == invoice.number]
    assert {r["Reference"] for r in sale} == {worked_order.number}
    assert {(r["*Description"], r["*AccountCode"]) for r in sale} >= {
        ("MUG-01", "2000-ACME"),
        ("TEE-01", "2000-BOLT"),
    }
    assert case.credit_notes.count() == 1


def test_quickbooks_rows_balance_per_journal_and_name_the_vendor(worked_order, alice, today):
    refunded(worked_order, alice)

    rows = read(export_lines("quickbooks", today, today))
    for number in {r["JournalNo"] for r in rows}:
        lines = [r for r in rows if r["JournalNo"] == number]
        assert sum(D(r["Debits"] or "0") for r in lines) == sum(
            D(r["Credits"] or "0") for r in lines
        )
    assert {r["Name"] for r in rows if r["AccountName"].startswith("2000-ACME")} == {
        Vendor.objects.get(code="ACME").name
    }
    assert all(r["Currency"] == "EUR" for r in rows)


def test_every_export_is_a_generator(worked_order, alice, today):
    refunded(worked_order, alice)

    for name in ("xero", "xero-invoices", "quickbooks", "journal"):
        lines = export_lines(name, today, today)
        assert inspect.isgenerator(lines)
        assert next(lines).strip()


@pytest.mark.parametrize("reason", ["late_delivery", "damaged"])
def test_a_shipping_refund_is_coded_to_whoever_bears_it(worked_order, alice, today, reason):
    """late_delivery: the platform bears it, less shipping income; damaged:
    the vendors pay its net from their payables (4.44 and 5.56)."""
    drain_ledger()
    case = complete_refund(worked_order, alice, shipping="10.00", reason=reason)
    issue_credit_notes([case])

    assert as_ledger(ledger_movement(today)) == exported_movement(today)
    rows = read(export_lines("xero", today, today))
    coded = {r["*AccountCode"]: D(r["*UnitAmount"]) for r in rows}
    if reason == "damaged":
        assert coded == {"2000-ACME": D("4.44"), "2000-BOLT": D("5.56")}
    else:
        assert coded == {"4100": D("10.00")}
