"""Read queries on the ledger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, connections, router
from django.db.models import Q, QuerySet

from lib.money import AMOUNT_PLACES, ZERO
from vendors.selectors import visible_vendor_ids

from .models import (
    COMMISSION_KINDS,
    Account,
    AccountBalance,
    AccountDay,
    AccountRole,
    Invoice,
)


@dataclass(frozen=True)
class TrialBalanceRow:
    account_id: int
    code: str
    name: str
    kind: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        """Debit minus credit: positive for debit balances."""
        return self.debit - self.credit


@dataclass(frozen=True)
class TrialBalance:
    currency: str
    as_of: date | None
    rows: list[TrialBalanceRow]

    @property
    def total_debit(self) -> Decimal:
        return sum((r.debit for r in self.rows), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((r.credit for r in self.rows), ZERO)

    @property
    def balanced(self) -> bool:
        return self.total_debit == self.total_credit


_BALANCE_SQL = (
    f"SELECT debit - credit FROM {AccountBalance._meta.db_table} "
    "WHERE account_id = %s AND currency = %s"
)


def account_balance(account: Account | int, currency: str) -> Decimal:
    """Debit minus credit of one account in one currency: one row of the
    maintained balances, read by its unique key, however many entries exist."""
    account_id = account.pk if isinstance(account, Account) else account
    if connection.vendor == "postgresql":
        # One constant statement: building and compiling a queryset costs several
        # times the read itself (docs/benchmarks.md, ledger (c)).
        with connection.cursor() as cursor:
            cursor.execute(_BALANCE_SQL, [account_id, currency])
            row = cursor.fetchone()
        return row[0] if row else ZERO
    # SQLite hands numerics back as floats without the ORM's converters.
    row = (
        AccountBalance.objects.filter(account_id=account_id, currency=currency)
        .values_list("debit", "credit")
        .first()
    )
    return row[0] - row[1] if row else ZERO


def owed_to_vendor(vendor_id: int, currency: str) -> Decimal:
    """What the platform owes a vendor in `currency` now: credit minus debit of
    its payable less its receivable (ledger.receivables); negative when the
    vendor owes the platform."""
    rows = AccountBalance.objects.filter(
        account__role__in=[AccountRole.VENDOR_PAYABLE, AccountRole.VENDOR_RECEIVABLE],
        account__vendor_id=vendor_id,
        currency=currency,
    ).values_list("debit", "credit")
    return sum((credit - debit for debit, credit in rows), ZERO)


def trial_balance(currency: str, as_of: date | None = None) -> TrialBalance:
    """Every account's debit and credit totals in `currency`: today's from the
    maintained balances, at a past date those of the entries of journals dated
    up to it, read from the daily totals (AccountDay) rather than the entries.
    """
    accounts = {a.pk: a for a in Account.objects.all()}
    totals: Iterable[tuple[int, Decimal, Decimal]]
    if as_of is None:
        totals = AccountBalance.objects.filter(currency=currency).values_list(
            "account_id", "debit", "credit"
        )
    else:
        totals = _totals_as_of(currency, as_of)
    rows = []
    for account_id, debit, credit in totals:
        if debit == 0 and credit == 0:
            continue
        account = accounts[account_id]
        rows.append(
            TrialBalanceRow(account_id, account.code, account.name, account.kind, debit, credit)
        )
    rows.sort(key=lambda r: r.code)
    return TrialBalance(currency, as_of, rows)


_DAY = AccountDay._meta.db_table
_BALANCE = AccountBalance._meta.db_table
# The days up to the date, summed per account...
_DAYS_UP_TO = (
    f"SELECT account_id, sum(debit), sum(credit) FROM {_DAY} "
    "WHERE currency = %s AND date <= %s GROUP BY account_id"
)
# ... or the balance less the days after it: one statement, so one snapshot
# of both (a posting in between cannot be counted on one side only).
_BALANCE_LESS_DAYS_AFTER = (
    f"SELECT b.account_id, b.debit - coalesce(d.debit, 0), b.credit - coalesce(d.credit, 0) "
    f"FROM {_BALANCE} b LEFT JOIN ("
    f"SELECT account_id, sum(debit) AS debit, sum(credit) AS credit FROM {_DAY} "
    "WHERE currency = %s AND date > %s GROUP BY account_id"
    ") d ON d.account_id = b.account_id WHERE b.currency = %s"
)


def _totals_as_of(currency: str, as_of: date) -> list[tuple[int, Decimal, Decimal]]:
    """(account, debit, credit) of the entries in `currency` of journals dated
    up to `as_of`, from whichever side of the date has fewer days: a month-end
    close reads the month or so after it, not the years before.

    Both sides are exact (posting maintains AccountBalance as the sum of the
    days, ledger.invariants checks it); the side is chosen by the dates the
    days span, which only decides the cost."""
    # Its own cursor: on the database the ORM would read from (lib/replica.py).
    db = connections[router.db_for_read(AccountDay)]
    with db.cursor() as cursor:
        cursor.execute(f"SELECT min(date), max(date) FROM {_DAY} WHERE currency = %s", [currency])
        first, last = cursor.fetchone()
        if first is None:
            return []
        if isinstance(first, str):  # SQLite hands dates back as text here
            first, last = date.fromisoformat(first), date.fromisoformat(last)
        day = db.ops.adapt_datefield_value(as_of)
        if as_of - first <= last - as_of:
            cursor.execute(_DAYS_UP_TO, [currency, day])
        else:
            cursor.execute(_BALANCE_LESS_DAYS_AFTER, [currency, day, currency])
        rows = cursor.fetchall()
    if db.vendor != "postgresql":
        # SQLite sums numerics as floats: back to the amounts' exact decimals.
        places = Decimal(1).scaleb(-AMOUNT_PLACES)
        return [
            (pk, Decimal(str(dr)).quantize(places), Decimal(str(cr)).quantize(places))
            for pk, dr, cr in rows
        ]
    return rows


def ledger_currencies() -> list[str]:
    return sorted(set(AccountBalance.objects.values_list("currency", flat=True)))


# ---------------------------------------------------------------- invoices


def invoices_for(user: User | AnonymousUser) -> QuerySet[Invoice]:
    """The invoices `user` may read: all of them for staff and the read-only
    group; for a vendor user, those issued on behalf of its vendors (seller of
    record) and the commission invoices and credit notes billed to them."""
    queryset = Invoice.objects.select_related("seller_vendor", "billed_vendor", "corrects")
    ids = visible_vendor_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(
        Q(seller_vendor_id__in=ids) | Q(billed_vendor_id__in=ids, kind__in=COMMISSION_KINDS)
    )


def vendor_commission_documents(vendor_id: int) -> QuerySet[Invoice]:
    """A vendor's commission invoices and credit notes, and the invoices issued
    on its behalf, newest first (the portal's invoice page)."""
    return Invoice.objects.filter(
        Q(seller_vendor_id=vendor_id) | Q(billed_vendor_id=vendor_id, kind__in=COMMISSION_KINDS)
    ).order_by("-issue_date", "-id")
