"""ledger_entry's monthly partitions: when an old month may be detached.

ledger_entry is partitioned by month of `date` (its journal's posting date) on
PostgreSQL (migration 0006); refunds.partitions makes the coming months for
every table in settings.PARTITIONED_TABLES and asks each table's rule before
detaching an old one.

An entries month may go once it is a CLOSED accounting period (nothing can be
posted into it any more) and what ledger.detached requires holds: the months
before it are detached already (detached months are an unbroken run from the
first, so ledger_entry holds every entry from `first_attached_day()` on), no
entry before its end waits in the DEFAULT partition, its entries add up to its
daily totals and to its journals' entry counts, every vendor payable with
entries in it has its settlement statements generated past them, and
check_ledger agrees on its journals, sales and payouts. Under the detach's lock
the month's figures are recorded (DetachedMonth and the tables beside it) in
the same transaction, and the reads that add up every entry from the first
month (the close's reclassification, statements' openings, the
reconciliation's ledger balance, aging, the tax report, check_ledger) start
from the daily totals or those records before the first attached day
(ledger.detached). A month detached this way never reopens (ledger.closing);
one detached by hand cannot while its table exists.
"""

from __future__ import annotations

from typing import Any

from refunds.partitions import Month, detached

from .models import AccountingPeriod, PeriodStatus


def entries_kept(month: Month, cursor: Any, *, locked: bool) -> str:
    """Why an entries month stays ("" if it may go): one that is not a closed
    period says that first, then ledger.detached.kept. The period row is read
    FOR SHARE under the detach's lock, so a reopen cannot cross a detach; under
    that lock a month that goes has its figures recorded."""
    lock = " FOR SHARE" if locked else ""
    cursor.execute(
        f"SELECT status FROM {AccountingPeriod._meta.db_table} WHERE month = %s{lock}",
        [month.start],
    )
    row = cursor.fetchone()
    if row is None or row[0] != PeriodStatus.CLOSED:
        return f"{month.start:%Y-%m} is not a closed accounting period"
    from .detached import kept

    return kept(month, cursor, locked=locked)


def entries_detached(month_start: Any) -> bool:
    """Whether the entries of the month starting `month_start` were detached."""
    return detached(Month("ledger_entry", month_start))
