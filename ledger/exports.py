"""CSV exports for accounting software, by date range, streamed.

Every export is coded as the ledger books it (ledger/posting.py; the rules and
why in docs/accounting.md, "Exports"), so what an accounting system imports
agrees with the journals of the period:

- `xero` (Xero credit notes, the credit-note import template): the platform's
  customer credit notes and its commission credit notes to vendors, one row
  per line and account. Amounts positive; Reference = the invoice number the
  note corrects; TaxType = the tax code's accounting name (TaxCode.tax_type).
  A goods line is coded as the refund journal debits its net: the part the
  vendor bears and the commission given back to the vendor's payable, the
  part the platform bears to refunds and allowances (or carrier claims, by
  the reason policy); never to sales at full value, as the vendor's goods
  never were the platform's sales. Refunded shipping: the vendor's part to its
  payable, the platform's to shipping income (carrier claims by the policy).
  Credit notes issued on behalf of a vendor that is the seller of record are
  the vendor's documents, not the platform's: they are left out.
- `xero-invoices` (Xero sales invoices, the sales invoice import template):
  the platform's sales invoices (goods to each vendor's payable at their net,
  shipping to whoever earns it) and its commission invoices to vendors
  (commission income). Reference = the order number.
- `quickbooks` (QuickBooks Online journal entries import): every ledger entry
  of the journals dated in the range, one of Debits/Credits per row.
- `journal`: the generic journal, one row per entry, with its label, the day
  a late item happened (Original date) and who or which process posted it.

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

from django.db import router
from django.db.models import Prefetch, Q

from lib.csvfile import safe_cell
from lib.money import ZERO, allocate, format_amount
from refunds.models import Channel, PlatformShareTo, RefundLineKind, ShippingEarner

from .detached import EntriesDetachedError, attached_months_held, require_attached
from .models import (
    Account,
    AccountRole,
    CreditNote,
    CreditNoteLine,
    Entry,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineKind,
)
from .models.journals import JOURNAL_OF_ITS_DATE

CHUNK_SIZE = 2000
XERO_DATE_FORMAT = "%d/%m/%Y"
QUICKBOOKS_DATE_FORMAT = "%d/%m/%Y"

_XERO_CONTACT = [
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
]
_XERO_LINE = [
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
# Xero's credit note import template (Business → Credit notes → Import).
XERO_COLUMNS = [*_XERO_CONTACT, "*CreditNoteNumber", "Reference", "*CreditNoteDate", *_XERO_LINE]
# Xero's sales invoice import template (Business → Invoices → Import).
XERO_INVOICE_COLUMNS = [
    *_XERO_CONTACT,
    "*InvoiceNumber",
    "Reference",
    "*InvoiceDate",
    "*DueDate",
    *_XERO_LINE,
]
# QuickBooks Online: Settings → Import data → Journal entries.
QUICKBOOKS_COLUMNS = [
    "JournalNo",
    "JournalDate",
    "AccountName",
    "Debits",
    "Credits",
    "Description",
    "Name",
    "Currency",
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


# ---------------------------------------------------------------- coding


class AccountCodes:
    """The ledger's account codes by role and vendor, read once per export."""

    def __init__(self) -> None:
        self.single: dict[str, str] = {}
        self.payable: dict[int, str] = {}
        for role, vendor_id, code in Account.objects.order_by("code").values_list(
            "role", "vendor_id", "code"
        ):
            if role == AccountRole.VENDOR_PAYABLE and vendor_id is not None:
                self.payable.setdefault(vendor_id, code)
            else:
                self.single.setdefault(role, code)

    def role(self, role: str) -> str:
        return self.single.get(role, "")

    def payable_for(self, vendor_id: int | None) -> str:
        return self.payable.get(vendor_id, "") if vendor_id is not None else ""

    def platform_cost(self, platform_share_to: str) -> str:
        if platform_share_to == PlatformShareTo.CARRIER_CLAIMS:
            return self.role(AccountRole.CARRIER_CLAIMS)
        return self.role(AccountRole.REFUNDS_AND_ALLOWANCES)


@dataclass(frozen=True)
class Piece:
    """Part of a document line's net and tax coded to one account."""

    account_code: str
    net: Decimal
    tax: Decimal
    note: str = ""


