"""Exports for accounting software: Xero credit notes and a general journal, by
date range, every row carrying its case ID, streamed."""

import csv
import inspect
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ledger.credit_notes import issue_credit_note
from ledger.exports import XERO_COLUMNS, Piece, _xero_line, export_lines, safe_text
from ledger.models import Invoice, InvoiceKind
from refunds.models import Order
from tests.factories import complete_worked_refund

D = Decimal


def read(lines) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(lines))))


@pytest.fixture
def today():
    return timezone.now().date()


@pytest.fixture
def worked_note(worked_order, alice):
    """ORD-1001's refund (1 mug, 5.50 on the tee), posted and credited."""
    Order.objects.filter(pk=worked_order.pk).update(customer_name="Jane Doe")
    return issue_credit_note(complete_worked_refund(worked_order, alice))


# ---------------------------------------------------------------- Xero


def test_the_xero_csv_has_the_credit_note_template_and_codes_lines_as_the_ledger(
    worked_note, today
):
    rows = read(export_lines("xero", today, today))

    assert list(rows[0]) == XERO_COLUMNS
    commission = Invoice.objects.get(kind=InvoiceKind.COMMISSION_CREDIT)
    assert [
        (r["*CreditNoteNumber"], r["Reference"], r["*Description"], r["*Quantity"],
         r["*UnitAmount"], r["TaxAmount"], r["*AccountCode"], r["Currency"])
        for r in rows
    ] == [
        # The mug: ACME's goods, back from its payable (its share and the commission).
        (worked_note.number, worked_note.invoice.number, "MUG-01", "1", "20.00", "2.00",
         "2000-ACME", "EUR"),
        # The tee: borne by the platform, contra-revenue.
        (worked_note.number, worked_note.invoice.number, "TEE-01", "1", "5.00", "0.50",
         "5000", "EUR"),
        # The commission given back to ACME: the platform's credit note to it.
        (commission.number, commission.corrects.number, rows[2]["*Description"], "1", "2.00",
         "0.00", "4000", "EUR"),
    ]  # fmt: skip
    first = rows[0]
    assert first["*ContactName"] == "Jane Doe"
    assert first["*CreditNoteDate"] == today.strftime("%d/%m/%Y")
    assert first["*TaxType"] == "10%"
    total = sum(D(r["*UnitAmount"]) * int(r["*Quantity"]) + D(r["TaxAmount"]) for r in rows[:2])
    assert total == worked_note.total_amount


def test_the_xero_csv_leaves_out_credit_notes_outside_the_range(worked_note, today):
    before = today - timedelta(days=30)

    assert read(export_lines("xero", before, today - timedelta(days=1))) == []
    assert len(read(export_lines("xero", before, today + timedelta(days=1)))) == 3


def test_a_unit_price_that_does_not_divide_the_net_is_exported_as_one_line():
    row = _xero_line(
        {"*ContactName": safe_text("=HYPERLINK(evil)")},
        Piece("200", D("10.00"), D("1.00")),
        quantity=3,
        unit=D("3.33"),
        description="PEN-03",
        tax_type="10%",
        currency="EUR",
    )

    assert (row["*Quantity"], row["*UnitAmount"], row["*Description"]) == (
        "1",
        "10.00",
        "3 × PEN-03",
    )
    # A name from an order must not become a spreadsheet formula.
    assert row["*ContactName"] == "'=HYPERLINK(evil)"


# ---------------------------------------------------------------- journal


def test_the_journal_csv_has_every_entry_with_its_case_id(worked_note, today):
    rows = read(export_lines("journal", today, today))

    refund = [r for r in rows if r["Journal type"] == "refund"]
    sale = [r for r in rows if r["Journal type"] == "sale"]
    assert {r["Case ID"] for r in refund} == {worked_note.reference}
    assert {r["Order number"] for r in rows} == {"ORD-1001"}
    assert {r["Case ID"] for r in sale} == {""}
    assert {(r["Account code"], r["Debit"], r["Credit"]) for r in refund} == {
        ("2000-ACME", "18.00", ""),
        ("4000", "2.00", ""),
        ("5000", "5.00", ""),
        ("2100-VAT-10-EUR", "2.50", ""),
        ("1100", "", "27.50"),
    }
    assert len(sale) == 6
    for journal in {r["Journal No"] for r in rows}:
        lines = [r for r in rows if r["Journal No"] == journal]
        debit = sum(D(r["Debit"] or "0") for r in lines)
        assert debit == sum(D(r["Credit"] or "0") for r in lines)


def test_the_journal_csv_leaves_out_journals_outside_the_range(worked_note, today):
    assert read(export_lines("journal", today + timedelta(days=1), today + timedelta(days=9))) == []


def test_exports_stream_instead_of_building_the_file(worked_note, today):
    lines = export_lines("journal", today, today)

    assert inspect.isgenerator(lines)
    assert next(lines).startswith("Journal No,Date,")


def test_a_backwards_range_is_refused(today):
    with pytest.raises(ValueError):
        export_lines("xero", today, today - timedelta(days=1))


# ---------------------------------------------------------------- command


def test_the_management_command_writes_the_file(worked_note, today, tmp_path, capsys):
    target = tmp_path / "credit-notes.csv"

    call_command(
        "export_accounting",
        "--format",
        "xero",
        "--from",
        today.isoformat(),
        "--to",
        today.isoformat(),
        "--output",
        str(target),
    )

    rows = read([target.read_text(encoding="utf-8")])
    assert [r["*CreditNoteNumber"] for r in rows][:2] == [worked_note.number] * 2
    assert "Wrote 3 rows" in capsys.readouterr().err


def test_the_management_command_writes_to_standard_output(worked_note, today, capsys):
    call_command(
        "export_accounting", "--format", "journal", "--from", str(today), "--to", str(today)
    )

    rows = read([capsys.readouterr().out])
    assert worked_note.reference in {r["Case ID"] for r in rows}


def test_the_management_command_refuses_a_backwards_range(today):
    with pytest.raises(CommandError):
        call_command(
            "export_accounting",
            "--format",
            "xero",
            "--from",
            str(today),
            "--to",
            str(today - timedelta(days=1)),
        )
