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

ledger_journal is partitioned the same way by its own `date` (migration
0008). A journals month stays while it is not a closed period, while its
entries month is attached (entries go first) or was detached without its
record (by hand), while any row points into it (reversals, cash's write-offs
and payout reports: every foreign key to ledger_journal, from the catalog),
and until check_ledger's checks that read journals agree; under the detach's
lock what check_ledger needs of its journals is recorded
(ledger.detached_journals, journals_kept).
"""

from __future__ import annotations

from typing import Any

from refunds.partitions import Month, detached, monthly_partitions

from .models import AccountingPeriod, DetachedMonth, PeriodStatus


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


def _journal_references(cursor: Any) -> list[tuple[str, list[str], list[str]]]:
    """(table, its columns, the journal's columns) of every foreign key to
    ledger_journal (attached partitions are their parent's; the entries
    months' keys point into their own journals months, not here:
    ledger.month_keys)."""
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, array_agg(a.attname ORDER BY k.n),
               array_agg(b.attname ORDER BY k.n)
        FROM pg_constraint c
        CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(col, ref, n)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col
        JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = k.ref
        WHERE c.contype = 'f' AND c.confrelid = to_regclass('ledger_journal')
          AND c.conparentid = 0
        GROUP BY c.oid, 1 ORDER BY 1
        """
    )
    return [(table, list(mine), list(theirs)) for table, mine, theirs in cursor.fetchall()]


def journals_kept(month: Month, cursor: Any, *, locked: bool) -> str:
    """Why a journals month stays ("" if it may go): it is not a closed period
    (the period row read FOR SHARE under the detach's lock, as for the
    entries), its entries month is still attached or was detached without
    being recorded (by hand), a row points at its journals (under the lock
    not looked at again: PostgreSQL checks the foreign keys at the DETACH
    that follows, and refuses it),
    or ledger.detached_journals.kept says why (check_ledger disagrees; under
    the lock it records what the month held)."""
    lock = " FOR SHARE" if locked else ""
    cursor.execute(
        f"SELECT status FROM {AccountingPeriod._meta.db_table} WHERE month = %s{lock}",
        [month.start],
    )
    row = cursor.fetchone()
    if row is None or row[0] != PeriodStatus.CLOSED:
        return f"{month.start:%Y-%m} is not a closed accounting period"
    entries = Month("ledger_entry", month.start)
    if month.start in {m.start for m in monthly_partitions(entries.table)}:
        return f"its entries month {entries.name} is attached: entries go first"
    if not DetachedMonth.objects.filter(month=month.start).exists():
        return (
            f"its entries month {entries.name} is not recorded as detached (detached by "
            "hand?): check_ledger would have nothing to compare its journals with; "
            "attach it back and detach it with `manage.py partitions detach`"
        )
    if not locked:
        for table, columns, referenced in _journal_references(cursor):
            if table == entries.name:
                # The month's own entries archive, keyed to the whole of
                # ledger_journal: the key goes right before the DETACH
                # (ledger.detached.before_journals_detach).
                continue
            on = " AND ".join(
                f'r."{c}" = j."{t}"' for c, t in zip(columns, referenced, strict=True)
            )
            dated = [c for c, t in zip(columns, referenced, strict=True) if t == "date"]
            # The referring date column prunes a partitioned referrer to the month.
            within = "".join(f' AND r."{c}" >= %s AND r."{c}" < %s' for c in dated)
            cursor.execute(
                f'SELECT EXISTS (SELECT 1 FROM {table} r JOIN "{month.name}" j ON {on}{within})',
                [bound for _ in dated for bound in (month.start, month.end)],
            )
            if cursor.fetchone()[0]:
                return f"rows of {table} still point at its journals"
    from .detached_journals import kept

    return kept(month, cursor, locked=locked)
