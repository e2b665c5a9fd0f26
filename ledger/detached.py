"""Detached entries months: what survives a detach, and when one may happen.

A closed month of ledger_entry may be detached (refunds.partitions, rule
ledger.partitions.entries_kept). Detached months are an unbroken run from the
first month of the books, so ledger_entry holds exactly the entries dated from
`first_attached_day()` on. Every read that adds up entries from the beginning
starts instead from what survives a detach:

- daily totals (AccountDay, never detached: posting maintains them, and no
  journal can be dated in a closed month) for balances at a day: the
  reclassification of payables' debit balances at a close
  (ledger.receivables), the reconciliation's ledger balance
  (cash.services.periods), the aging reports' balances, the tax report's
  booked tax. These are exact whatever is detached;
- a settlement statement's opening: the daily totals before the first
  attached day plus the entries from it. That is exact because a month is
  only detached once every vendor payable with entries in it has a statement
  (generated before the detach) whose period reaches the month's last entry
  and whose cutoff is after every entry of it was posted: no statement made
  later reads a detached entry as a line, and the part of its opening before
  the first attached day is all of those entries (`_statements_reason`).
  The lines of a statement that existed when a month at or after its start
  was detached are archived with the month (`statement_archived`);
- aging's open debits: the debits still attached, newest first, then the
  debits that made up each aged account's debit balance at the end of the
  last detached month (CarriedDebit, written at the detach). Credits settle
  the oldest debits first, so what a later date needs of the older debits is
  always a newest-first part of that list (ledger.reports.aging);
- check_ledger: what each detached month held (DetachedMonth, DetachedTotal,
  DetachedDigest, DetachedCaseLeg), recorded in the detach's transaction
  from the detached table itself.

Reads of the entries themselves in a detached month (journal exports, a
statement's lines, aging at a day inside one, reversing one of its journals)
raise EntriesDetachedError rather than answer with what is left.

Each of these reads asks where the attached entries start (first_attached_day,
require_attached, statement_archived, check_ledger's `{first_attached}`) and
reads the entries in one `attached_months_held(alias)` block, on the alias it
reads from: ledger_entry is locked there in ACCESS SHARE mode before the
first read, so no month is detached between the ask and the read (each is a
statement of its own, with its own snapshot, under READ COMMITTED).

The month's journals stay in ledger_journal until their own detach, after
this one (ledger.detached_journals, which records what check_ledger needs of
them then). The detached entries table keeps its key into its own journals
month (ledger.month_keys): PostgreSQL looks at neither when that month goes,
and the two archives keep it between them. An entries month whose key points
into the whole of ledger_journal (made before its journals month, or
detached before ledger 0013) drops that key right before its journals
month's DETACH, in its transaction (`before_journals_detach`,
settings.PARTITION_BEFORE_DETACH): PostgreSQL would find its rows pointing
into the month and refuse the DETACH.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Q, Subquery

from lib.errors import DomainError
from lib.planning import set_local

from .models import (
    Account,
    AccountDay,
    AccountRole,
    CarriedDebit,
    DetachedCaseLeg,
    DetachedDigest,
    DetachedMonth,
    DetachedTotal,
    Entry,
    Journal,
    JournalKind,
    PeriodEvent,
    SettlementStatement,
)

# The accounts the aging reports age (ledger.reports.aging).
AGED_ROLES = (
    AccountRole.VENDOR_RECEIVABLE,
    AccountRole.VENDOR_PAYABLE,
    AccountRole.GATEWAY_CLEARING,
)
# Journals whose debits check_ledger compares with their source, per month.
DIGEST_KINDS = (JournalKind.SALE, JournalKind.PAYOUT)
# Journals whose legs check_ledger compares with their case.
CASE_KINDS = (JournalKind.REFUND, JournalKind.CORRECTION, JournalKind.REVERSAL)


# What a vendor is told of a statement whose lines are archived (statement_archived),
# on the portal and through the API alike.
ARCHIVED_NOTE = (
    "The lines of this statement are archived: the ledger entries of its month were "
    "detached. Its totals stand; ask the platform for its lines."
)


class EntriesDetachedError(DomainError):
    """A read needs entries of a month detached from ledger_entry."""

    def __init__(self, what: str, before: date) -> None:
        super().__init__(
            "date",
            f"{what} needs entries dated before {before:%Y-%m-%d}, whose months were "
            "detached from ledger_entry (archived): attach them again to read them.",
            code="entries_detached",
        )


def first_attached_day() -> date | None:
    """The first day whose entries are still in ledger_entry (None: no month
    was ever detached, all are)."""
    last = DetachedMonth.objects.order_by("-month").values_list("next_month", flat=True).first()
    return last


@contextmanager
def attached_months_held(alias: str) -> Iterator[None]:
    """A transaction on `alias` in which no month is detached: what
    `first_attached_day()` says inside it stays true until it ends.

    Under READ COMMITTED each statement sees the commits made before it, so a
    reader that asks first_attached_day() and then adds up the entries from
    it in a later statement could add them up after a detach committed in
    between, and miss the month (a silently wrong balance). Inside this block
    ledger_journal and ledger_entry are locked IN ACCESS SHARE MODE, in that
    order, before anything is read. That conflicts only with the ACCESS
    EXCLUSIVE locks of a detach (refunds.partitions._detach): a detach under
    way is waited for, and none starts (its lock_timeout runs out: "busy")
    until the block's transaction ends. The journals first, as every detach
    and every posting locks them (DETACH_LOCK_ORDER): a reader holding the
    entries could otherwise wait for a journals detach that waits for it.
    Other databases: just the transaction.

    On a hot-standby replica the lock is allowed but does not hold back the
    primary's detach: replaying it waits for the readers holding the lock,
    up to the standby's max_standby_streaming_delay, and then cancels them
    (the read fails with a conflict with recovery; what it read before was
    consistent). Run detaches when reports are quiet.
    """
    with transaction.atomic(using=alias):
        if connections[alias].vendor == "postgresql":
            with connections[alias].cursor() as cursor:
                # ONLY: the DETACH locks the parent tables; their months need not be.
                cursor.execute(
                    f"LOCK TABLE ONLY {_q(Journal._meta.db_table)}, "
                    f"{_q(Entry._meta.db_table)} IN ACCESS SHARE MODE"
                )
        yield


def require_attached(day: date, what: str) -> None:
    """Refuse a read of the entries dated from `day` on if some are detached."""
    first = first_attached_day()
    if first is not None and day < first:
        raise EntriesDetachedError(what, first)


def statement_archived(statement: SettlementStatement) -> bool:
    """Whether the statement's lines may include detached entries: it existed
    when a month of its account was detached, and began before that month
    ended or may carry a late line posted after its previous one's cutoff
    (the detach rule makes every statement generated later read attached
    entries only: see the module doc)."""
    later = DetachedMonth.objects.filter(detached_at__gt=statement.generated_at)
    may_hold = Q(month__in=later.filter(next_month__gt=statement.period_start).values("month"))
    if statement.previous_id is not None:
        previous = SettlementStatement.objects.filter(pk=statement.previous_id)
        may_hold |= Q(last_posted__gt=Subquery(previous.values("cutoff")))
    # One query, whatever the statement.
    return (
        DetachedTotal.objects.filter(
            account_id=statement.account_id,
            currency=statement.currency,
            month__in=later.values("month"),
        )
        .filter(may_hold)
        .exists()
    )


def carried_debits(day: date, account_id: int, currency: str) -> list[tuple[date, Any]]:
    """(arose, amount) of the debits that made up the account's debit balance
    at the end of `day` (a detached month's last day), newest first."""
    return list(
        CarriedDebit.objects.filter(day=day, account_id=account_id, currency=currency)
        .order_by("position")
        .values_list("arose", "amount")
    )


def is_detached_month_end(day: date) -> bool:
    return DetachedMonth.objects.filter(next_month=day + timedelta(days=1)).exists()


# ---------------------------------------------------------------- the rule


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


# The months the unlocked pass found detachable, with their period's latest
# event then: under the lock, the same event means nothing was posted since.
_VERIFIED: dict[str, int | None] = {}


def kept(month: Any, cursor: Any, *, locked: bool) -> str:
    """Why the closed month `month` (refunds.partitions.Month of ledger_entry)
    must stay attached, "" if it may go. Asked again under the detach's lock
    (locked=True: its partition held against writers, right before the
    DETACH), it checks the order of months again and, unless the period was
    reopened since the first ask, only records what the month held (nothing
    can be written into the month: the checks are not run twice), in the
    same transaction."""
    start, end = month.start, month.end
    earlier = [m.name for m in _attached_months() if m.start < start]
    if earlier:
        return f"an earlier month is still attached ({earlier[0]}): detach months in order"
    unrecorded = _unrecorded_before(start)
    if unrecorded:
        return (
            f"{unrecorded:%Y-%m} has entries but is neither attached nor recorded as "
            "detached (detached by hand?): attach it back before detaching later months"
        )
    if locked and _VERIFIED.pop(month.name, -1) == _last_event(start):
        # Closed all along since the unlocked pass: no journal was posted into
        # it, and newer statements only reach further.
        reason = ""
    else:
        # The period's latest event before the checks: a reopen, post and
        # close while they run leaves a newer one, so the locked pass checks
        # the month again instead of trusting this one.
        seen = _last_event(start)
        # After the DETACH check_ledger no longer sees the month's entries:
        # its checks ran in the unlocked pass.
        reason = _verify(month, cursor, checks=not locked)
    if reason or not locked:
        if not reason:
            _VERIFIED[month.name] = seen
        return reason
    cursor.execute(
        f"SELECT (SELECT count(*) FROM {_q(Journal._meta.db_table)} "
        f"WHERE date >= %s AND date < %s), (SELECT count(*) FROM {_q(month.name)})",
        [start, end],
    )
    journals, entries = cursor.fetchone()
    _record(month, cursor, journals=journals, entries=entries)
    return ""


def _unrecorded_before(start: date) -> date | None:
    """The first month before `start` that is neither attached (the caller
    checked) nor a recorded detached month but has daily totals, so had
    entries (a month detached by hand): detached months must be an unbroken,
    recorded run from the first month of the books."""
    days = AccountDay.objects.filter(date__lt=start)
    recorded = first_attached_day()
    if recorded is not None:
        days = days.filter(date__gte=recorded)
    first_day = days.order_by("date").values_list("date", flat=True).first()
    return None if first_day is None else first_day.replace(day=1)


def _last_event(month_start: date) -> int | None:
    return (
        PeriodEvent.objects.filter(period__month=month_start)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )


def _verify(month: Any, cursor: Any, *, checks: bool) -> str:
    """What keeps the closed month, "" if nothing does (see the module doc);
    `checks`: with check_ledger's checks of journals, sales and payouts."""
    start, end = month.start, month.end
    cursor.execute(f"SELECT count(*) FROM {_q('ledger_entry_default')} WHERE date < %s", [end])
    if cursor.fetchone()[0]:
        return (
            f"entries dated before {end:%Y-%m-%d} are in ledger_entry_default: "
            "move them to their months' partitions first"
        )
    table = _q(month.name)
    journal = _q(Journal._meta.db_table)
    day = _q(AccountDay._meta.db_table)
    # The month's entries add up to its daily totals, per account, currency and day.
    cursor.execute(
        f"""
        SELECT count(*) FROM (
            SELECT account_id, currency, date, sum(debit) AS debit, sum(credit) AS credit
            FROM {table} GROUP BY 1, 2, 3
        ) s FULL OUTER JOIN (
            SELECT account_id, currency, date, debit, credit FROM {day}
            WHERE date >= %s AND date < %s
        ) d ON d.account_id = s.account_id AND d.currency = s.currency AND d.date = s.date
        WHERE s.debit IS DISTINCT FROM d.debit OR s.credit IS DISTINCT FROM d.credit
        """,
        [start, end],
    )
    if cursor.fetchone()[0]:
        return "its daily totals differ from its entries (check_ledger: days_match_entries)"
    # Its journals have their entries (the journal check at commit holds it).
    cursor.execute(
        f"""
        SELECT (SELECT coalesce(sum(entry_count), 0) FROM {journal}
                WHERE date >= %s AND date < %s),
               (SELECT count(*) FROM {table})
        """,
        [start, end],
    )
    declared, entries = cursor.fetchone()
    if declared != entries:
        return f"its journals declare {declared} entries but it holds {entries}"
    reason = _statements_reason(month, cursor)
    if reason or not checks:
        return reason
    from .invariants import journals_balance, payouts_posted, sales_posted

    for check in (journals_balance, sales_posted, payouts_posted):
        findings = check(1)
        if findings:
            return f"check_ledger finds {findings[0]}: the month is detached once it agrees"
    return ""


def _attached_months() -> list[Any]:
    from refunds.partitions import monthly_partitions

    return monthly_partitions("ledger_entry")


def _statements_reason(month: Any, cursor: Any) -> str:
    """Every vendor payable with entries in the month has a latest statement
    that reaches the month's last entry of it and was cut after the month's
    last posting to it: statements made later read no entry of the month."""
    table = _q(month.name)
    cursor.execute(
        f"""
        SELECT e.account_id, e.currency, max(e.date), max(j.created_at), min(a.code)
        FROM {table} e
        JOIN {_q(Journal._meta.db_table)} j ON j.id = e.journal_id AND j.date = e.date
        JOIN {_q(Account._meta.db_table)} a ON a.id = e.account_id
        WHERE a.role = %s
        GROUP BY e.account_id, e.currency
        ORDER BY 5, 2
        """,
        [AccountRole.VENDOR_PAYABLE],
    )
    for account_id, currency, last_day, last_posted, code in cursor.fetchall():
        latest = (
            SettlementStatement.objects.filter(account_id=account_id, currency=currency)
            .order_by("-period_end")
            .first()
        )
        if latest is None or latest.period_end < last_day or latest.cutoff < last_posted:
            return (
                f"vendor payable {code} {currency}: its entries of the month (up to "
                f"{last_day:%Y-%m-%d}, posted up to {last_posted:%Y-%m-%d %H:%M}) are not "
                "all in its settlement statements yet: generate them first"
            )
    return ""


def _record(month: Any, cursor: Any, *, journals: int, entries: int) -> None:
    """What the month held, written in the detach's transaction."""
    start, end = month.start, month.end
    table = _q(month.name)
    journal = _q(Journal._meta.db_table)
    account = _q(Account._meta.db_table)
    DetachedMonth.objects.create(month=start, next_month=end, journals=journals, entries=entries)
    cursor.execute(
        f"""
        INSERT INTO {_q(DetachedTotal._meta.db_table)}
            (month, account_id, currency, debit, credit, entries, last_posted)
        SELECT %s, e.account_id, e.currency, sum(e.debit), sum(e.credit), count(*),
               max(j.created_at)
        FROM {table} e JOIN {journal} j ON j.id = e.journal_id AND j.date = e.date
        GROUP BY e.account_id, e.currency
        """,
        [start],
    )
    cursor.execute(
        f"""
        INSERT INTO {_q(DetachedDigest._meta.db_table)} (month, kind, currency, journals, debit)
        SELECT %s, j.kind, e.currency, count(DISTINCT j.id), sum(e.debit)
        FROM {table} e JOIN {journal} j ON j.id = e.journal_id AND j.date = e.date
        WHERE j.kind = ANY(%s)
        GROUP BY j.kind, e.currency
        """,
        [start, [str(kind) for kind in DIGEST_KINDS]],
    )
    from .invariants.sql import _NAMES, LEG

    cursor.execute(
        f"""
        INSERT INTO {_q(DetachedCaseLeg._meta.db_table)} (month, case_id, kind, leg, amount)
        SELECT %s, j.case_id, j.kind, {LEG.format(**_NAMES)}, sum(e.debit - e.credit)
        FROM {table} e
        JOIN {journal} j ON j.id = e.journal_id AND j.date = e.date
        JOIN {account} a ON a.id = e.account_id
        LEFT JOIN {_q(_NAMES["vendor"])} v ON v.id = a.vendor_id
        WHERE j.case_id IS NOT NULL AND j.kind = ANY(%s)
        GROUP BY j.case_id, j.kind, 4
        """,
        [start, [str(kind) for kind in CASE_KINDS]],
    )
    _record_carried_debits(month, cursor)


# The detach's locks (settings.PARTITION_BEFORE_DETACH), in the order every
# posting takes them (a journal is inserted before its entries) and every
# reader in attached_months_held does: ledger_journal, then ledger_entry. A
# DETACH of ledger_journal's month locks the entries tables whose key points
# into the whole of ledger_journal (ledger_entry_default, and any month made
# before its journals month) after the journals, to check that none of their
# rows points into the month; the entries months' keys into their own
# journals months no DETACH checks (ledger.month_keys). Taking the journals'
# lock first keeps one order, so a poster or a reader waits instead of
# deadlocking. A DETACH of an entries month locks no journals.

# The DETACH of a journals month checks that no row points into it: the
# reversals among the journals, cash's write-offs and payout reports,
# ledger_entry_default (and an entries month keyed to the whole of
# ledger_journal). Planned as lookups by key, each of them looked up in its
# own month, not merged with every row; a hash or merge join could read
# whole tables for them, with ledger_journal locked (380 ms on a
# 2,000,000-entry ledger when every entries month was keyed that way, before
# ledger 0013). Set for the DETACH, put back after.
_RI_CHECK_SETTINGS = {"enable_hashjoin": "off", "enable_mergejoin": "off"}
_SETTINGS_BEFORE: dict[str, dict[str, str]] = {}


def before_journals_detach(month: Any, cursor: Any) -> None:
    """Right before a journals month's DETACH: ledger_journal locked ACCESS
    EXCLUSIVE (the DETACH's own first lock, taken here before anything else
    of the ledger's), then the month's entries archive drops a key into the
    whole of ledger_journal if it has one (that lock is what dropping it
    needs); the DETACH's check of the keys planned as lookups by key
    (_RI_CHECK_SETTINGS)."""
    from refunds.partitions import Month

    cursor.execute(f"LOCK TABLE {_q(Journal._meta.db_table)} IN ACCESS EXCLUSIVE MODE")
    unlink_detached(Month(Entry._meta.db_table, month.start), cursor)
    names = list(_RI_CHECK_SETTINGS)
    cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(names)), names)
    _SETTINGS_BEFORE[month.name] = dict(zip(names, cursor.fetchone(), strict=True))
    set_local(cursor, _RI_CHECK_SETTINGS)


