"""Detached journals months: when a month of ledger_journal may go, and what
survives it.

A journals month goes after its entries month (ledger.detached): once it is a
closed period, its entries month is detached and recorded (DetachedMonth),
no row points at its journals (ledger.partitions.journals_kept) and
check_ledger's checks that read journals agree. Under the detach's lock what
check_ledger needs of its journals afterwards is recorded in the same
transaction, from the detached table itself:

- DetachedJournalMonth: how many journals, the sum of their entry counts
  (compared with the entries month's DetachedMonth), and when the last was
  posted (compared with the period's close: journals_in_open_periods);
- DetachedSource: per kind (sale, payout) and currency, how many journals,
  the sum of their sources' amounts and the sum of their source ids. The
  checks "each order (payout) has exactly one sale (payout) journal" then
  compare, per currency, the sources with no attached journal (how many, their
  amounts, their ids) with the sum of these records. It is a digest, not
  exact: a single lost, added, changed or swapped source shows (a source that
  lost its journal, gained a second one, changed its amount or was swapped
  for another changes one of the three sums); defects that cancel out in all
  three sums do not (say, one order's amount up and another's down by as
  much, in the same currency). A digest rather than the ids themselves: the
  record stays a few rows a month whatever the month held, as the point of
  detaching is that the table no longer grows with every order;
- DetachedCaseJournals: per case, how many journals and how many refund
  journals (refunds_posted, and the refund journal that
  refund_journals_match_completion compares with the completion snapshot;
  the legs themselves were recorded with the entries: DetachedCaseLeg).

The journals archive drops the key PostgreSQL copies onto it into
ledger_journal (its reversals', ledger.detached.unlink_detached) right after
its DETACH, in that transaction; otherwise PostgreSQL would refuse ever to
detach the journals it points at. The entries archive keeps its key into
this month (ledger.month_keys): the two archives point at each other only
(an entries archive keyed to the whole of ledger_journal drops that key
right before the DETACH).
Detached journals months need not be a run from the first month: a
reversal keeps the month it points into while it is attached, so a later
month may go first (the checks read records per month, not from a day on).

A journal of a detached month is not there to read: `archived_journal_date`
says whether a journal id was one (the API's journal detail then answers 410
journal_archived rather than 404). A journal whose entries were detached
(ledger.detached) still reads, with `entries_archived` in the API and a note
in the admin; reverse_journal refuses it (EntriesDetachedError).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection

# The period's latest event, as the entries' detach reads it.
from .detached import _last_event
from .models import (
    DetachedCaseJournals,
    DetachedJournalMonth,
    DetachedSource,
    JournalKey,
    JournalKind,
    Payout,
)

# What a caller is told of a journal whose month was detached.
JOURNAL_ARCHIVED_NOTE = (
    "This journal is archived: its month was detached from the ledger (its entries "
    "first). Its totals stand in the records check_ledger reads; ask the platform for it."
)


def journal_archived(day: date) -> bool:
    """Whether journals dated `day` were detached from ledger_journal."""
    return DetachedJournalMonth.objects.filter(month=day.replace(day=1)).exists()


def archived_journal_date(journal_id: object) -> date | None:
    """The date of journal `journal_id` if its month was detached (its posting
    key stays in JournalKey), else None. Only asked once a lookup missed and
    some journals month was detached: the key is read by journal_id, through
    its index (migration ledger 0012)."""
    try:
        pk = int(str(journal_id))
    except ValueError:
        return None
    if not DetachedJournalMonth.objects.exists():
        return None
    # One key per journal: unordered (an order by posting_key could walk the
    # primary key instead of looking the id up).
    keys = JournalKey.objects.filter(journal_id=pk).order_by().values_list("date", flat=True)
    day = next(iter(keys[:1]), None)
    return day if day is not None and journal_archived(day) else None


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


# The months the unlocked pass verified, with their period's latest event
# then: under the lock, the same event means nothing was posted since.
_VERIFIED: dict[str, int | None] = {}


def kept(month: Any, cursor: Any, *, locked: bool) -> str:
    """Why the closed journals month `month` (refunds.partitions.Month of
    ledger_journal), whose entries month is detached and recorded and into
    which no row points, must stay; "" if it may go. Unlocked: check_ledger's
    checks that read journals must agree. Locked (the partition held against
    writers, right before its DETACH): the period must not have moved since,
    then what the month held is recorded in the same transaction."""
    if not locked:
        reason = _verify()
        if not reason:
            _VERIFIED[month.name] = _last_event(month.start)
        return reason
    if _VERIFIED.pop(month.name, -1) != _last_event(month.start):
        # Reopened (and closed again) since the checks ran, or never checked:
        # check_ledger's checks read the whole ledger, too long to hold the
        # lock for: ask again.
        return f"{month.start:%Y-%m} changed since check_ledger agreed on it: detach it again"
    _record(month, cursor)
    return ""


def _verify() -> str:
    """check_ledger's checks that read journals (they must agree before the
    journals they read go)."""
    from .invariants import (
        detached_months,
        journals_in_open_periods,
        payouts_posted,
        refund_journals_match_completion,
        refunds_posted,
        sales_posted,
    )

    for check in (
        detached_months,
        journals_in_open_periods,
        sales_posted,
        payouts_posted,
        refunds_posted,
        refund_journals_match_completion,
    ):
        findings = check(1)
        if findings:
            return f"check_ledger finds {findings[0]}: the month is detached once it agrees"
    return ""


def _record(month: Any, cursor: Any) -> None:
    """What the month's journals held, written in the detach's transaction."""
    from .invariants.sql import TABLES

    table = _q(month.name)
    cursor.execute(f"SELECT count(*), coalesce(sum(entry_count), 0), max(created_at) FROM {table}")
    journals, entries, last_posted = cursor.fetchone()
    DetachedJournalMonth.objects.create(
        month=month.start,
        next_month=month.end,
        journals=journals,
        entries=entries,
        last_posted=last_posted,
    )
    cursor.execute(
        f"""
        INSERT INTO {_q(DetachedSource._meta.db_table)}
            (month, kind, currency, journals, amount, source_ids)
        SELECT %s, j.kind, j.currency, count(*),
               coalesce(sum(CASE WHEN j.kind = %s THEN o.captured_amount
                                 ELSE p.amount + p.receivable_offset END), 0),
               coalesce(sum(CASE WHEN j.kind = %s THEN j.order_id ELSE j.payout_id END), 0)
        FROM {table} j
        LEFT JOIN {_q(TABLES["order"])} o ON o.id = j.order_id AND j.kind = %s
        LEFT JOIN {_q(Payout._meta.db_table)} p ON p.id = j.payout_id AND j.kind = %s
        WHERE j.kind = ANY(%s)
        GROUP BY j.kind, j.currency
        """,
        [
            month.start,
            str(JournalKind.SALE),
            str(JournalKind.SALE),
            str(JournalKind.SALE),
            str(JournalKind.PAYOUT),
            [str(JournalKind.SALE), str(JournalKind.PAYOUT)],
        ],
    )
    cursor.execute(
        f"""
        INSERT INTO {_q(DetachedCaseJournals._meta.db_table)} (month, case_id, refunds, journals)
        SELECT %s, case_id, count(*) FILTER (WHERE kind = %s), count(*)
        FROM {table} WHERE case_id IS NOT NULL GROUP BY case_id
        """,
        [month.start, str(JournalKind.REFUND)],
    )
