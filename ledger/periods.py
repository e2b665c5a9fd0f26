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
    ends (see the module doc). Call it inside the posting's transaction.

    Usually one statement: lock the months of the days as they are and read
    the latest closed month with them. Again only when a month has no period
    row yet (its first posting makes it), a day must move, or a close of a
    month it locks committed meanwhile (closes are rare and move forward, so
    this ends)."""
    wanted = set(days)
    if not wanted:
        return {}
    dates = {day: day for day in wanted}
    while True:
        months = sorted({month_start(day) for day in dates.values()})
        statuses, latest_closed = _lock(months)
        if len(statuses) < len(months):
            # A month's first posting: date by a fresh read of the closed
            # months, then make the rows of the (open) months posted into.
            dates = _moved(wanted, first_open_day())
            AccountingPeriod.objects.bulk_create(
                [AccountingPeriod(month=month_start(day)) for day in set(dates.values())],
                ignore_conflicts=True,
            )
            continue
        if any(status != PeriodStatus.OPEN for status in statuses):
            # A close committed while we waited for its month: read it next round.
            dates = _moved(wanted, first_open_day())
            continue
        moved = _moved(wanted, next_month(latest_closed) if latest_closed else None)
        if moved == dates:
            return dates
        dates = moved


def _moved(days: set[date], first_open: date | None) -> dict[date, date]:
    return {day: max(day, first_open) if first_open else day for day in days}


def _lock(months: list[date]) -> tuple[list[str], date | None]:
    """The statuses of the months' existing period rows, locked FOR SHARE in
    month order, and the latest closed month."""
    table = AccountingPeriod._meta.db_table
    if connection.vendor != "postgresql":
        # SQLite (local development) has one writer at a time and no row locks.
        statuses = AccountingPeriod.objects.filter(month__in=months).values_list(
            "status", flat=True
        )
        latest = AccountingPeriod.objects.filter(status=PeriodStatus.CLOSED).aggregate(
            latest=Max("month")
        )["latest"]
        return list(statuses), latest
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.status, (SELECT max(c.month) FROM {table} c WHERE c.status = %s) "
            f"FROM {table} p WHERE p.month = ANY(%s) ORDER BY p.month FOR SHARE OF p",
            [PeriodStatus.CLOSED, months],
        )
        rows = cursor.fetchall()
    return [status for status, _ in rows], rows[0][1] if rows else None
