"""Invoices and credit notes as PDFs the customer (or vendor) can receive
(reportlab platypus).

Amounts are printed with lib.money.format_amount, so the PDF shows exactly the
figures stored (and exported), in the currency's minor digits. Names,
addresses and descriptions print in any script: see ledger.fonts.

An invoice names its seller as issued (the platform, or the vendor that is
seller of record, on whose behalf the platform issues it), the customer, its
lines, the tax per rate and the totals. A credit note names its issuer (the
seller of the invoice it corrects; the IssuerProfile for notes older than
invoices), the customer with their address, the invoice and order it credits,
the reasons of the refunded lines, the tax per rate and where the money went
back (one row per payment method).
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
from .invoices import TaxRow, tax_summary
from .models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteSettings,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    IssuerProfile,
)


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
    invoice = credit_note.invoice
    if invoice is not None:
        issuer_name = invoice.seller_name
        issuer_rows = seller_rows(invoice)
    else:
        issuer = IssuerProfile.load()
        issuer_name = issuer.legal_name or CreditNoteSettings.load().platform_name
        issuer_rows = party_rows(issuer.address, issuer.vat_id, issuer.email)
    document = a4_document(
        buffer,
        margin=18 * mm,
        title=f"Credit note {credit_note.number}",
        author=issuer_name,
        subject=f"Refund {credit_note.reference} on order {credit_note.order_number}",
    )
    styles = pdf_styles()
    lines = list(credit_note.lines.select_related("refund_line__reason").order_by("position"))
    refunds = refund_rows(credit_note)
    document.build(
        [
            Paragraph(markup(issuer_name), styles["title"]),
            *address_block(issuer_rows),
            *on_behalf(invoice),
            Paragraph(f"Credit note {markup(credit_note.number)}", styles["heading"]),
            header_table(credit_note, credit_reasons(lines)),
            Spacer(1, 8 * mm),
            lines_table(credit_note, lines),
            Spacer(1, 4 * mm),
            summary_table(tax_summary(lines), credit_note.currency),
            Spacer(1, 4 * mm),
            totals_table(credit_note),
            Spacer(1, 6 * mm),
            refunds_table(refunds, credit_note.currency),
            Spacer(1, 8 * mm),
            Paragraph(
                markup(
                    f"This credit note documents the refund {credit_note.reference} of "
                    f"{money(credit_note.total_amount, credit_note.currency)} on order "
                    f"{credit_note.order_number}"
                    + (f", correcting invoice {invoice.number}." if invoice else ".")
                ),
                styles["body"],
            ),
        ]
    )
    return buffer.getvalue()


def refund_rows(note: CreditNote) -> list[tuple[str, str, Decimal]]:
    """(payment method, bank account, amount) of each refund row; a note issued
    before refund rows existed names its one method for the whole total."""
    rows = [
        (r.get_payment_method_display(), r.bank_account_code, r.amount)
        for r in note.refunds.order_by("position")
    ]
    if not rows and note.payment_method:
        rows = [(note.get_payment_method_display(), note.bank_account_code, note.total_amount)]
    return rows


def refunds_table(rows: list[tuple[str, str, Decimal]], currency: str) -> Table | Spacer:
    if not rows:
        return Spacer(1, 0)
    table = Table(
        [["Refunded to", "Bank account", "Amount"]]
        + [[method, bank or "", format_amount(amount, currency)] for method, bank, amount in rows],
        colWidths=[50 * mm, 40 * mm, 30 * mm],
        hAlign="RIGHT",
    )
    table.setStyle(grid_style(8.5, right_from=2))
    return table


INVOICE_TITLES = {
    InvoiceKind.SALE: "Invoice",
    InvoiceKind.COMMISSION: "Commission invoice",
    InvoiceKind.COMMISSION_CREDIT: "Commission credit note",
}


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice (or commission credit note), one or more A4 pages, as PDF bytes."""
    buffer = BytesIO()
    title = INVOICE_TITLES.get(invoice.kind, "Invoice")
    document = a4_document(
        buffer,
        margin=18 * mm,
        title=f"{title} {invoice.number}",
        author=invoice.seller_name,
        subject=f"Order {invoice.order_number}",
    )
    styles = pdf_styles()
    lines = list(invoice.lines.order_by("position"))
    total_label = "Total credited" if invoice.kind == InvoiceKind.COMMISSION_CREDIT else "Total"
    document.build(
        [
            Paragraph(markup(invoice.seller_name), styles["title"]),
            *address_block(seller_rows(invoice)),
            *on_behalf(invoice),
            Paragraph(f"{title} {markup(invoice.number)}", styles["heading"]),
            invoice_header_table(invoice, title),
            Spacer(1, 8 * mm),
            invoice_lines_table(invoice, lines),
            Spacer(1, 4 * mm),
            summary_table(tax_summary(lines), invoice.currency),
            Spacer(1, 4 * mm),
            amounts_table(
                invoice.net_amount,
                invoice.tax_amount,
                invoice.total_amount,
                invoice.currency,
                total_label,
            ),
        ]
    )
    return buffer.getvalue()


