"""The ledger auditor: every invariant between the books and their sources.

Each check is a plain function that returns a list of findings (empty when the
invariant holds). Checks are single aggregate SQL statements, so their cost
grows with one pass over the tables involved, never with a query per row; each
returns at most `limit` findings plus one that says how many more there are.

What the checks compare:
- Journals: entries balance, are in the journal's currency, and number exactly
  the declared entry_count. The trial balance nets to zero per currency.
- Maintained balances equal the sums of the entries per (account, currency).
- Sources against the ledger: each order has one sale journal for its captured
  amount; each payout one payout journal; each completed case (completed,
  closed, or disputed after completion) one refund journal whose legs are the
  breakdown snapshotted at completion, and its refund and correction journals
  together post its current liabilities; no other case has journals.
- Each vendor's payable per currency equals its sales (net less commission)
  less the vendor shares of completed cases less its payouts.
- The order and line refund counters equal the sums over cases that are not
  rejected or cancelled, and each case's lines and liabilities add up to it.

The ledger posts from the outbox, so a message not yet consumed is a backlog,
not a broken invariant: it is reported once, and the checks that compare
sources with the ledger leave out the orders, cases and vendors it concerns.
A reversal of a source's journal while the source stands (a completed case, a
payout) is reported as a difference: the books no longer say what happened.

The SQL is written for PostgreSQL and runs on SQLite (3.39 or later: FULL
OUTER JOIN, IS DISTINCT FROM) too, so the dev database can be audited: SQLite
gets `bool_and` and `concat_ws` as Python functions, and since it stores
decimals as floats, amounts marked `[[a <> b]]` in the SQL are compared there to
half a unit of the stored precision instead of exactly. The one check that reads
the completion snapshot with PostgreSQL's jsonb functions is skipped on SQLite,
and says so. (The triggers that refuse an unbalanced or edited journal exist on
PostgreSQL only: on SQLite the checks are the only guard.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from refunds.models import (
    CaseEvent,
    CaseStatus,
    Order,
    OrderLine,
    OutboxMessage,
    RefundCase,
    RefundLine,
    VendorLiability,
)
from refunds.statuses import PAID_STATUSES, RELEASED_STATUSES, sql_list
from vendors.models import Vendor

from .models import Account, AccountBalance, AccountRole, Entry, Journal, JournalKind, Payout

LEDGER_CONSUMER = "ledger"
DEFAULT_LIMIT = 50

TABLES = {
    "account": Account._meta.db_table,
    "balance": AccountBalance._meta.db_table,
    "case": RefundCase._meta.db_table,
    "entry": Entry._meta.db_table,
    "event": CaseEvent._meta.db_table,
    "journal": Journal._meta.db_table,
    "liability": VendorLiability._meta.db_table,
    "line": OrderLine._meta.db_table,
    "order": Order._meta.db_table,
    "outbox": OutboxMessage._meta.db_table,
    "payout": Payout._meta.db_table,
    "refund_line": RefundLine._meta.db_table,
    "vendor": Vendor._meta.db_table,
}

# Statuses and kinds are interpolated as literals: they are fixed choices of the
# models, and literals let the planner use them like constants.
_S = {f"s_{status.value}": f"'{status.value}'" for status in CaseStatus}
_K = {f"k_{kind.value}": f"'{kind.value}'" for kind in JournalKind}
_R = {f"r_{role.value}": f"'{role.value}'" for role in AccountRole}
_NAMES = {**TABLES, **_S, **_K, **_R, "consumer": f"'{LEDGER_CONSUMER}'"}

# A case that went through completion: its refund was paid and must be booked.
COMPLETED = (
    f"({{c}}.status IN {sql_list(PAID_STATUSES)} OR "
    "({c}.status = {s_disputed} AND {c}.status_before_dispute = {s_completed}))"
)
RELEASED = f"{{c}}.status IN {sql_list(RELEASED_STATUSES)}"

# Sources whose posting is still in the outbox (pending or parked as failed).
BACKLOG = """
    pending_orders AS (
        SELECT DISTINCT order_id FROM "{outbox}"
        WHERE consumer = {consumer} AND order_id IS NOT NULL
    ),
    pending_cases AS (
        SELECT DISTINCT case_id FROM "{outbox}"
        WHERE consumer = {consumer} AND case_id IS NOT NULL
    )
