"""The tax report: the platform's documents per tax code, jurisdiction and
currency over a period, tied out to its output-tax accounts.

Documents are those the platform issues in its own name (as the output-tax
invariant reads them, ledger.invariants.documents): its sales invoices (the
goods of facilitator vendors, its shipping) and commission invoices are sales;
its customer credit notes (of its invoices, or older than invoices) and
commission credit notes are credits. Documents issued on a seller-of-record
vendor's behalf carry the vendor's tax, not the platform's, and are left out.

The tie-out column is the movement (credit - debit) of the output-tax accounts
of the tax code and currency over the same dates; `difference` = tax on the
documents - that movement, zero on consistent books. Output-tax accounts of no
tax code (posted before tax codes) show as a row of their own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from lib.errors import DomainError
from lib.money import ZERO, quantize

from ..models import (
    AccountDay,
    AccountRole,
    CreditNoteLine,
    InvoiceKind,
    InvoiceLine,
    TaxCode,
)
from .base import Column, Report
from .rates import RateTable, reporting_currency

NO_CODE = "(no tax code)"

COLUMNS = [
    Column("tax_code", "Tax code"),
    Column("jurisdiction", "Jurisdiction"),
    Column("currency", "Currency"),
    Column("sales", "Sales (taxable net)", "currency"),
    Column("credits", "Credits (net)", "currency"),
    Column("net", "Net", "currency"),
    Column("tax", "Tax", "currency"),
    Column("booked_tax", "Output-tax account movement", "currency"),
    Column("difference", "Difference", "currency"),
]
REPORTING_COLUMNS = [
    Column("reporting_net", "Net (reporting)"),
    Column("reporting_tax", "Tax (reporting)"),
    Column("reporting_booked_tax", "Output-tax movement (reporting)"),
]

_FIELDS = ("sales", "credits", "sales_tax", "credit_tax", "booked_tax")


def tax_report(*, date_from: date, date_to: date, convert: bool = True) -> Report:
    """Sales, credits, net and tax per (tax code, currency) issued from
    `date_from` to `date_to` (both included), with the output-tax movement of
    the same dates; in the reporting currency too (rates of `date_to`) when
    `convert`."""
    if date_from > date_to:
        raise DomainError("date_from", "date_from must be on or before date_to.")
    sums: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(_FIELDS, ZERO)
    )
    invoice_lines = (
        InvoiceLine.objects.filter(
            invoice__seller_vendor__isnull=True,
            invoice__issue_date__gte=date_from,
            invoice__issue_date__lte=date_to,
        )
        .values("tax_code", "invoice__currency", "invoice__kind")
        .annotate(net=Sum("net_amount"), tax=Sum("tax_amount"))
        .order_by()
    )
    for row in invoice_lines:
        bucket = sums[(row["tax_code"] or NO_CODE, row["invoice__currency"])]
        credit = row["invoice__kind"] == InvoiceKind.COMMISSION_CREDIT
        bucket["credits" if credit else "sales"] += row["net"]
        bucket["credit_tax" if credit else "sales_tax"] += row["tax"]
    credit_lines = (
        CreditNoteLine.objects.filter(
            Q(credit_note__invoice__isnull=True)
            | Q(credit_note__invoice__seller_vendor__isnull=True),
            credit_note__issue_date__gte=date_from,
            credit_note__issue_date__lte=date_to,
        )
        .values("tax_code", "credit_note__currency")
        .annotate(net=Sum("net_amount"), tax=Sum("tax_amount"))
        .order_by()
    )
    for row in credit_lines:
        bucket = sums[(row["tax_code"] or NO_CODE, row["credit_note__currency"])]
        bucket["credits"] += row["net"]
        bucket["credit_tax"] += row["tax"]
    # From the daily totals: the entries' sums, kept when old entries months
    # are detached (ledger.detached).
    booked = (
        AccountDay.objects.filter(
            account__role=AccountRole.OUTPUT_TAX,
            date__gte=date_from,
            date__lte=date_to,
        )
        .values("account__tax_code__code", "currency")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
        .order_by()
    )
    for row in booked:
        bucket = sums[(row["account__tax_code__code"] or NO_CODE, row["currency"])]
        bucket["booked_tax"] += row["credit"] - row["debit"]

    jurisdictions = dict(TaxCode.objects.values_list("code", "jurisdiction"))
    rates = RateTable(date_to) if convert else None
    rows = []
    for (code, currency), s in sorted(sums.items()):
        # SQLite sums decimals as floats: back to the currency's minor unit.
        q = {name: quantize(value, currency) for name, value in s.items()}
        tax = q["sales_tax"] - q["credit_tax"]
        row = {
            "tax_code": code,
            "jurisdiction": jurisdictions.get(code, ""),
            "currency": currency,
            "sales": q["sales"],
            "credits": q["credits"],
            "net": q["sales"] - q["credits"],
            "tax": tax,
            "booked_tax": q["booked_tax"],
            "difference": tax - q["booked_tax"],
        }
        if rates is not None:
            row["reporting_net"] = rates.convert(row["net"], currency)
            row["reporting_tax"] = rates.convert(tax, currency)
            row["reporting_booked_tax"] = rates.convert(q["booked_tax"], currency)
        rows.append(row)
    target = reporting_currency()
    return Report(
        title=f"Tax report {date_from:%Y-%m-%d} to {date_to:%Y-%m-%d}",
        columns=COLUMNS + (REPORTING_COLUMNS if convert else []),
        rows=rows,
        reporting_currency=target,
        params={"date_from": f"{date_from:%Y-%m-%d}", "date_to": f"{date_to:%Y-%m-%d}"},
    )
