"""CSV exports for accounting software, by date range, streamed.

- `xero`: credit notes in Xero's sales import layout, one row per credit note
  line. Xero imports a document whose total is negative as a credit note, so
  the unit amount and tax are written negative (XERO_SIGN); *InvoiceNumber is
  the credit note number and Reference the refund case ID.
- `journal`: every ledger entry of the journals dated in the range, one row
  per entry (QuickBooks-style journal import: one of Debit/Credit per row,
  rows of one journal share its number), with the entry's label, the day a
  late item happened (Original date) and who or which process posted it.

Rows are produced by generators over `.iterator(chunk_size=...)` (a
server-side cursor on PostgreSQL) and written through a csv writer whose
"file" just hands each line back, so a year of data streams in constant
memory to an HTTP response or a file.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lib.csvfile import safe_cell
from lib.money import format_amount

from .models import CreditNoteLine, Entry

CHUNK_SIZE = 2000
XERO_SIGN = Decimal(-1)
XERO_DATE_FORMAT = "%d/%m/%Y"

XERO_COLUMNS = [
    "*ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "*InvoiceNumber",
    "Reference",
    "*InvoiceDate",
    "*DueDate",
    "InventoryItemCode",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "Discount",
    "*AccountCode",
    "*TaxType",
    "TaxAmount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
    "BrandingTheme",
]

JOURNAL_COLUMNS = [
    "Journal No",
    "Date",
    "Account code",
    "Account name",
    "Debit",
    "Credit",
    "Currency",
    "Memo",
    "Case ID",
    "Order number",
    "Posting key",
    "Journal type",
    "Entry label",
    "Original date",
    "Posted by",
]


class Echo:
    """A file-like object whose write returns what it is given (no buffering)."""

    def write(self, value: str) -> str:
        return value


# Names and descriptions come from orders, i.e. from outside.
safe_text = safe_cell


# ---------------------------------------------------------------- Xero


def xero_credit_note_rows(
    date_from: date, date_to: date, *, date_format: str = XERO_DATE_FORMAT
) -> Iterator[list[str]]:
    """One row per credit note line of credit notes issued in [date_from, date_to]."""
    yield XERO_COLUMNS
    lines = (
        CreditNoteLine.objects.filter(
            credit_note__issue_date__gte=date_from, credit_note__issue_date__lte=date_to
        )
        .select_related("credit_note")
        .order_by("credit_note__issue_date", "credit_note__number", "position")
    )
    for line in lines.iterator(chunk_size=CHUNK_SIZE):
        yield xero_row(line, date_format)


def xero_row(line: CreditNoteLine, date_format: str = XERO_DATE_FORMAT) -> list[str]:
    note = line.credit_note
    currency = note.currency
    quantity, unit, description = line.quantity, line.unit_amount, line.description
    if unit * quantity != line.net_amount:
        # Xero recomputes quantity × unit: when the unit price does not divide
        # the net exactly, credit one "line" of the exact net instead.
        quantity, unit = 1, line.net_amount
        description = f"{line.quantity} × {description}"
    issued = note.issue_date.strftime(date_format)
    row = {
        "*ContactName": safe_text(note.customer_name),
        "EmailAddress": safe_text(note.customer_email),
        "*InvoiceNumber": note.number,
        "Reference": note.reference,
        "*InvoiceDate": issued,
        "*DueDate": issued,
        "*Description": safe_text(description),
        "*Quantity": str(quantity),
        "*UnitAmount": format_amount(XERO_SIGN * unit, currency),
        "*AccountCode": line.account_code,
        "*TaxType": safe_text(line.tax_type),
        "TaxAmount": format_amount(XERO_SIGN * line.tax_amount, currency),
        "TrackingName1": safe_text(line.tracking_name),
        "TrackingOption1": safe_text(line.tracking_option),
        "Currency": currency,
    }
    return [row.get(column, "") for column in XERO_COLUMNS]


# ---------------------------------------------------------------- journal


def journal_rows(date_from: date, date_to: date) -> Iterator[list[str]]:
    """One row per ledger entry of journals dated in [date_from, date_to]."""
    yield JOURNAL_COLUMNS
    entries = (
        Entry.objects.filter(journal__date__gte=date_from, journal__date__lte=date_to)
        .select_related(
            "journal", "journal__case", "journal__order", "journal__posted_by", "account"
        )
        .order_by("journal__date", "journal_id", "id")
    )
    for entry in entries.iterator(chunk_size=CHUNK_SIZE):
        yield journal_row(entry)


def journal_row(entry: Entry) -> list[str]:
    journal = entry.journal
    currency = entry.currency
    return [
        str(journal.pk),
        journal.date.isoformat(),
        entry.account.code,
        safe_text(entry.account.name),
        format_amount(entry.debit, currency) if entry.debit else "",
        format_amount(entry.credit, currency) if entry.credit else "",
        currency,
        safe_text(journal.memo),
        journal.case.case_id if journal.case_id else "",
        safe_text(journal.order.number) if journal.order_id else "",
        journal.posting_key,
        journal.kind,
        entry.label,
        journal.original_date.isoformat() if journal.original_date else "",
        safe_text(journal.poster),
    ]


# ---------------------------------------------------------------- formats


@dataclass(frozen=True)
class ExportFormat:
    name: str
    label: str
    rows: Callable[[date, date], Iterable[list[str]]]
    permission: str  # needed to download it from the admin


FORMATS: dict[str, ExportFormat] = {
    "xero": ExportFormat(
        "xero", "Xero credit notes (CSV)", xero_credit_note_rows, "ledger.view_creditnote"
    ),
    "journal": ExportFormat(
        "journal", "General journal (CSV)", journal_rows, "ledger.view_journal"
    ),
}


def export_lines(format_name: str, date_from: date, date_to: date) -> Iterator[str]:
    """The export as CSV text, a line at a time (checked now, read lazily)."""
    if format_name not in FORMATS:
        raise ValueError(f"Unknown export format {format_name!r}.")
    if date_from > date_to:
        raise ValueError("The range starts after it ends.")
    return _csv_lines(FORMATS[format_name].rows(date_from, date_to))


def _csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(Echo())
    for row in rows:
        yield writer.writerow(row)


def export_filename(format_name: str, date_from: date, date_to: date) -> str:
    return f"{format_name}-{date_from.isoformat()}-{date_to.isoformat()}.csv"