"""

# A ledger leg named by what it is for, so a case's expected and posted legs
# can be compared without knowing account ids: payable:<vendor code>,
# commission, expense, tax, clearing (all payment methods together).
LEG = """
    CASE a.role
        WHEN {r_vendor_payable} THEN 'payable:' || v.code
        WHEN {r_commission_income} THEN 'commission'
        WHEN {r_refund_expense} THEN 'expense'
        WHEN {r_output_tax} THEN 'tax'
        WHEN {r_gateway_clearing} THEN 'clearing'
        ELSE 'account:' || a.code
    END
"""


@dataclass(frozen=True)
class Finding:
    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.subject}: {self.detail}"


# Half a unit of AMOUNT_PLACES: SQLite's float sums of exact amounts differ from
# the exact sum by far less, and a real difference is at least one unit.
SQLITE_TOLERANCE = "0.0005"
_COMPARISON = re.compile(r"\[\[(.+?) (<>|IS DISTINCT FROM) (.+?)\]\]")


def _comparison(match: re.Match[str]) -> str:
    left, operator, right = match.groups()
    if connection.vendor != "sqlite":
        return f"{left} {operator} {right}"
    differ = f"abs(({left}) - ({right})) > {SQLITE_TOLERANCE}"
    if operator == "<>":
        return f"({differ})"
    return f"((({left}) IS NULL) <> (({right}) IS NULL) OR {differ})"


def _sql(template: str) -> str:
    # Fragments carry their own placeholders: fill them, then the statement.
    completed = COMPLETED.format(c="{c}", **_NAMES)
    return _COMPARISON.sub(_comparison, _fill(template, completed))


def _fill(template: str, completed: str) -> str:
    return template.format(
        **_NAMES,
        backlog=BACKLOG.format(**_NAMES),
        leg=LEG.format(**_NAMES),
        completed_c=completed.format(c="c"),
        released_c=RELEASED.format(c="c", **_NAMES),
    )


class _BoolAnd:
    """PostgreSQL's bool_and as a SQLite aggregate (NULLs ignored, as there)."""

    def __init__(self) -> None:
        self.value: bool | None = None

    def step(self, value: Any) -> None:
        if value is not None:
            self.value = bool(value) if self.value is None else self.value and bool(value)

    def finalize(self) -> bool | None:
        return self.value


def _concat_ws(separator: str, *values: Any) -> str:
    return separator.join(str(value) for value in values if value is not None)


def _sqlite_functions() -> None:
    """Give SQLite the PostgreSQL functions the checks use (per connection)."""
    if connection.vendor != "sqlite":
        return
    connection.ensure_connection()
    raw = connection.connection
    raw.create_aggregate("bool_and", 1, _BoolAnd)
    raw.create_function("concat_ws", -1, _concat_ws, deterministic=True)


def _fetch(sql: str, params: Sequence[Any] = (), limit: int | None = None) -> list[tuple]:
    """Rows of `sql`; with `limit`, at most that many and the total count last."""
    _sqlite_functions()
    with connection.cursor() as cursor:
        if limit is None:
            cursor.execute(sql, params)
            return cursor.fetchall()
        cursor.execute(
            f"SELECT q.*, count(*) OVER () FROM ({sql}) q ORDER BY 1, 2 LIMIT %s",
            [*params, limit],
        )
        return cursor.fetchall()


def _findings(
    check: str, rows: list[tuple], limit: int, make: Callable[..., tuple[str, str]]
) -> list[Finding]:
    findings = [Finding(check, *make(*row[:-1])) for row in rows]
    total = rows[0][-1] if rows else 0
    if total > limit:
        findings.append(Finding(check, "...", f"{total - limit} more findings not shown"))
    return findings


def _n(amount: Decimal | None) -> str:
    """An amount without the column's trailing zeros (27.500 -> 27.5)."""
    if amount is None:
        return "none"
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# ---------------------------------------------------------------- the books


