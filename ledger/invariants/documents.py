"""Checks of the documents against the books: the tax the platform states on
its invoices and credit notes is the tax its output-tax accounts hold."""

from __future__ import annotations

from decimal import Decimal

from ..models import InvoiceKind
from .sql import DEFAULT_LIMIT, Finding, _fetch, _findings, _n, _sql

# A date's period (month) as 'YYYY-MM', the same text on PostgreSQL and SQLite.
MONTH = "substr(CAST({column} AS text), 1, 7)"

# The tax of every document the platform issues in its own name, signed:
# + its sales invoices (the goods of facilitator vendors, its shipping) and
# commission invoices; - its customer credit notes (those correcting its
# invoices, and those older than invoices) and commission credit notes.
# Documents issued on a seller-of-record vendor's behalf are the vendor's tax.
PLATFORM_DOCUMENT_TAX = f"""
    SELECT i.order_id, i.case_id, i.currency, {MONTH.format(column="i.issue_date")} AS month,
           l.tax_code, l.tax_rate,
           CASE WHEN i.kind = '{InvoiceKind.COMMISSION_CREDIT.value}'
                THEN -l.tax_amount ELSE l.tax_amount END AS tax
    FROM "{{invoice_line}}" l JOIN "{{invoice}}" i ON i.id = l.invoice_id
    WHERE i.seller_vendor_id IS NULL
    UNION ALL
    SELECT n.order_id, n.case_id, n.currency, {MONTH.format(column="n.issue_date")},
           l.tax_code, l.tax_rate, -l.tax_amount
    FROM "{{credit_note_line}}" l
    JOIN "{{credit_note}}" n ON n.id = l.credit_note_id
    LEFT JOIN "{{invoice}}" i ON i.id = n.invoice_id
    WHERE i.seller_vendor_id IS NULL
"""

# Output-tax accounts that hold one tax code's tax (in one currency, or any).
# A document line's tax belongs to such an account when one exists for its
# code and currency; else to the output-tax accounts of no code (today's one
# account), compared as one group, '' below.
BUCKET = """
    CASE WHEN EXISTS (
        SELECT 1 FROM "{account}" a JOIN "{tax_code}" t ON t.id = a.tax_code_id
        WHERE a.role = {r_output_tax} AND t.code = d.tax_code
          AND (a.currency = d.currency OR a.currency = '')
    ) THEN d.tax_code ELSE '' END
"""


def output_tax_matches_documents(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Tax on the platform's invoices less its credit notes = output-tax movement, per code and month."""
    # A detached month's booked tax is its output-tax accounts' totals recorded
    # at the detach, whatever is pending in the outbox: its documents are then
    # compared whole too (nothing can be posted into a closed month).
    sql = _sql(
        f"""
        WITH {{backlog}},
        documents AS ({PLATFORM_DOCUMENT_TAX}),
        stated AS (
            SELECT d.currency, d.month, {BUCKET} AS code, sum(d.tax) AS tax
            FROM documents d
            WHERE d.month < {{first_attached_month}}
               OR (NOT EXISTS (SELECT 1 FROM pending_orders p WHERE p.order_id = d.order_id)
                   AND NOT EXISTS (SELECT 1 FROM pending_cases p WHERE p.case_id = d.case_id))
            GROUP BY 1, 2, 3
        ),
        booked AS (
            SELECT currency, month, code, sum(tax) AS tax FROM (
                SELECT e.currency, {MONTH.format(column="j.date")} AS month,
                       coalesce(t.code, '') AS code, e.credit - e.debit AS tax
                FROM "{{entry}}" e
                JOIN "{{journal}}" j ON j.id = e.journal_id
                JOIN "{{account}}" a ON a.id = e.account_id
                LEFT JOIN "{{tax_code}}" t ON t.id = a.tax_code_id
                WHERE a.role = {{r_output_tax}}
                  AND NOT EXISTS (SELECT 1 FROM pending_orders p WHERE p.order_id = j.order_id)
                  AND NOT EXISTS (SELECT 1 FROM pending_cases p WHERE p.case_id = j.case_id)
                UNION ALL
                SELECT x.currency, {MONTH.format(column="x.month")},
                       coalesce(t.code, ''), x.credit - x.debit
                FROM "{{detached_total}}" x
                JOIN "{{account}}" a ON a.id = x.account_id
                LEFT JOIN "{{tax_code}}" t ON t.id = a.tax_code_id
                WHERE a.role = {{r_output_tax}}
            ) u
            GROUP BY 1, 2, 3
        )
        SELECT coalesce(s.code, b.code), coalesce(s.currency, b.currency),
               coalesce(s.month, b.month), coalesce(s.tax, 0), coalesce(b.tax, 0)
        FROM stated s
        FULL OUTER JOIN booked b
            ON b.currency = s.currency AND b.month = s.month AND b.code = s.code
        WHERE [[coalesce(s.tax, 0) <> coalesce(b.tax, 0)]]
        """
    )

    def make(
        code: str, currency: str, month: str, stated: Decimal, booked: Decimal
    ) -> tuple[str, str]:
        subject = f"output tax {code or '(accounts of no tax code)'} {currency} {month}"
        return subject, (
            f"the platform's invoices less its credit notes state {_n(stated)} of tax, "
            f"its output-tax accounts moved {_n(booked)} (difference {_n(stated - booked)}; "
            "a paid order without invoices: manage.py issue_invoices)"
        )

    return _findings("output_tax_matches_documents", _fetch(sql, limit=limit), limit, make)