def after_journals_detach(month: Any, cursor: Any) -> None:
    """Right after a journals month's DETACH: the planner settings put back,
    and the journals archive drops its own keys into ledger_journal (its
    reversals')."""
    set_local(cursor, _SETTINGS_BEFORE.pop(month.name, {}))
    unlink_detached(month, cursor)


def unlink_detached(month: Any, cursor: Any) -> None:
    """Drop the foreign keys of the month's detached table into the whole of
    ledger_journal: an archive keeps no key into the attached journals, which
    would keep their months attached for ever (PostgreSQL refuses to detach
    rows still referenced). An entries archive keyed that way drops it right
    before its journals month's DETACH (before_journals_detach); a journals
    archive (the copy PostgreSQL makes of the reversals' key) right after its
    own DETACH (settings.PARTITION_AFTER_DETACH). Either way under the ACCESS
    EXCLUSIVE lock on ledger_journal that dropping them needs, which the
    journals' DETACH holds anyway. A key into the journals month itself
    (ledger.month_keys) stays."""
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' "
        "AND conrelid = to_regclass(%s) AND confrelid = to_regclass(%s)",
        [month.name, Journal._meta.db_table],
    )
    for (name,) in cursor.fetchall():
        cursor.execute(f"ALTER TABLE {_q(month.name)} DROP CONSTRAINT {_q(name)}")


