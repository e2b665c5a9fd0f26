"""Which date a journal is posted on, and the period locks that keep it true.

A journal is dated in an open period. What happened in a month already closed
(a refund completed late, a payout entered with last month's date) is posted
on the first day of the first open period, and keeps the day it happened as
`original_date`. `post_journals` asks `posting_dates` for every batch, so every
posting rule gets this without knowing of periods.

Closed months are an unbroken run from the first month of the books
(ledger.closing closes in order and reopens only the latest), so the first open
day is the day after the latest closed month.

Locking: the months posted into are locked FOR SHARE (their rows made first
when missing) until the posting transaction ends; closing a month takes its
row FOR UPDATE. A posting and a close of its month therefore never overlap:
the later one waits, and a posting that waited for a close re-reads and moves
its date on. Postings into the same month share the lock and do not wait for
each other. Take these locks before any balance row (record_payout does), as
post_journals does, so that a close, which locks its month and then posts
its reclassifications, cannot deadlock with a posting.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import connection
from django.db.models import Max

from .models import AccountingPeriod, PeriodStatus


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def month_end(month: date) -> date:
    return next_month(month) - timedelta(days=1)


def first_open_day() -> date | None:
    """The first day of the first open period: the day after the latest closed
    month (None while no month is closed: every day is open)."""
    latest = AccountingPeriod.objects.filter(status=PeriodStatus.CLOSED).aggregate(
        latest=Max("month")
    )["latest"]
    return next_month(latest) if latest is not None else None


def posting_dates(days: Iterable[date]) -> dict[date, date]:
    """Each day's posting date (itself, or the first open day when it is in a
    closed period), with the periods posted into locked until the transaction
    ends (see the module doc). Call it inside the posting's transaction."""
    wanted = set(days)
    if not wanted:
        return {}
    while True:
        first_open = first_open_day()
        dates = {day: max(day, first_open) if first_open else day for day in wanted}
        months = sorted({month_start(day) for day in dates.values()})
        if _lock_open(months):
            return dates
        # A close of one of these months committed after first_open was read:
        # read again (closes are rare and move forward, so this ends).


def _lock_open(months: list[date]) -> bool:
    """Make the months' period rows if missing and lock them FOR SHARE, in month
    order; whether all of them are open."""
    AccountingPeriod.objects.bulk_create(
        [AccountingPeriod(month=month) for month in months], ignore_conflicts=True
    )
    if connection.vendor != "postgresql":
        # SQLite (local development) has one writer at a time and no row locks.
        statuses = AccountingPeriod.objects.filter(month__in=months).values_list(
            "status", flat=True
        )
        return all(status == PeriodStatus.OPEN for status in statuses)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT status FROM {AccountingPeriod._meta.db_table} "
            "WHERE month = ANY(%s) ORDER BY month FOR SHARE",
            [months],
        )
        return all(status == PeriodStatus.OPEN for (status,) in cursor.fetchall())