def split_line(
    net: Decimal, tax: Decimal, parts: list[tuple[str, Decimal, str]], currency: str
) -> list[Piece]:
    """`net` and `tax` over (account code, weight, note), largest remainder;
    parts of the same account merge, empty ones go."""
    merged: dict[str, list] = {}
    for code, weight, note in parts:
        if weight > 0:
            entry = merged.setdefault(code, [ZERO, note])
            entry[0] += weight
    if not merged:
        return [Piece(parts[0][0] if parts else "", net, tax)]
    codes = list(merged)
    weights = [merged[code][0] for code in codes]
    nets = allocate(net, weights, currency)
    taxes = allocate(tax, weights, currency)
    return [
        Piece(code, n, t, merged[code][1] if len(codes) > 1 else "")
        for code, n, t in zip(codes, nets, taxes, strict=True)
        if n or t
    ]


def credit_line_pieces(
    line: CreditNoteLine, codes: AccountCodes, currency: str, note_channel: Channel
) -> list[Piece]:
    """A customer credit note line coded as the refund journal debits its net."""
    refund = line.refund_line
    policy = refund.reason.platform_share_to
    if line.kind == RefundLineKind.SHIPPING:
        # As the refund journal's shipping legs: the platform's part is less
        # shipping income when it earned the shipping (unless a carrier is
        # charged), else a cost; the vendors' part comes from their payables,
        # each by the shipping of its part of the case.
        earned_by_platform = note_channel.shipping_earned_by == ShippingEarner.PLATFORM
        if earned_by_platform and policy != PlatformShareTo.CARRIER_CLAIMS:
            platform = codes.role(AccountRole.SHIPPING_INCOME)
        else:
            platform = codes.platform_cost(policy)
        parts = [(platform, refund.platform_share, "borne by the platform")]
        if refund.vendor_share > 0:
            rows: list[tuple[int | None, Decimal]] = [
                (row.vendor_id, row.shipping_amount)
                for row in refund.case.liabilities.all()
                if row.shipping_amount > 0
            ] or [(refund.vendor_id, refund.vendor_share)]
            shipped = sum((amount for _, amount in rows), ZERO)
            parts += [
                (
                    codes.payable_for(vendor_id) or platform,
                    refund.vendor_share * amount / shipped,
                    "borne by the vendor",
                )
                for vendor_id, amount in rows
            ]
    else:
        vendor_id = refund.order_line.vendor_id if refund.order_line else refund.vendor_id
        parts = [
            (
                codes.payable_for(vendor_id),
                refund.vendor_share + refund.commission_reversal,
                "vendor's goods",
            ),
            (
                codes.platform_cost(policy),
                refund.platform_share - refund.commission_reversal,
                "borne by the platform",
            ),
        ]
    return split_line(line.net_amount, line.tax_amount, parts, currency)


def invoice_line_pieces(line: InvoiceLine, codes: AccountCodes) -> list[Piece]:
    """An invoice line coded as the sale journal credits its net."""
    if line.kind == InvoiceLineKind.COMMISSION:
        code = codes.role(AccountRole.COMMISSION_INCOME)
    elif line.kind == InvoiceLineKind.SHIPPING:
        code = (
            codes.payable_for(line.earner_vendor_id)
            if line.earner_vendor_id
            else codes.role(AccountRole.SHIPPING_INCOME)
        )
    else:
        code = codes.payable_for(line.order_line.vendor_id if line.order_line else None)
    return [Piece(code, line.net_amount, line.tax_amount)]


# ---------------------------------------------------------------- Xero


def _address(text: str) -> dict[str, str]:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()][:4]
    return {f"POAddressLine{i}": safe_text(value) for i, value in enumerate(lines, start=1)}


def _xero_line(
    row: dict[str, str],
    piece: Piece,
    *,
    quantity: int,
    unit: Decimal,
    description: str,
    tax_type: str,
    currency: str,
) -> dict[str, str]:
    if quantity != 1 and (unit * quantity != piece.net):
        # Xero recomputes quantity × unit: when the unit price does not give
        # the net exactly, one "line" of the exact net instead.
        description, quantity, unit = f"{quantity} × {description}", 1, piece.net
    if quantity == 1:
        unit = piece.net
    if piece.note:
        description = f"{description} ({piece.note})"
    return {
        **row,
        "*Description": safe_text(description),
        "*Quantity": str(quantity),
        "*UnitAmount": format_amount(unit, currency),
        "*AccountCode": piece.account_code,
        "*TaxType": safe_text(tax_type),
        "TaxAmount": format_amount(piece.tax, currency),
        "Currency": currency,
    }


