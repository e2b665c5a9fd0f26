"""A settlement statement as CSV (streamed, any size) and as PDF.

The CSV has one row per entry between an opening and a closing row, with the
running balance, and is produced from `values_list` tuples over a server-side
cursor (`.iterator(chunk_size=...)`): no model instances, constant memory,
written out a chunk of rows at a time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from io import BytesIO

from django.db import router
from django.db.models import CharField, F, QuerySet, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Round
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from lib.csvfile import safe_cell
from lib.money import exponent, quantize
from lib.planning import key_lookups

from ..detached import attached_months_held
from ..fonts import markup, needs_markup, pdf_styles
from ..models import CreditNoteSettings, Entry, InvoiceKind, SettlementStatement
from ..pdf import a4_document, grid_style, money, totals_style
from .compute import (
    LINE_FIELDS,
    LINE_LABELS,
    line_from_row,
    running_owed,
    statement_documents,
    statement_entries,
)

CHUNK_SIZE = 2000
# Rows per piece of text handed to the response: few enough writes, small pieces.
ROWS_PER_WRITE = 500
# A PDF is for reading: past this many lines it says to take the CSV.
PDF_MAX_LINES = 1000
PDF_TABLE_ROWS = 50

CSV_COLUMNS = [
    "Date",
    "Type",
    "Reference",
    "Case ID",
    "Order number",
    "Payout reference",
    "Description",
    "Amount",
    "Balance",
    "Currency",
]


def statement_filename(statement: SettlementStatement, extension: str) -> str:
    return (
        f"statement-{statement.vendor.code}-{statement.currency}-"
        f"{statement.period_start:%Y%m%d}-{statement.period_end:%Y%m%d}.{extension}"
    )


def statement_csv(statement: SettlementStatement) -> Iterator[str]:
    """The statement as CSV text, ROWS_PER_WRITE rows a piece.

    The database formats the dates and amounts and keeps the running balance
    (decimal arithmetic and formatting were most of the time per row in
    Python); labels, references and escaping stay here, as on the HTML page.
    """
    currency = statement.currency
    places = exponent(currency)
    start = statement.period_start.isoformat()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    opening = str(quantize(statement.opening, currency))
    writer.writerow(_balance_row(start, "Opening balance", opening, currency))
    batch: list[tuple[str, ...]] = []
    # In a transaction (attached_months_held opens one: no month is detached
    # between the statement's check in statement_entries and its rows), the
    # cursor streams rows as they are made, instead of the whole result being
    # stored first (a cursor WITH HOLD in autocommit); key_lookups plans the
    # read as lookups by key (lib.planning). On the connection the rows are
    # read from: the replica inside lib.replica.reading_from_replica(), else
    # "default".
    alias = router.db_for_read(Entry)
    with attached_months_held(alias), key_lookups(alias):
        rows = _csv_rows(statement, places)
        for day, kind, reference, case_id, order, payout, memo, amount, balance in rows.iterator(
            chunk_size=CHUNK_SIZE
        ):
            if day < start:
                memo += f" (dated {day}, posted after the previous statement)"
            batch.append(
                (
                    day,
                    LINE_LABELS.get(kind, kind),
                    cell(reference),
                    case_id or "",
                    cell(order or ""),
                    cell(payout or ""),
                    cell(memo),
                    amount,
                    balance,
                    currency,
                )
            )
            if len(batch) == ROWS_PER_WRITE:
                writer.writerows(batch)
                batch.clear()
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    writer.writerows(batch)
    closing = str(quantize(statement.closing, currency))
    end = statement.period_end.isoformat()
    writer.writerow(_balance_row(end, "Closing balance", closing, currency))
    yield buffer.getvalue()


def _csv_rows(statement: SettlementStatement, places: int) -> QuerySet[Entry, tuple]:
    """The statement's lines as the CSV's cells, formatted by the database."""
    return (
        statement_entries(statement)
        .annotate(
            day=Cast("date", CharField()),
            amount=as_text(F("credit") - F("debit"), places),
            balance=as_text(running_owed() + Value(statement.opening), places),
        )
        .values_list(
            "day",
            "journal__kind",
            "reference",
            "journal__case__case_id",
            "journal__order__number",
            "journal__payout__reference",
            "journal__memo",
            "amount",
            "balance",
        )
    )


# A spreadsheet must not run a name or memo.
cell = safe_cell


def as_text(amount: Combinable, places: int) -> Cast:
    # Amounts are stored in minor units already: round() only sets the digits.
    return Cast(Round(amount, places), CharField())


def _balance_row(day: str, label: str, balance: str, currency: str) -> list[str]:
    row = dict.fromkeys(CSV_COLUMNS, "")
    row.update({"Date": day, "Type": label, "Balance": balance, "Currency": currency})
    return list(row.values())


# ---------------------------------------------------------------- PDF


def statement_pdf(statement: SettlementStatement) -> bytes:
    """The statement on A4 pages: summary, then up to PDF_MAX_LINES lines."""
    buffer = BytesIO()
    platform = CreditNoteSettings.load().platform_name
    vendor = statement.vendor
    period = f"{statement.period_start.isoformat()} to {statement.period_end.isoformat()}"
    document = a4_document(
        buffer,
        margin=15 * mm,
        title=f"Settlement statement {vendor.code} {statement.currency} {period}",
        author=platform,
    )
    styles = pdf_styles()
    lines = list(_pdf_lines(statement))
    story = [
        Paragraph(markup(platform), styles["title"]),
        Paragraph(
            markup(f"Settlement statement · {vendor.name} ({vendor.code})"), styles["heading"]
        ),
        Paragraph(
            markup(f"{period} · {statement.get_frequency_display()} · {statement.currency}"),
            styles["body"],
        ),
        Spacer(1, 4 * mm),
        _summary_table(statement),
        Spacer(1, 6 * mm),
        *_lines_tables(lines),
        *_documents_table(statement),
    ]
    if statement.entry_count > PDF_MAX_LINES:
        story.append(
            Paragraph(
                markup(
                    f"The first {PDF_MAX_LINES:,} of {statement.entry_count:,} lines are shown; "
                    "download the CSV for all of them."
                ),
                styles["body"],
            )
        )
    if statement.closing < 0:
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph(markup(NEGATIVE_NOTE), styles["body"]))
    document.build(story)
    return buffer.getvalue()


NEGATIVE_NOTE = (
    "The closing balance is negative: you owe it. It is carried forward as the opening "
    "balance of your next statement and set off against what you earn then; nothing is "
    "paid out until the balance is positive again."
)


def _documents_table(statement: SettlementStatement) -> list[Paragraph | Spacer | Table]:
    """The commission invoices and credit notes issued in the period."""
    documents = list(statement_documents(statement))
    if not documents:
        return []
    currency = statement.currency
    rows: list[list[str]] = [["Date", "Document", "Number", "Order", "Net", "Tax", "Total"]]
    for doc in documents:
        sign = -1 if doc.kind == InvoiceKind.COMMISSION_CREDIT else 1
        rows.append(
            [
                doc.issue_date.isoformat(),
                doc.get_kind_display(),
                doc.number,
                cut(doc.order_number, 20),
                money(sign * doc.net_amount, currency),
                money(sign * doc.tax_amount, currency),
                money(sign * doc.total_amount, currency),
            ]
        )
    table = Table(rows, repeatRows=1)
    table.setStyle(grid_style(7.5, right_from=4))
    return [
        Spacer(1, 6 * mm),
        Paragraph(markup("Commission invoices and credit notes"), pdf_styles()["heading"]),
        table,
    ]


def _summary_table(statement: SettlementStatement) -> Table:
    currency = statement.currency
    rows = [
        ["Opening balance", money(statement.opening, currency)],
        ["Sales, net of commission", money(statement.sales, currency)],
        ["Refund deductions", money(-statement.deductions, currency)],
        ["Adjustments", money(statement.adjustments, currency)],
        ["Payouts", money(-statement.payouts, currency)],
        ["Closing balance", money(statement.closing, currency)],
    ]
    table = Table(rows, colWidths=[60 * mm, 40 * mm], hAlign="LEFT")
    table.setStyle(totals_style())
    return table


def _pdf_lines(statement: SettlementStatement) -> Iterator[list[str | Paragraph]]:
    # Plain strings, cut to fit: a Paragraph per cell costs seconds per thousand
    # lines. Only a text the base font cannot print (another script, right to
    # left) becomes a Paragraph.
    currency = statement.currency
    balance = statement.opening
    alias = router.db_for_read(Entry)
    with attached_months_held(alias), key_lookups(alias):
        rows = statement_entries(statement).values_list(*LINE_FIELDS)[:PDF_MAX_LINES]
        lines = [line_from_row(row, statement.period_start) for row in rows]
    for line in lines:
        balance += line.amount
        description = ("(late) " if line.late else "") + line.memo
        yield [
            line.date.isoformat(),
            pdf_cell(cut(line.label, 30)),
            pdf_cell(cut(line.reference, 26)),
            pdf_cell(cut(description, 44)),
            str(quantize(line.amount, currency)),
            str(quantize(balance, currency)),
        ]


def pdf_cell(value: str) -> str | Paragraph:
    return Paragraph(markup(value), pdf_styles()["cell-small"]) if needs_markup(value) else value


def cut(value: str, length: int) -> str:
    return value if len(value) <= length else value[: length - 3] + "..."


def _lines_tables(lines: list[list[str | Paragraph]]) -> list[Table]:
    """The lines as tables of PDF_TABLE_ROWS rows: one long table would be
    measured again at every page break."""
    header = ["Date", "Type", "Reference", "Description", "Amount", "Balance"]
    if not lines:
        lines = [["", "No entries in this period.", "", "", "", ""]]
    tables = []
    for start in range(0, len(lines), PDF_TABLE_ROWS):
        table = Table(
            [header, *lines[start : start + PDF_TABLE_ROWS]],
            colWidths=[19 * mm, 40 * mm, 36 * mm, None, 20 * mm, 20 * mm],
            repeatRows=1,
        )
        table.setStyle(lines_style())
        tables.append(table)
    return tables


def lines_style() -> TableStyle:
    return grid_style(
        7.5,
        right_from=4,
        extra=[("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)],
    )