def _record_carried_debits(month: Any, cursor: Any) -> None:
    """The debits that make up each aged account's debit balance at the end of
    the month, newest first: the month's own debits, then those carried from
    the month before (if it was detached), cut where the balance is covered."""
    start, end = month.start, month.end
    last_day = end - timedelta(days=1)
    cursor.execute(
        f"""
        WITH balances AS (
            SELECT d.account_id, d.currency, sum(d.debit) - sum(d.credit) AS balance
            FROM {_q(AccountDay._meta.db_table)} d
            JOIN {_q(Account._meta.db_table)} a ON a.id = d.account_id
            WHERE a.role = ANY(%s) AND d.date < %s
            GROUP BY d.account_id, d.currency
            HAVING sum(d.debit) > sum(d.credit)
        ),
        debits AS (
            SELECT e.account_id, e.currency, 0 AS src, e.date AS k1, e.journal_id AS k2,
                   e.id AS k3, coalesce(j.original_date, e.date) AS arose, e.debit AS amount
            FROM {_q(month.name)} e
            JOIN {_q(Journal._meta.db_table)} j ON j.id = e.journal_id AND j.date = e.date
            JOIN balances b ON b.account_id = e.account_id AND b.currency = e.currency
            WHERE e.debit > 0
            UNION ALL
            SELECT c.account_id, c.currency, 1, NULL, NULL, -c.position, c.arose, c.amount
            FROM {_q(CarriedDebit._meta.db_table)} c
            WHERE c.day = %s
        ),
        running AS (
            SELECT d.account_id, d.currency, d.arose, d.amount, b.balance,
                   sum(d.amount) OVER w AS upto, row_number() OVER w AS position
            FROM debits d
            JOIN balances b ON b.account_id = d.account_id AND b.currency = d.currency
            WINDOW w AS (
                PARTITION BY d.account_id, d.currency
                ORDER BY d.src, d.k1 DESC, d.k2 DESC, d.k3 DESC
                ROWS UNBOUNDED PRECEDING
            )
        )
        INSERT INTO {_q(CarriedDebit._meta.db_table)}
            (day, account_id, currency, position, arose, amount)
        SELECT %s, account_id, currency, position, arose,
               least(amount, balance - (upto - amount))
        FROM running WHERE upto - amount < balance
        """,
        [[str(role) for role in AGED_ROLES], end, start - timedelta(days=1), last_day],
    )
