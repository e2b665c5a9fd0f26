"""Aging of receivables at a date, in buckets of days since each amount arose.

Vendor side: each vendor's receivable (ledger vendor_receivable accounts), and
its payable where that is a debit balance (the vendor owes the platform, not
yet moved to its receivable by a period close). Customer side: what the
payment providers still owe for what customers paid, the gateway clearing
account per payment method.

An account's balance at the date is aged first in, first out: credits settle
the oldest debits, so what is open is the latest debits, each aged from the
day it arose (its journal's original date when posted late, else its date).
A receivable's debits arise at the close that moved them there.

Balances come from the daily totals (AccountDay). Once old entries months are
detached (ledger.detached) the open debits are the attached debits, newest
first, then the debits that made up the account's debit balance at the end of
the last detached month (CarriedDebit, recorded at the detach): credits settle
the oldest debits first, so whatever a later date needs of the older debits
is a newest-first part of that list, and the report is the same as before the
detach. At a day inside a detached month only its last day can be aged (from
its carried debits); any other raises EntriesDetachedError.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import router
from django.db.models import Sum

from lib.money import ZERO, quantize

from ..detached import (
    EntriesDetachedError,
    attached_months_held,
    carried_debits,
    first_attached_day,
    is_detached_month_end,
)
from ..models import AccountDay, AccountRole, Entry
from ..models.journals import JOURNAL_OF_ITS_DATE
from .base import Column, Report
from .rates import RateTable, reporting_currency

BUCKETS = (("days_0_30", "0-30", 30), ("days_31_60", "31-60", 60), ("days_61_90", "61-90", 90))
OVER = ("days_over_90", "90+")

SOURCE_TITLES = {
    AccountRole.VENDOR_RECEIVABLE: "vendor receivable",
    AccountRole.VENDOR_PAYABLE: "payable debit balance",
    AccountRole.GATEWAY_CLEARING: "gateway clearing",
}


def _columns(party: str, convert: bool) -> list[Column]:
    columns = [
        Column("party", party),
        Column("source", "Source"),
        Column("account", "Account"),
        Column("currency", "Currency"),
        *(Column(key, title, "currency") for key, title, _ in BUCKETS),
        Column(OVER[0], OVER[1], "currency"),
        Column("total", "Total", "currency"),
    ]
    if convert:
        columns += [
            *(Column(f"reporting_{key}", f"{title} (reporting)") for key, title, _ in BUCKETS),
            Column(f"reporting_{OVER[0]}", f"{OVER[1]} (reporting)"),
            Column("reporting_total", "Total (reporting)"),
        ]
    return columns


def bucket_of(days: int) -> str:
    for key, _, limit in BUCKETS:
        if days <= limit:
            return key
    return OVER[0]


@dataclass(frozen=True)
class OpenDebit:
    arose: date
    amount: Decimal


def open_debits(account_id: int, currency: str, balance: Decimal, at: date) -> list[OpenDebit]:
    """The debits of the account up to `at` that make up its debit `balance`,
    newest first. Read inside `attached_months_held` (ledger.detached)."""
    found: list[OpenDebit] = []
    left = balance
    first = first_attached_day()
    carried: list[tuple[date, Decimal]] = []
    if first is not None:
        last_detached = first - timedelta(days=1)
        if at < last_detached:
            if not is_detached_month_end(at):
                raise EntriesDetachedError(f"Aging at {at:%Y-%m-%d}", first)
            return _take(carried_debits(at, account_id, currency), balance)
        carried = carried_debits(last_detached, account_id, currency)
    debits = (
        Entry.objects.filter(
            JOURNAL_OF_ITS_DATE, account_id=account_id, currency=currency, debit__gt=0, date__lte=at
        )
        .order_by("-date", "-journal_id", "-id")
        .values_list("debit", "date", "journal__original_date")
    )
    for debit, posted, original in debits.iterator():
        take = min(debit, left)
        found.append(OpenDebit(original or posted, take))
        left -= take
        if left <= ZERO:
            return found
    return found + _take(carried, left)


def _take(debits: list[tuple[date, Decimal]], left: Decimal) -> list[OpenDebit]:
    """Newest-first debits (arose, amount) until `left` is covered."""
    found = []
    for arose, amount in debits:
        if left <= ZERO:
            break
        take = min(amount, left)
        found.append(OpenDebit(arose, take))
        left -= take
    return found


def _aging(*, roles: list[str], at: date, convert: bool, party: str, title: str) -> Report:
    # The attached debits and the carried ones below them are read with no
    # detach in between (ledger.detached.attached_months_held).
    with attached_months_held(router.db_for_read(Entry)):
        balances = (
            AccountDay.objects.filter(account__role__in=roles, date__lte=at)
            .values(
                "account_id",
                "account__code",
                "account__role",
                "account__vendor__code",
                "account__payment_method",
                "currency",
            )
            .annotate(debit=Sum("debit"), credit=Sum("credit"))
            .order_by()
        )
        rates = RateTable(at) if convert else None
        rows = []
        for b in balances:
            currency = b["currency"]
            balance = quantize(b["debit"] - b["credit"], currency)
            if balance <= ZERO:
                continue  # a credit balance is owed by the platform, not to it
            row: dict[str, object] = {
                "party": b["account__vendor__code"] or b["account__payment_method"],
                "source": SOURCE_TITLES[b["account__role"]],
                "account": b["account__code"],
                "currency": currency,
                **{key: ZERO for key, _, _ in BUCKETS},
                OVER[0]: ZERO,
                "total": balance,
            }
            for debit in open_debits(b["account_id"], currency, balance, at):
                key = bucket_of((at - debit.arose).days)
                row[key] = row[key] + debit.amount  # type: ignore[operator]
            if rates is not None:
                for key in [*(k for k, _, _ in BUCKETS), OVER[0], "total"]:
                    amount = row[key]
                    assert isinstance(amount, Decimal)
                    row[f"reporting_{key}"] = rates.convert(amount, currency)
            rows.append(row)
    rows.sort(key=lambda r: (str(r["party"]), str(r["source"]), str(r["currency"])))
    return Report(
        title=f"{title} at {at:%Y-%m-%d}",
        columns=_columns(party, convert),
        rows=rows,
        reporting_currency=reporting_currency(),
        params={"at": f"{at:%Y-%m-%d}"},
    )


def vendor_aging(*, at: date, convert: bool = True) -> Report:
    """What vendors owe the platform at the end of `at`: receivables and payable debit balances."""
    return _aging(
        roles=[AccountRole.VENDOR_RECEIVABLE, AccountRole.VENDOR_PAYABLE],
        at=at,
        convert=convert,
        party="Vendor",
        title="Vendor receivables aging",
    )


def customer_aging(*, at: date, convert: bool = True) -> Report:
    """What the payment providers owe for customers' payments at the end of
    `at`: gateway clearing per payment method, aged from each sale."""
    return _aging(
        roles=[AccountRole.GATEWAY_CLEARING],
        at=at,
        convert=convert,
        party="Payment method",
        title="Customer-side receivables aging",
    )