def journals_balance(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Each journal's entries balance, are in its currency and number entry_count."""
    sql = _sql(
        """
        SELECT j.id, j.posting_key, j.entry_count, count(e.id),
               coalesce(sum(e.debit), 0), coalesce(sum(e.credit), 0),
               count(e.id) FILTER (WHERE e.currency <> j.currency), j.currency
        FROM "{journal}" j LEFT JOIN "{entry}" e ON e.journal_id = j.id
        GROUP BY j.id
        HAVING count(e.id) <> j.entry_count
            OR [[coalesce(sum(e.debit), 0) <> coalesce(sum(e.credit), 0)]]
            OR count(e.id) FILTER (WHERE e.currency <> j.currency) > 0
        """
    )

    def make(
        pk: int,
        key: str,
        declared: int,
        found: int,
        dr: Decimal,
        cr: Decimal,
        foreign: int,
        cur: str,
    ) -> tuple[str, str]:
        problems = []
        if found != declared:
            problems.append(f"declares {declared} entries but has {found}")
        if dr != cr:
            problems.append(f"debits {_n(dr)} and credits {_n(cr)} do not balance")
        if foreign:
            problems.append(f"{foreign} entries in another currency than {cur}")
        return f"journal {pk} ({key})", "; ".join(problems)

    return _findings("journals_balance", _fetch(sql, limit=limit), limit, make)


def balances_match_entries(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Maintained balances equal the sums of the entries, with a row for each."""
    sql = _sql(
        """
        WITH sums AS (
            SELECT account_id, currency, sum(debit) AS debit, sum(credit) AS credit
            FROM "{entry}" GROUP BY account_id, currency
        )
        SELECT a.code, coalesce(s.currency, b.currency), s.debit, s.credit, b.debit, b.credit
        FROM sums s
        FULL OUTER JOIN "{balance}" b
            ON b.account_id = s.account_id AND b.currency = s.currency
        JOIN "{account}" a ON a.id = coalesce(s.account_id, b.account_id)
        WHERE (b.id IS NULL)
           OR (s.account_id IS NULL AND ([[b.debit <> 0]] OR [[b.credit <> 0]]))
           OR ([[s.debit <> b.debit]] OR [[s.credit <> b.credit]])
        """
    )

    def make(
        code: str,
        currency: str,
        debit: Decimal | None,
        credit: Decimal | None,
        kept_debit: Decimal | None,
        kept_credit: Decimal | None,
    ) -> tuple[str, str]:
        subject = f"account {code} {currency}"
        if kept_debit is None:
            return subject, f"entries (Dr {_n(debit)}, Cr {_n(credit)}) but no balance row"
        return subject, (
            f"balance row says Dr {_n(kept_debit)} Cr {_n(kept_credit)}, "
            f"entries sum to Dr {_n(debit or Decimal(0))} Cr {_n(credit or Decimal(0))}"
        )

    return _findings("balances_match_entries", _fetch(sql, limit=limit), limit, make)


def trial_balance_nets_to_zero(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Per currency, all debit totals equal all credit totals."""
    sql = _sql(
        """
        SELECT currency, sum(debit), sum(credit) FROM "{balance}"
        GROUP BY currency HAVING [[sum(debit) <> sum(credit)]]
        """
    )

    def make(currency: str, debit: Decimal, credit: Decimal) -> tuple[str, str]:
        return f"trial balance {currency}", f"debits {_n(debit)} but credits {_n(credit)}"

    return _findings("trial_balance", _fetch(sql, limit=limit), limit, make)


def outbox_backlog(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Ledger messages not consumed yet: the books lag their sources."""
    sql = _sql(
        """
        SELECT failed_at IS NOT NULL, count(*), min(created_at),
               count(DISTINCT order_id), count(DISTINCT case_id)
        FROM "{outbox}" WHERE consumer = {consumer}
        GROUP BY failed_at IS NOT NULL
        """
    )
    findings = []
    for failed, count, oldest, orders, cases in _fetch(sql):
        if isinstance(oldest, str):  # SQLite returns the text it stored
            oldest = datetime.fromisoformat(oldest)
        what = "failed for good (parked for staff)" if failed else "pending"
        findings.append(
            Finding(
                "outbox_backlog",
                f"{count} {what} ledger messages",
                f"oldest from {oldest:%Y-%m-%d %H:%M:%S}; the checks below leave out the "
                f"{orders} orders and {cases} cases they concern (and their vendors' payables)",
            )
        )
    return findings[:limit]


# ---------------------------------------------------------------- sources


def sales_posted(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Each order has exactly one sale journal, in its currency, for what was captured."""
    sql = _sql(
        """
        WITH {backlog},
        sale AS (
            SELECT j.order_id, count(DISTINCT j.id) AS journals,
                   bool_and(j.currency = o.currency) AS same_currency, sum(e.debit) AS debit
            FROM "{journal}" j
            JOIN "{entry}" e ON e.journal_id = j.id
            LEFT JOIN "{order}" o ON o.id = j.order_id
            WHERE j.kind = {k_sale}
            GROUP BY j.order_id
        )
        SELECT o.number, o.currency, o.captured_amount, coalesce(s.journals, 0),
               s.same_currency, s.debit
        FROM "{order}" o LEFT JOIN sale s ON s.order_id = o.id
        WHERE NOT EXISTS (SELECT 1 FROM pending_orders p WHERE p.order_id = o.id)
          AND (s.journals IS DISTINCT FROM 1 OR NOT s.same_currency
               OR [[s.debit <> o.captured_amount]])
        UNION ALL
        SELECT '(no order)', '', 0, s.journals, s.same_currency, s.debit
        FROM sale s WHERE s.order_id IS NULL
        """
    )

    def make(
        number: str,
        currency: str,
        captured: Decimal,
        journals: int,
        same_currency: bool | None,
        debit: Decimal | None,
    ) -> tuple[str, str]:
        subject = f"order {number}"
        if journals != 1:
            return subject, f"has {journals} sale journals, expected exactly 1"
        if not same_currency:
            return subject, f"sale journal is not in the order's currency {currency}"
        return subject, f"sale journal posts {_n(debit)} but {_n(captured)} {currency} was captured"

    return _findings("sales_posted", _fetch(sql, limit=limit), limit, make)


def payouts_posted(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Each payout has exactly one payout journal, in its currency, for its amount."""
    sql = _sql(
        """
        WITH posted AS (
            SELECT j.payout_id, count(DISTINCT j.id) AS journals,
                   bool_and(j.currency = p.currency) AS same_currency, sum(e.debit) AS debit
            FROM "{journal}" j
            JOIN "{entry}" e ON e.journal_id = j.id
            JOIN "{payout}" p ON p.id = j.payout_id
            WHERE j.kind = {k_payout}
            GROUP BY j.payout_id
        )
        SELECT p.id, v.code, p.currency, p.amount, coalesce(x.journals, 0), x.same_currency, x.debit
        FROM "{payout}" p
        JOIN "{vendor}" v ON v.id = p.vendor_id
        LEFT JOIN posted x ON x.payout_id = p.id
        WHERE x.journals IS DISTINCT FROM 1 OR NOT x.same_currency OR [[x.debit <> p.amount]]
        """
    )

    def make(
        pk: int,
        vendor: str,
        currency: str,
        amount: Decimal,
        journals: int,
        same_currency: bool | None,
        debit: Decimal | None,
    ) -> tuple[str, str]:
        subject = f"payout {pk} to {vendor}"
        if journals != 1:
            return subject, f"has {journals} payout journals, expected exactly 1"
        if not same_currency:
            return subject, f"payout journal is not in the payout's currency {currency}"
        return (
            subject,
            f"payout journal posts {_n(debit)} but the payout is {_n(amount)} {currency}",
        )

    return _findings("payouts_posted", _fetch(sql, limit=limit), limit, make)


def refunds_posted(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """A completed case has exactly one refund journal; a case never completed has none."""
    sql = _sql(
        """
        WITH {backlog},
        posted AS (
            SELECT case_id,
                   count(*) FILTER (WHERE kind = {k_refund}) AS refunds,
                   count(*) AS journals
            FROM "{journal}" WHERE case_id IS NOT NULL GROUP BY case_id
        )
        SELECT c.case_id, c.status, c.status_before_dispute, {completed_c},
               coalesce(p.refunds, 0), coalesce(p.journals, 0)
        FROM "{case}" c LEFT JOIN posted p ON p.case_id = c.id
        WHERE NOT EXISTS (SELECT 1 FROM pending_cases q WHERE q.case_id = c.id)
          AND CASE WHEN {completed_c} THEN coalesce(p.refunds, 0) <> 1
                   ELSE coalesce(p.journals, 0) > 0 END
        """
    )

    def make(
        case_id: str, status: str, before: str, completed: bool, refunds: int, journals: int
    ) -> tuple[str, str]:
        shown = f"{status} (before dispute: {before})" if before else status
        if completed:
            return f"case {case_id}", f"is {shown} with {refunds} refund journals, expected 1"
        return f"case {case_id}", f"is {shown}, never completed, but has {journals} journals"

    return _findings("refunds_posted", _fetch(sql, limit=limit), limit, make)


def _case_legs_sql(expected: str, kinds: str) -> str:
    """Cases whose posted legs (journals of `kinds`) differ from `expected` legs."""
    return _sql(
        """
        WITH {backlog},
        expected AS ({expected}),
        posted AS (
            SELECT j.case_id, {leg} AS leg, sum(e.debit - e.credit) AS amount
            FROM "{journal}" j
            JOIN "{entry}" e ON e.journal_id = j.id
            JOIN "{account}" a ON a.id = e.account_id
            LEFT JOIN "{vendor}" v ON v.id = a.vendor_id
            JOIN "{case}" c ON c.id = j.case_id
            WHERE j.kind IN ({kinds}) AND {completed_c}
            GROUP BY j.case_id, 2
        )
        SELECT c.case_id, coalesce(x.leg, p.leg), coalesce(x.amount, 0),
               coalesce(p.amount, 0), c.currency
        FROM expected x
        FULL OUTER JOIN posted p ON p.case_id = x.case_id AND p.leg = x.leg
        JOIN "{case}" c ON c.id = coalesce(x.case_id, p.case_id)
        WHERE [[coalesce(x.amount, 0) <> coalesce(p.amount, 0)]]
          AND NOT EXISTS (SELECT 1 FROM pending_cases q WHERE q.case_id = c.id)
        """.replace("{expected}", expected).replace("{kinds}", kinds)
    )


# Debit legs of a refund from per-vendor rows `r` (vendor_share, platform_share,
# commission_reversal, tax_amount, refund_amount), as posting.refund_journal
# books them; the clearing accounts are credited with the refund amount.
_LEGS_FROM_ROWS = """
    SELECT case_id, 'payable:' || code AS leg, sum(vendor_share) AS amount
        FROM r GROUP BY case_id, code
    UNION ALL SELECT case_id, 'commission', sum(commission_reversal) FROM r GROUP BY case_id
    UNION ALL SELECT case_id, 'expense', sum(platform_share - commission_reversal)
        FROM r GROUP BY case_id
    UNION ALL SELECT case_id, 'tax', sum(tax_amount) FROM r GROUP BY case_id
    UNION ALL SELECT case_id, 'clearing', -sum(refund_amount) FROM r GROUP BY case_id
"""


def _leg_finding(what: str) -> Callable[..., tuple[str, str]]:
    def make(
        case_id: str, leg: str, expected: Decimal, posted: Decimal, currency: str
    ) -> tuple[str, str]:
        return f"case {case_id} leg {leg}", (
            f"{what} {_n(expected)} {currency} (net debit), the journals post {_n(posted)}"
        )

    return make


def refund_journals_match_completion(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """The refund journal posts the breakdown as it stood at completion."""
    snapshot = (
        """
        WITH r AS (
            SELECT ev.case_id, v.code,
                   (row->>'vendor_share')::numeric AS vendor_share,
                   (row->>'platform_share')::numeric AS platform_share,
                   (row->>'commission_reversal')::numeric AS commission_reversal,
                   (row->>'tax_amount')::numeric AS tax_amount,
                   (row->>'refund_amount')::numeric AS refund_amount
            FROM "{event}" ev
            JOIN "{case}" c ON c.id = ev.case_id
            CROSS JOIN LATERAL jsonb_array_elements(ev.data->'liabilities') AS row
            JOIN "{vendor}" v ON v.id = (row->>'vendor_id')::bigint
            WHERE ev.from_status = {s_approved} AND ev.to_status = {s_completed}
              AND {completed_c}
              -- A missing refund journal is refunds_posted's finding, not this one's.
              AND EXISTS (
                  SELECT 1 FROM "{journal}" j WHERE j.case_id = c.id AND j.kind = {k_refund}
              )
        )
    """
        + _LEGS_FROM_ROWS
    )
    sql = _case_legs_sql(snapshot, "{k_refund}")
    rows = _fetch(sql, limit=limit)
    return _findings(
        "refund_journals_match_completion", rows, limit, _leg_finding("completion snapshot says")
    )


def case_postings_match_liabilities(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """A completed case's refund, correction and reversal journals together post
    its current liabilities (the breakdown after any dispute's new shares)."""
    current = (
        """
        WITH r AS (
            SELECT l.case_id, v.code, l.vendor_share, l.platform_share,
                   l.commission_reversal, l.tax_amount, l.refund_amount
            FROM "{liability}" l
            JOIN "{case}" c ON c.id = l.case_id
            JOIN "{vendor}" v ON v.id = l.vendor_id
            WHERE {completed_c}
        )
    """
        + _LEGS_FROM_ROWS
    )
    sql = _case_legs_sql(current, "{k_refund}, {k_correction}, {k_reversal}")
    rows = _fetch(sql, limit=limit)
    return _findings(
        "case_postings_match_liabilities", rows, limit, _leg_finding("current liabilities say")
    )


def vendor_payables(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Payable = sales (net less commission) - vendor shares of completed cases - payouts."""
    sql = _sql(
        """
        WITH {backlog},
        sales AS (
            SELECT l.vendor_id, o.currency, sum(l.net_amount - l.commission_amount) AS amount
            FROM "{line}" l JOIN "{order}" o ON o.id = l.order_id
            GROUP BY l.vendor_id, o.currency
        ),
        refunds AS (
            SELECT l.vendor_id, c.currency, sum(l.vendor_share) AS amount
            FROM "{liability}" l JOIN "{case}" c ON c.id = l.case_id
            WHERE {completed_c}
            GROUP BY l.vendor_id, c.currency
        ),
        payouts AS (
            SELECT vendor_id, currency, sum(amount) AS amount
            FROM "{payout}" GROUP BY vendor_id, currency
        ),
        expected AS (
            SELECT coalesce(s.vendor_id, r.vendor_id, p.vendor_id) AS vendor_id,
                   coalesce(s.currency, r.currency, p.currency) AS currency,
                   coalesce(s.amount, 0) AS sales, coalesce(r.amount, 0) AS refunds,
                   coalesce(p.amount, 0) AS payouts
            FROM sales s
            FULL OUTER JOIN refunds r
                ON r.vendor_id = s.vendor_id AND r.currency = s.currency
            FULL OUTER JOIN payouts p
                ON p.vendor_id = coalesce(s.vendor_id, r.vendor_id)
               AND p.currency = coalesce(s.currency, r.currency)
        ),
        ledger AS (
            SELECT a.vendor_id, b.currency, b.credit - b.debit AS amount
            FROM "{balance}" b JOIN "{account}" a ON a.id = b.account_id
            WHERE a.role = {r_vendor_payable}
        ),
        unsettled AS (
            SELECT l.vendor_id, o.currency
            FROM pending_orders p
            JOIN "{order}" o ON o.id = p.order_id
            JOIN "{line}" l ON l.order_id = o.id
            UNION
            SELECT l.vendor_id, c.currency
            FROM pending_cases p
            JOIN "{case}" c ON c.id = p.case_id
            JOIN "{liability}" l ON l.case_id = c.id
        )
        SELECT v.code, coalesce(x.currency, g.currency),
               coalesce(x.sales, 0), coalesce(x.refunds, 0), coalesce(x.payouts, 0),
               coalesce(g.amount, 0)
        FROM expected x
        FULL OUTER JOIN ledger g ON g.vendor_id = x.vendor_id AND g.currency = x.currency
        JOIN "{vendor}" v ON v.id = coalesce(x.vendor_id, g.vendor_id)
        WHERE [[coalesce(x.sales - x.refunds - x.payouts, 0) <> coalesce(g.amount, 0)]]
          AND NOT EXISTS (
              SELECT 1 FROM unsettled u
              WHERE u.vendor_id = v.id AND u.currency = coalesce(x.currency, g.currency)
          )
        """
    )

    def make(
        code: str,
        currency: str,
        sales: Decimal,
        refunds: Decimal,
        payouts: Decimal,
        ledger: Decimal,
    ) -> tuple[str, str]:
        expected = sales - refunds - payouts
        return f"vendor {code} {currency}", (
            f"payable is {_n(ledger)} in the ledger but sales {_n(sales)} - refunds "
            f"{_n(refunds)} - payouts {_n(payouts)} = {_n(expected)}"
        )

    return _findings("vendor_payables", _fetch(sql, limit=limit), limit, make)


def refund_counters(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Order and line counters equal the sums over cases not rejected or cancelled."""
    sql = _sql(
        """
        WITH cases AS (
            SELECT c.order_id, sum(c.total_refund_amount) AS amount,
                   sum(c.shipping_refund_amount) AS shipping
            FROM "{case}" c WHERE NOT {released_c} GROUP BY c.order_id
        ),
        pieces AS (
            SELECT r.order_line_id, sum(r.quantity) AS quantity, sum(r.net_amount) AS net,
                   sum(r.tax_amount) AS tax, sum(r.commission_base) AS base,
                   sum(r.commission_reversal) AS reversal
            FROM "{refund_line}" r JOIN "{case}" c ON c.id = r.case_id
            WHERE r.order_line_id IS NOT NULL AND NOT {released_c}
            GROUP BY r.order_line_id
        )
        SELECT o.number, '',
               concat_ws(', ',
                   CASE WHEN [[o.refunded_amount <> coalesce(x.amount, 0)]] THEN
                       'refunded_amount ' || o.refunded_amount || ' <> ' || coalesce(x.amount, 0)
                   END,
                   CASE WHEN [[o.refunded_shipping <> coalesce(x.shipping, 0)]] THEN
                       'refunded_shipping ' || o.refunded_shipping || ' <> '
                       || coalesce(x.shipping, 0)
                   END)
        FROM "{order}" o LEFT JOIN cases x ON x.order_id = o.id
        WHERE [[o.refunded_amount <> coalesce(x.amount, 0)]]
           OR [[o.refunded_shipping <> coalesce(x.shipping, 0)]]
        UNION ALL
        SELECT o.number, 'line ' || l.id || ' ' || l.sku,
               concat_ws(', ',
                   CASE WHEN [[l.refunded_quantity <> coalesce(p.quantity, 0)]] THEN
                       'refunded_quantity ' || l.refunded_quantity || ' <> '
                       || coalesce(p.quantity, 0)
                   END,
                   CASE WHEN [[l.refunded_net <> coalesce(p.net, 0)]] THEN
                       'refunded_net ' || l.refunded_net || ' <> ' || coalesce(p.net, 0)
                   END,
                   CASE WHEN [[l.refunded_tax <> coalesce(p.tax, 0)]] THEN
                       'refunded_tax ' || l.refunded_tax || ' <> ' || coalesce(p.tax, 0)
                   END,
                   CASE WHEN [[l.commission_base_refunded <> coalesce(p.base, 0)]] THEN
                       'commission_base_refunded ' || l.commission_base_refunded || ' <> '
                       || coalesce(p.base, 0)
                   END,
                   CASE WHEN [[l.commission_reversed <> coalesce(p.reversal, 0)]] THEN
                       'commission_reversed ' || l.commission_reversed || ' <> '
                       || coalesce(p.reversal, 0)
                   END)
        FROM "{line}" l
        JOIN "{order}" o ON o.id = l.order_id
        LEFT JOIN pieces p ON p.order_line_id = l.id
        WHERE [[l.refunded_quantity <> coalesce(p.quantity, 0)]]
           OR [[l.refunded_net <> coalesce(p.net, 0)]]
           OR [[l.refunded_tax <> coalesce(p.tax, 0)]]
           OR [[l.commission_base_refunded <> coalesce(p.base, 0)]]
           OR [[l.commission_reversed <> coalesce(p.reversal, 0)]]
        """
    )

    def make(number: str, what: str, detail: str) -> tuple[str, str]:
        subject = f"order {number} {what}" if what else f"order {number}"
        return subject, f"counter <> open and completed cases: {detail}"

    return _findings("refund_counters", _fetch(sql, limit=limit), limit, make)


def case_breakdowns(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """A case's total and shipping equal its lines' and its liabilities' sums."""
    sql = _sql(
        """
        WITH pieces AS (
            SELECT case_id, sum(gross_amount) AS gross, sum(net_amount) AS net,
                   sum(tax_amount) AS tax, sum(shipping_amount) AS shipping
            FROM "{refund_line}" GROUP BY case_id
        ),
        owed AS (
            SELECT case_id, sum(refund_amount) AS gross, sum(net_amount) AS net,
                   sum(tax_amount) AS tax, sum(shipping_amount) AS shipping
            FROM "{liability}" GROUP BY case_id
        )
        SELECT c.case_id, c.total_refund_amount, c.shipping_refund_amount,
               p.gross, p.net, p.tax, p.shipping, o.gross, o.net, o.tax, o.shipping
        FROM "{case}" c
        LEFT JOIN pieces p ON p.case_id = c.id
        LEFT JOIN owed o ON o.case_id = c.id
        WHERE [[c.total_refund_amount IS DISTINCT FROM p.gross]]
           OR [[c.total_refund_amount IS DISTINCT FROM o.gross]]
           OR [[c.shipping_refund_amount IS DISTINCT FROM p.shipping]]
           OR [[c.shipping_refund_amount IS DISTINCT FROM o.shipping]]
           OR [[p.net IS DISTINCT FROM o.net]]
           OR [[p.tax IS DISTINCT FROM o.tax]]
        """
    )

    def make(
        case_id: str, total: Decimal, shipping: Decimal, *sums: Decimal | None
    ) -> tuple[str, str]:
        lines = "/".join(_n(s) for s in sums[:4])
        owed = "/".join(_n(s) for s in sums[4:])
        return f"case {case_id}", (
            f"total {_n(total)}, shipping {_n(shipping)}; gross/net/tax/shipping of its lines "
            f"{lines}, of its liabilities {owed}"
        )

    return _findings("case_breakdowns", _fetch(sql, limit=limit), limit, make)


# ---------------------------------------------------------------- all of them


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: Callable[[int], list[Finding]]
    # Why the check cannot run on other databases; "" if it runs everywhere.
    postgres_only: str = ""

    def skipped_here(self) -> str:
        """Why the check is skipped on this database, or "" if it runs."""
        return self.postgres_only if connection.vendor != "postgresql" else ""


POSTGRES_ONLY = {
    "refund_journals_match_completion": (
        "reads the breakdown snapshotted at completion with PostgreSQL's jsonb functions"
    ),
}

CHECKS: tuple[Check, ...] = tuple(
    Check(
        name,
        (function.__doc__ or "").split("\n")[0].strip(),
        function,
        POSTGRES_ONLY.get(name, ""),
    )
    for name, function in (
        ("journals_balance", journals_balance),
        ("balances_match_entries", balances_match_entries),
        ("trial_balance", trial_balance_nets_to_zero),
        ("outbox_backlog", outbox_backlog),
        ("sales_posted", sales_posted),
        ("payouts_posted", payouts_posted),
        ("refunds_posted", refunds_posted),
        ("refund_journals_match_completion", refund_journals_match_completion),
        ("case_postings_match_liabilities", case_postings_match_liabilities),
        ("vendor_payables", vendor_payables),
        ("refund_counters", refund_counters),
        ("case_breakdowns", case_breakdowns),
    )
)


def run_checks(limit: int = DEFAULT_LIMIT) -> list[tuple[Check, list[Finding] | None]]:
    """Every check with its findings, in a fixed order; None for a check this
    database cannot run (see Check.skipped_here)."""
    return [(check, None if check.skipped_here() else check.run(limit)) for check in CHECKS]


def audit(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """All findings of all checks that run here; empty when the books agree
    with their sources."""
    return [finding for _, findings in run_checks(limit) for finding in findings or []]
