"""The credit note as a PDF the customer can receive (reportlab platypus).

Amounts are printed with lib.money.format_amount, so the PDF shows exactly the
figures stored (and exported), in the currency's minor digits. Names,
addresses and descriptions print in any script: see ledger.fonts.

The note names its issuer (IssuerProfile: legal name, address, VAT ID,
email), the customer with their address, the original order it credits and
the reasons of the refunded lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from lib.money import CurrencyError, format_amount

from .fonts import base_font, markup, pdf_styles
from .models import CreditNote, CreditNoteLine, CreditNoteSettings, IssuerProfile


def a4_document(
    buffer: BytesIO, *, margin: float, title: str, author: str, subject: str | None = None
) -> SimpleDocTemplate:
    """An A4 document with the same margin all round that writes the same bytes for the
    same content: no creation timestamp or random ID."""
    return SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=title,
        author=author,
        subject=subject,
        invariant=1,
    )


def credit_note_pdf(credit_note: CreditNote) -> bytes:
    """The credit note, one or more A4 pages, as PDF bytes."""
    buffer = BytesIO()
    platform = CreditNoteSettings.load().platform_name
    issuer = IssuerProfile.load()
    issuer_name = issuer.legal_name or platform
    document = a4_document(
        buffer,
        margin=18 * mm,
        title=f"Credit note {credit_note.number}",
        author=issuer_name,
        subject=f"Refund {credit_note.reference} on order {credit_note.order_number}",
    )
    styles = pdf_styles()
    lines = list(credit_note.lines.select_related("refund_line__reason").order_by("position"))
    document.build(
        [
            Paragraph(markup(issuer_name), styles["title"]),
            *issuer_block(issuer),
            Paragraph(f"Credit note {markup(credit_note.number)}", styles["heading"]),
            header_table(credit_note, credit_reasons(lines)),
            Spacer(1, 8 * mm),
            lines_table(credit_note, lines),
            Spacer(1, 4 * mm),
            totals_table(credit_note),
            Spacer(1, 8 * mm),
            Paragraph(
                markup(
                    f"This credit note documents the refund {credit_note.reference} of "
                    f"{money(credit_note.total_amount, credit_note.currency)} on order "
                    f"{credit_note.order_number}."
                ),
                styles["body"],
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


def credit_reasons(lines: list[CreditNoteLine]) -> list[str]:
    """The refund reasons of the credited lines, each once, in line order."""
    labels = [line.refund_line.reason.label for line in lines]
    return list(dict.fromkeys(labels))


def issuer_block(issuer: IssuerProfile) -> list[Paragraph]:
    rows = [issuer.address.strip()] if issuer.address.strip() else []
    if issuer.vat_id:
        rows.append(f"VAT ID: {issuer.vat_id}")
    if issuer.email:
        rows.append(issuer.email)
    if not rows:
        return [Spacer(1, 2 * mm)]
    return [Paragraph(markup("\n".join(rows)), pdf_styles()["cell"]), Spacer(1, 4 * mm)]


def header_table(note: CreditNote, reasons: list[str]) -> Table:
    cell = pdf_styles()["cell"]
    rows = [
        ["Credit note number", note.number],
        ["Date", note.issue_date.isoformat()],
        ["Original order", note.order_number],
        ["Refund reference", note.reference],
        ["Customer", note.customer_name],
    ]
    if note.customer_email:
        rows.append(["Customer email", note.customer_email])
    if note.customer_address.strip():
        rows.append(["Customer address", note.customer_address.strip()])
    rows.append(["Reason for credit", "; ".join(reasons)])
    rows.append(["Currency", note.currency])
    table = Table(
        [[label, Paragraph(markup(value), cell)] for label, value in rows],
        colWidths=[45 * mm, None],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (0, -1), base_font(bold=True)),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def lines_table(note: CreditNote, lines: list[CreditNoteLine]) -> Table:
    styles = pdf_styles()
    currency = note.currency
    rows: list[list[object]] = [["Description", "Qty", "Unit (net)", "Tax rate", "Tax", "Total"]]
    for line in lines:
        rows.append(
            [
                [
                    Paragraph(markup(line.description), styles["cell"]),
                    Paragraph(markup(f"Reason: {line.refund_line.reason.label}"), styles["note"]),
                ],
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
    table.setStyle(grid_style(8.5, right_from=1, extra=[("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def totals_table(note: CreditNote) -> Table:
    currency = note.currency
    rows = [
        ["Net", money(note.net_amount, currency)],
        ["Tax", money(note.tax_amount, currency)],
        ["Total credited", money(note.total_amount, currency)],
    ]
    table = Table(rows, colWidths=[40 * mm, 40 * mm], hAlign="RIGHT")
    table.setStyle(totals_style())
    return table


# ---------------------------------------------------------------- table styles
# Shared by the credit note and the settlement statement PDFs.


def totals_style() -> TableStyle:
    """Label and amount rows, amounts right-aligned, the last row (the total)
    bold under a rule."""
    return TableStyle(
        [
            ("ALIGN", (1, 0), (1, -1), "RIGHT"),
            ("FONTNAME", (0, 0), (-1, -1), base_font()),
            ("FONTSIZE", (0, 0), (-1, -1), 9),
            ("FONTNAME", (0, -1), (-1, -1), base_font(bold=True)),
            ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black),
        ]
    )


def grid_style(
    font_size: float, *, right_from: int, extra: Sequence[tuple[Any, ...]] = ()
) -> TableStyle:
    """A table of lines: a shaded bold header row, hairlines between the rows,
    the columns from `right_from` on right-aligned, then `extra` commands."""
    return TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), base_font()),
            ("FONTNAME", (0, 0), (-1, 0), base_font(bold=True)),
            ("FONTSIZE", (0, 0), (-1, -1), font_size),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
            ("ALIGN", (right_from, 0), (-1, -1), "RIGHT"),
            *extra,
        ]
    )