def invoice_header_table(invoice: Invoice, title: str) -> Table:
    rows = [
        [f"{title} number", invoice.number],
        ["Date", invoice.issue_date.isoformat()],
        ["Order", invoice.order_number],
    ]
    if invoice.reference:
        rows.append(["Refund reference", invoice.reference])
    if invoice.corrects_id is not None:
        rows.append(["Corrects invoice", invoice.corrects.number])  # type: ignore[union-attr]
    rows.append(
        ["Billed to" if invoice.kind != InvoiceKind.SALE else "Customer", invoice.customer_name]
    )
    if invoice.customer_email:
        rows.append(["Email", invoice.customer_email])
    if invoice.customer_address.strip():
        rows.append(["Address", invoice.customer_address.strip()])
    if invoice.customer_vat_id:
        rows.append(["VAT ID", invoice.customer_vat_id])
    rows.append(["Currency", invoice.currency])
    return label_table(rows)


def invoice_lines_table(invoice: Invoice, lines: list[InvoiceLine]) -> Table:
    cell = pdf_styles()["cell"]
    return document_lines_table(
        invoice.currency, [(Paragraph(markup(line.description), cell), line) for line in lines]
    )


def document_lines_table(
    currency: str, lines: Sequence[tuple[object, InvoiceLine | CreditNoteLine]]
) -> Table:
    """A document's lines, each (its description cell, the line): quantity,
    unit price, tax rate, tax and total."""
    rows: list[list[object]] = [["Description", "Qty", "Unit (net)", "Tax rate", "Tax", "Total"]]
    for description, line in lines:
        rows.append(
            [
                description,
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


def summary_table(rows: list[TaxRow], currency: str) -> Table:
    """Net and tax per rate."""
    table = Table(
        [["Tax rate", "Tax code", "Net", "Tax"]]
        + [
            [
                percent(row.rate),
                row.tax_code,
                format_amount(row.net, currency),
                format_amount(row.tax, currency),
            ]
            for row in rows
        ],
        colWidths=[22 * mm, 34 * mm, 30 * mm, 26 * mm],
        hAlign="RIGHT",
    )
    table.setStyle(grid_style(8.5, right_from=2))
    return table


def on_behalf(invoice: Invoice | None) -> list[Paragraph | Spacer]:
    """A line saying the platform issues a seller-of-record vendor's document."""
    if invoice is None or invoice.seller_vendor_id is None:
        return []
    platform = IssuerProfile.load().legal_name or CreditNoteSettings.load().platform_name
    return [
        Paragraph(
            markup(f"Issued by {platform} on behalf of {invoice.seller_name}."),
            pdf_styles()["note"],
        ),
        Spacer(1, 3 * mm),
    ]


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


def party_rows(address: str, vat_id: str, email: str = "") -> list[str]:
    rows = [address.strip()] if address.strip() else []
    if vat_id:
        rows.append(f"VAT ID: {vat_id}")
    if email:
        rows.append(email)
    return rows


def seller_rows(invoice: Invoice) -> list[str]:
    """The seller's address and VAT ID as issued; the platform's e-mail too."""
    email = IssuerProfile.load().email if invoice.seller_vendor_id is None else ""
    return party_rows(invoice.seller_address, invoice.seller_vat_id, email)


def address_block(rows: list[str]) -> list[Paragraph | Spacer]:
    if not rows:
        return [Spacer(1, 2 * mm)]
    return [Paragraph(markup("\n".join(rows)), pdf_styles()["cell"]), Spacer(1, 4 * mm)]


def issuer_block(issuer: IssuerProfile) -> list[Paragraph | Spacer]:
    return address_block(party_rows(issuer.address, issuer.vat_id, issuer.email))


def header_table(note: CreditNote, reasons: list[str]) -> Table:
    rows = [
        ["Credit note number", note.number],
        ["Date", note.issue_date.isoformat()],
    ]
    if note.invoice_id is not None:
        rows.append(["Corrects invoice", note.invoice.number])  # type: ignore[union-attr]
    rows += [
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
    return label_table(rows)


def label_table(rows: list[list[str]]) -> Table:
    cell = pdf_styles()["cell"]
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
    return document_lines_table(
        note.currency,
        [
            (
                [
                    Paragraph(markup(line.description), styles["cell"]),
                    Paragraph(markup(f"Reason: {line.refund_line.reason.label}"), styles["note"]),
                ],
                line,
            )
            for line in lines
        ],
    )


def totals_table(note: CreditNote) -> Table:
    return amounts_table(
        note.net_amount, note.tax_amount, note.total_amount, note.currency, "Total credited"
    )


def amounts_table(
    net: Decimal, tax: Decimal, total: Decimal, currency: str, total_label: str
) -> Table:
    rows = [
        ["Net", money(net, currency)],
        ["Tax", money(tax, currency)],
        [total_label, money(total, currency)],
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