def _pieces_rows(
    head: dict[str, str],
    pieces: list[Piece],
    line: CreditNoteLine | InvoiceLine,
    currency: str,
    tracking: tuple[str, str] = ("", ""),
) -> Iterator[dict[str, str]]:
    quantity = line.quantity if len(pieces) == 1 else 1
    for piece in pieces:
        row = _xero_line(
            head,
            piece,
            quantity=quantity,
            unit=line.unit_amount,
            description=line.description,
            tax_type=line.tax_type,
            currency=currency,
        )
        row["TrackingName1"], row["TrackingOption1"] = (safe_text(t) for t in tracking)
        yield row


def platform_credit_notes(date_from: date, date_to: date):
    """The platform's own customer credit notes issued in the range (not those
    issued on behalf of a seller-of-record vendor)."""
    return CreditNote.objects.filter(
        Q(invoice__isnull=True) | Q(invoice__seller_vendor__isnull=True),
        issue_date__gte=date_from,
        issue_date__lte=date_to,
    )


def xero_credit_note_rows(
    date_from: date, date_to: date, *, date_format: str = XERO_DATE_FORMAT
) -> Iterator[list[str]]:
    """Xero credit notes: the platform's customer credit notes, then its
    commission credit notes to vendors, issued in [date_from, date_to]."""
    yield XERO_COLUMNS
    codes = AccountCodes()
    notes = (
        platform_credit_notes(date_from, date_to)
        .select_related("invoice", "order__channel")
        .prefetch_related(
            Prefetch(
                "lines",
                CreditNoteLine.objects.select_related(
                    "refund_line__reason", "refund_line__order_line", "refund_line__case"
                )
                .prefetch_related("refund_line__case__liabilities")
                .order_by("position"),
            )
        )
        .order_by("issue_date", "number")
    )
    for note in notes.iterator(chunk_size=CHUNK_SIZE):
        head = {
            "*ContactName": safe_text(note.customer_name),
            "EmailAddress": safe_text(note.customer_email),
            **_address(note.customer_address),
            "*CreditNoteNumber": note.number,
            "Reference": note.invoice.number if note.invoice else safe_text(note.order_number),
            "*CreditNoteDate": note.issue_date.strftime(date_format),
        }
        for line in note.lines.all():
            pieces = credit_line_pieces(line, codes, note.currency, note.order.channel)
            tracking = (line.tracking_name, line.tracking_option)
            for row in _pieces_rows(head, pieces, line, note.currency, tracking):
                yield [row.get(column, "") for column in XERO_COLUMNS]
    for invoice in _invoices(date_from, date_to, [InvoiceKind.COMMISSION_CREDIT]):
        head = {
            "*ContactName": safe_text(invoice.customer_name),
            "EmailAddress": safe_text(invoice.customer_email),
            **_address(invoice.customer_address),
            "*CreditNoteNumber": invoice.number,
            "Reference": invoice.corrects.number if invoice.corrects else "",
            "*CreditNoteDate": invoice.issue_date.strftime(date_format),
        }
        for line in invoice.lines.all():
            for row in _pieces_rows(head, invoice_line_pieces(line, codes), line, invoice.currency):
                yield [row.get(column, "") for column in XERO_COLUMNS]


def _invoices(date_from: date, date_to: date, kinds: list[str]) -> Iterator[Invoice]:
    invoices = (
        Invoice.objects.filter(
            kind__in=kinds,
            seller_vendor__isnull=True,
            issue_date__gte=date_from,
            issue_date__lte=date_to,
        )
        .select_related("corrects")
        .prefetch_related(
            Prefetch("lines", InvoiceLine.objects.select_related("order_line").order_by("position"))
        )
        .order_by("issue_date", "number")
    )
    return invoices.iterator(chunk_size=CHUNK_SIZE)


def xero_invoice_rows(
    date_from: date, date_to: date, *, date_format: str = XERO_DATE_FORMAT
) -> Iterator[list[str]]:
    """Xero sales invoices: the platform's sales invoices and its commission
    invoices issued in [date_from, date_to] (not a seller of record's)."""
    yield XERO_INVOICE_COLUMNS
    codes = AccountCodes()
    for invoice in _invoices(date_from, date_to, [InvoiceKind.SALE, InvoiceKind.COMMISSION]):
        issued = invoice.issue_date.strftime(date_format)
        head = {
            "*ContactName": safe_text(invoice.customer_name),
            "EmailAddress": safe_text(invoice.customer_email),
            **_address(invoice.customer_address),
            "*InvoiceNumber": invoice.number,
            "Reference": safe_text(invoice.order_number),
            "*InvoiceDate": issued,
            # Paid when ordered (sales) or settled from the payable (commission).
            "*DueDate": issued,
        }
        for line in invoice.lines.all():
            for row in _pieces_rows(head, invoice_line_pieces(line, codes), line, invoice.currency):
                yield [row.get(column, "") for column in XERO_INVOICE_COLUMNS]


