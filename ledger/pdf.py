"""The credit note as a PDF the customer can receive (reportlab platypus).

Amounts are printed with lib.money.format_amount, so the PDF shows exactly the
figures stored (and exported), in the currency's minor digits.
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from lib.money import CurrencyError, format_amount

from .models import CreditNote, CreditNoteSettings


def credit_note_pdf(credit_note: CreditNote) -> bytes:
    """The credit note, one or more A4 pages, as PDF bytes."""
    buffer = BytesIO()
    platform = CreditNoteSettings.load().platform_name
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"Credit note {credit_note.number}",
        author=platform,
        subject=f"Refund {credit_note.reference} on order {credit_note.order_number}",
        # Same credit note, same bytes: no creation timestamp or random ID.
        invariant=1,
    )
    styles = getSampleStyleSheet()
    document.build(
        [
            Paragraph(text(platform), styles["Title"]),
            Paragraph(f"Credit note {text(credit_note.number)}", styles["Heading2"]),
            header_table(credit_note),
            Spacer(1, 8 * mm),
            lines_table(credit_note, styles["BodyText"]),
            Spacer(1, 4 * mm),
            totals_table(credit_note),
            Spacer(1, 8 * mm),
            Paragraph(
                text(
                    f"This credit note documents the refund {credit_note.reference} of "
                    f"{money(credit_note.total_amount, credit_note.currency)} on order "
                    f"{credit_note.order_number}."
                ),
                styles["BodyText"],
            ),
        ]
    )
    return buffer.getvalue()


def text(value: object) -> str:
    # Paragraphs parse markup: a customer called "A & <B>" must print as such.
    return escape(str(value))


def money(amount: Decimal, currency: str) -> str:
    try:
        return f"{format_amount(amount, currency)} {currency}"
    except CurrencyError:
        return f"{amount} {currency}"


def percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def header_table(note: CreditNote) -> Table:
    customer = note.customer_name + (f" <{note.customer_email}>" if note.customer_email else "")
    rows = [
        ["Credit note number", note.number],
        ["Date", note.issue_date.isoformat()],
        ["Refund reference", note.reference],
        ["Original order", note.order_number],
        ["Customer", customer],
        ["Currency", note.currency],
    ]
    table = Table(rows, colWidths=[45 * mm, None], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def lines_table(note: CreditNote, body: ParagraphStyle) -> Table:
    small = ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10)
    currency = note.currency
    rows: list[list[object]] = [["Description", "Qty", "Unit (net)", "Tax rate", "Tax", "Total"]]
    for line in note.lines.order_by("position"):
        rows.append(
            [
                Paragraph(text(line.description), small),
                str(line.quantity),
                format_amount(line.unit_amount, currency),
                percent(line.tax_rate),
                format_amount(line.tax_amount, currency),
                format_amount(line.gross_amount, currency),
            ]
        )
    table = Table(
        rows,
        colWidths=[None, 14 * mm, 24 * mm, 18 * mm, 22 * mm, 24 * mm],
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def totals_table(note: CreditNote) -> Table:
    currency = note.currency
    rows = [
        ["Net", money(note.net_amount, currency)],
        ["Tax", money(note.tax_amount, currency)],
        ["Total credited", money(note.total_amount, currency)],
    ]
    table = Table(rows, colWidths=[40 * mm, 40 * mm], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black),
            ]
        )
    )
    return table
