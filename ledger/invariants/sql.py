"""The SQL the invariant checks share: table names, literals, fragments and
the runner that makes it work on PostgreSQL and SQLite (see the package doc)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection

from lib.money import CURRENCY_EXPONENTS
from refunds.models import (
    CaseEvent,
    CaseStatus,
    Channel,
    Order,
    OrderLine,
    OutboxMessage,
    RefundCase,
    RefundLine,
    ShippingEarner,
    ShippingTax,
    VendorLiability,
)
from refunds.statuses import PAID_STATUSES, RELEASED_STATUSES, sql_list
from vendors.models import TaxModel, Vendor

from ..models import (
    Account,
    AccountBalance,
    AccountDay,
    AccountingPeriod,
    AccountRole,
    CreditNote,
    CreditNoteLine,
    DetachedCaseJournals,
    DetachedCaseLeg,
    DetachedDigest,
    DetachedJournalMonth,
    DetachedMonth,
    DetachedSource,
    DetachedTotal,
    Entry,
    Invoice,
    InvoiceLine,
    Journal,
    JournalKind,
    Payout,
    TaxCode,
)

LEDGER_CONSUMER = "ledger"
DEFAULT_LIMIT = 50

TABLES = {
    "account": Account._meta.db_table,
    "balance": AccountBalance._meta.db_table,
    "case": RefundCase._meta.db_table,
    "channel": Channel._meta.db_table,
    "credit_note": CreditNote._meta.db_table,
    "credit_note_line": CreditNoteLine._meta.db_table,
    "day": AccountDay._meta.db_table,
    "detached_case_journals": DetachedCaseJournals._meta.db_table,
    "detached_case_leg": DetachedCaseLeg._meta.db_table,
    "detached_digest": DetachedDigest._meta.db_table,
    "detached_journal_month": DetachedJournalMonth._meta.db_table,
    "detached_month": DetachedMonth._meta.db_table,
    "detached_source": DetachedSource._meta.db_table,
    "detached_total": DetachedTotal._meta.db_table,
    "entry": Entry._meta.db_table,
    "event": CaseEvent._meta.db_table,
    "invoice": Invoice._meta.db_table,
    "invoice_line": InvoiceLine._meta.db_table,
    "journal": Journal._meta.db_table,
    "liability": VendorLiability._meta.db_table,
    "line": OrderLine._meta.db_table,
    "order": Order._meta.db_table,
    "outbox": OutboxMessage._meta.db_table,
    "payout": Payout._meta.db_table,
    "period": AccountingPeriod._meta.db_table,
    "refund_line": RefundLine._meta.db_table,
    "tax_code": TaxCode._meta.db_table,
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
# commission, platform (what the platform bears: refunds and allowances,
# carrier claims, shipping income), tax (every output-tax account), clearing
# (all payment methods together).
LEG = """
    CASE a.role
        WHEN {r_vendor_payable} THEN 'payable:' || v.code
        WHEN {r_commission_income} THEN 'commission'
        WHEN {r_refunds_and_allowances} THEN 'platform'
        WHEN {r_carrier_claims} THEN 'platform'
        WHEN {r_shipping_income} THEN 'platform'
        WHEN {r_output_tax} THEN 'tax'
        WHEN {r_gateway_clearing} THEN 'clearing'
        ELSE 'account:' || a.code
    END
"""

# The liabilities `l` of completed cases `c`, with the order `o`, its channel
# `ch` and the vendor `v` (who is seller of record: SELLER).
COMPLETED_LIABILITIES = """
    FROM "{liability}" l
    JOIN "{case}" c ON c.id = l.case_id
    JOIN "{order}" o ON o.id = c.order_id
    JOIN "{channel}" ch ON ch.id = o.channel_id
    JOIN "{vendor}" v ON v.id = l.vendor_id
    WHERE {completed_c}
"""

# The seller of record of vendor `v`'s goods on channel `ch` (refunds.tax.tax_model_of).
SELLER = f"(coalesce(nullif(v.tax_model, ''), ch.tax_model) = '{TaxModel.SELLER.value}')"

# Shipping the checks cannot price: taxed shipping (its split into net and tax
# by rate), and shipping vendors earn (its split over the order's vendors).
# Both are refunds.tax.split_shipping's largest-remainder rounding, which these
# statements do not repeat; the checks leave out what depends on them.
SHIPPING_TAXED = f"(ch.shipping_tax <> '{ShippingTax.UNTAXED.value}')"
SHIPPING_BY_VENDORS = f"(ch.shipping_earned_by <> '{ShippingEarner.PLATFORM.value}')"


def commission_tax_sql(commission: str, currency: str) -> str:
    """SQL for ledger.tax.commission_tax of a non-negative amount: times
    COMMISSION_TAX_RATE, rounded half to even to the currency's minor unit."""
    rate = Decimal(str(settings.COMMISSION_TAX_RATE))
    if not rate:
        return "0"
    scale = " ".join(
        f"WHEN '{code}' THEN {10**places}"
        for code, places in sorted(CURRENCY_EXPONENTS.items())
        if places != 2
    )
    scale = f"(CASE {currency} {scale} ELSE 100 END)"
    units = f"(({commission}) * {rate} * {scale})"
    return (
        f"((CASE WHEN {units} - floor({units}) = 0.5 "
        f"THEN floor({units}) + mod(floor({units}), 2) ELSE round({units}) END) / {scale})"
    )


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


# The first day whose entries are in ledger_entry: the day after the last
# detached month, or the first day there is when none was (ledger.detached).
# In SQL, so a check stays one statement.
FIRST_ATTACHED = """(SELECT coalesce(max(next_month), '0001-01-01') FROM "{detached_month}")"""


def _fill(template: str, completed: str) -> str:
    first = FIRST_ATTACHED.format(**_NAMES)
    return template.format(
        **_NAMES,
        first_attached=first,
        first_attached_month=f"substr(CAST({first} AS text), 1, 7)",
        backlog=BACKLOG.format(**_NAMES),
        leg=LEG.format(**_NAMES),
        seller=SELLER,
        shipping_taxed=SHIPPING_TAXED,
        shipping_by_vendors=SHIPPING_BY_VENDORS,
        completed_c=completed.format(c="c"),
        completed_liabilities=COMPLETED_LIABILITIES.format(
            **_NAMES, completed_c=completed.format(c="c")
        ),
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