# ---------------------------------------------------------------- journals


def _entries(date_from: date, date_to: date) -> Iterator[Entry]:
    # Checked and read with no month detached in between (ledger.detached),
    # streamed from a cursor of the block's transaction.
    with attached_months_held(router.db_for_read(Entry)):
        require_attached(date_from, f"The journal export from {date_from:%Y-%m-%d}")
        entries = (
            Entry.objects.filter(JOURNAL_OF_ITS_DATE, date__gte=date_from, date__lte=date_to)
            .select_related(
                "journal",
                "journal__case",
                "journal__order",
                "journal__posted_by",
                "account",
                "account__vendor",
            )
            .order_by("date", "journal_id", "id")
        )
        yield from entries.iterator(chunk_size=CHUNK_SIZE)


def journal_rows(date_from: date, date_to: date) -> Iterator[list[str]]:
    """One row per ledger entry of journals dated in [date_from, date_to]."""
    yield JOURNAL_COLUMNS
    for entry in _entries(date_from, date_to):
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
        journal.case.case_id if journal.case else "",
        safe_text(journal.order.number) if journal.order else "",
        journal.posting_key,
        journal.kind,
        entry.label,
        journal.original_date.isoformat() if journal.original_date else "",
        safe_text(journal.poster),
    ]


def quickbooks_rows(
    date_from: date, date_to: date, *, date_format: str = QUICKBOOKS_DATE_FORMAT
) -> Iterator[list[str]]:
    """QuickBooks Online journal entries: rows of one journal share its
    JournalNo; Name is the vendor of a payable or receivable line."""
    yield QUICKBOOKS_COLUMNS
    for entry in _entries(date_from, date_to):
        journal, account, currency = entry.journal, entry.account, entry.currency
        memo = journal.memo
        if journal.case_id:
            memo = f"{memo} ({entry.label})" if memo else entry.label
        yield [
            str(journal.pk),
            journal.date.strftime(date_format),
            safe_text(f"{account.code} {account.name}"),
            format_amount(entry.debit, currency) if entry.debit else "",
            format_amount(entry.credit, currency) if entry.credit else "",
            safe_text(memo),
            safe_text(account.vendor.name) if account.vendor is not None else "",
            currency,
        ]


# ---------------------------------------------------------------- formats


@dataclass(frozen=True)
class ExportFormat:
    name: str
    label: str
    rows: Callable[[date, date], Iterable[list[str]]]
    permission: str  # needed to download it (admin and API)


FORMATS: dict[str, ExportFormat] = {
    "xero": ExportFormat(
        "xero", "Xero credit notes (CSV)", xero_credit_note_rows, "ledger.view_creditnote"
    ),
    "xero-invoices": ExportFormat(
        "xero-invoices", "Xero sales invoices (CSV)", xero_invoice_rows, "ledger.view_invoice"
    ),
    "quickbooks": ExportFormat(
        "quickbooks",
        "QuickBooks Online journal entries (CSV)",
        quickbooks_rows,
        "ledger.view_journal",
    ),
    "journal": ExportFormat(
        "journal", "General journal (CSV)", journal_rows, "ledger.view_journal"
    ),
}


# Formats that read the entries themselves: not of detached months (ledger.detached).
ENTRY_FORMATS = ("quickbooks", "journal")


def export_lines(format_name: str, date_from: date, date_to: date) -> Iterator[str]:
    """The export as CSV text, a line at a time (checked now, read lazily)."""
    if format_name not in FORMATS:
        raise ValueError(f"Unknown export format {format_name!r}.")
    if date_from > date_to:
        raise ValueError("The range starts after it ends.")
    if format_name in ENTRY_FORMATS:
        # Refused now, before the response starts; the read checks again, with
        # no detach in between (_entries).
        try:
            require_attached(date_from, f"The {format_name} export from {date_from:%Y-%m-%d}")
        except EntriesDetachedError as error:
            raise ValueError(error.message) from error
    return _csv_lines(FORMATS[format_name].rows(date_from, date_to))


def _csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(Echo())
    for row in rows:
        yield writer.writerow(row)


def export_filename(format_name: str, date_from: date, date_to: date) -> str:
    return f"{format_name}-{date_from.isoformat()}-{date_to.isoformat()}.csv"
