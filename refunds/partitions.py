"""Monthly partitions of the tables partitioned by month (PostgreSQL only).

The tables are named in settings.PARTITIONED_TABLES, each with the function
that says whether one of its old months may go (its detach rule): the case
events and the outbox (RANGE on created_at, timestamptz: months in UTC; made
by refunds 0002), the ledger's entries (RANGE on date, the journal's
posting date; made by ledger 0006) and journals (RANGE on their date; ledger
0008). One partition per calendar month, named
`<table>_yYYYYmMM`, plus `<table>_default` for rows of a month that has no
partition yet. From then on:

- `create_ahead` makes the partitions of the current month and the next
  `months` ones that are missing (idempotent; the daily beat task and
  `manage.py partitions create-ahead`). A month whose rows already sit in the
  DEFAULT partition (the task did not run for months, or a row was dated
  ahead) is refused with what to do: PostgreSQL itself refuses to attach a
  month over rows of DEFAULT, and moving them here would hold the whole table
  locked while it copies. The refusal is checked before, and the error that
  PostgreSQL raises if a row arrives in between is turned into the same one.
  A refused month does not stop the others: all are made, then one error
  names every refused month. A table's hooks in settings.PARTITION_BEFORE_CREATE
  and PARTITION_AFTER_CREATE run in the month's transaction, right before
  and after its CREATE, and such tables' months are made after the others'
  (an entries month gets its key into its own journals month, that month
  locked first: ledger.month_keys).
- `detach` detaches (never drops) the monthly partitions that end on or
  before the first day of the month `older_than` - 1 months before the
  current one (it keeps the current month and the `older_than` - 1 before
  it), refusing the current month and any month its table's rule keeps:
  events: a row still points at them (attachments, outbox, notifications,
  invoices: every foreign key to refunds_caseevent, found in the catalog);
  outbox: a message left (not drained, or parked as failed); entries: a
  month that is not a closed accounting period, or that a read still needs
  (ledger.partitions, ledger.detached); journals: a month whose entries month
  is still attached (or unrecorded), that a row points at, or that
  check_ledger does not agree on yet (ledger.detached_journals). The
  rules run first without locking the table, then again in the detach's
  transaction with the month's partition locked against writers (SHARE), and
  the DETACH follows in that transaction: the whole table is locked only
  from the DETACH to the commit, not while a rule records what the month
  held (a reference arriving in between makes PostgreSQL refuse the DETACH:
  it checks the foreign keys then). Right before and after the DETACH, the
  table's hooks in settings.PARTITION_BEFORE_DETACH / PARTITION_AFTER_DETACH
  (if any) run in the same transaction (the journals' lock the ledger's
  tables in the order its writers do, and a journals archive drops its
  foreign keys into the journals). A refusal, a
  lock not had within LOCK_TIMEOUT (the month) or TABLE_LOCK_TIMEOUT (the
  whole table), or a deadlock keeps the month with the reason. A
  detached partition stays as a plain table of its
  own name, to be archived or dropped by hand; its rows are no longer in
  the parent.

On SQLite (local development) the tables stay plain, and these do nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .errors import RefundError

MONTH_NAME = re.compile(r"_y(\d{4})m(\d{2})$")
# Creating or detaching a partition locks the parent table: give up rather
# than queue every writer behind a long transaction.
LOCK_TIMEOUT = "5s"
# A lock on a whole table waited for queues every later reader and writer of
# it behind: wait less for those (a long report holds them off; try again).
TABLE_LOCK_TIMEOUT = "1s"
# SQLSTATEs of a refused DETACH.
FOREIGN_KEY_VIOLATION = "23503"
LOCK_NOT_AVAILABLE = "55P03"
DEADLOCK_DETECTED = "40P01"


class PartitionError(RefundError):
    def __init__(self, message: str, *, made: list[str] | None = None) -> None:
        super().__init__("partitions", message, code="partitions")
        self.made = made or []  # create_ahead: the months it made before refusing


@dataclass(frozen=True)
class Month:
    table: str
    start: date

    @property
    def name(self) -> str:
        return f"{self.table}_y{self.start.year:04d}m{self.start.month:02d}"

    @property
    def end(self) -> date:
        return add_months(self.start, 1)

    def bounds(self) -> tuple[date, date] | tuple[datetime, datetime]:
        """The month's range in its table's partition key: dates for a date
        key, else instants (UTC midnights)."""
        if partition_key(self.table)[1] == "date":
            return (self.start, self.end)
        return (
            datetime.combine(self.start, datetime.min.time(), UTC),
            datetime.combine(self.end, datetime.min.time(), UTC),
        )


def partitioned_tables() -> list[str]:
    """The tables partitioned by month, in settings.PARTITIONED_TABLES order."""
    return list(settings.PARTITIONED_TABLES)


def rule(table: str) -> Callable[..., str]:
    """`table`'s detach rule: `rule(month, cursor, locked=...)` says why the
    month must stay ("" if it may go). Asked first without a lock
    (locked=False), then again in the detach's transaction with the month's
    partition locked against writers, right before the DETACH (locked=True),
    where "" lets it go."""
    found: Callable[..., str] = import_string(settings.PARTITIONED_TABLES[table])
    return found


def _hook(setting: str, table: str) -> Callable[[Month, Any], Any] | None:
    path = getattr(settings, setting, {}).get(table)
    if path is None:
        return None
    found: Callable[[Month, Any], Any] = import_string(path)
    return found


def detach_hook(when: str, table: str) -> Callable[[Month, Any], None] | None:
    """What runs right `when` ("before" or "after") `table`'s DETACH, in its
    transaction: `hook(month, cursor)` (settings.PARTITION_BEFORE_DETACH,
    PARTITION_AFTER_DETACH), or None."""
    return _hook(f"PARTITION_{when.upper()}_DETACH", table)


def create_hook(when: str, table: str) -> Callable[[Month, Any], None] | None:
    """What runs right `when` ("before" or "after") a month of `table` is
    made, in its transaction: `hook(month, cursor)`
    (settings.PARTITION_BEFORE_CREATE, PARTITION_AFTER_CREATE), or None."""
    return _hook(f"PARTITION_{when.upper()}_CREATE", table)


def partition_key(table: str) -> tuple[str, str]:
    """(column, type) of the partition key of `table`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_partitioned_table p "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE p.partrelid = to_regclass(%s)",
            [table],
        )
        column, kind = cursor.fetchone()
        return str(column), str(kind)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_of(moment: datetime | date | None = None) -> date:
    """The first day of the (UTC) month of `moment` (default: now)."""
    if moment is None:
        moment = timezone.now()
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.replace(day=1)


def is_partitioned(table: str) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p JOIN pg_class c "
            "ON c.oid = p.partrelid WHERE c.oid = to_regclass(%s))",
            [table],
        )
        return bool(cursor.fetchone()[0])


def monthly_partitions(table: str) -> list[Month]:
    """The attached monthly partitions of `table`, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [table],
        )
        names = [name for (name,) in cursor.fetchall()]
    months = []
    for name in names:
        match = MONTH_NAME.search(name)
        if match and name == Month(table, date(int(match[1]), int(match[2]), 1)).name:
            months.append(Month(table, date(int(match[1]), int(match[2]), 1)))
    return sorted(months, key=lambda m: m.start)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def create_month_sql(month: Month) -> str:
    low, high = month.bounds()
    return (
        f"CREATE TABLE {_q(month.name)} PARTITION OF {_q(month.table)} "
        f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
    )


def rows_in_default(month: Month) -> int:
    low, high = month.bounds()
    column = partition_key(month.table)[0]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {_q(month.table + '_default')} "
            f"WHERE {_q(column)} >= %s AND {_q(column)} < %s",
            [low, high],
        )
        return int(cursor.fetchone()[0])


def _in_default(month: Month, count: int | None) -> str:
    rows = f"{count} rows" if count is not None else "rows"
    return (
        f"{month.table}: {rows} of {month.start:%Y-%m} are in the DEFAULT partition "
        f"{month.table}_default"
    )


def _in_default_error(refused: list[str], made: list[str]) -> PartitionError:
    return PartitionError(
        "; ".join(refused) + ", so their month partitions cannot be attached over them. "
        "Move them by hand in a quiet moment (create the month as a plain table, "
        "move the rows from the default partition, give an entries month its foreign key "
        "(journal_id, date) into its journals month, DEFERRABLE INITIALLY DEFERRED, "
        "ATTACH PARTITION), then run create-ahead again. "
        + (f"Made the other months: {', '.join(made)}." if made else "No other month was missing."),
        made=made,
    )


def create_ahead(
    months: int = 3,
    *,
    today: date | None = None,
    dry_run: bool = False,
    tables: Sequence[str] | None = None,
) -> list[str]:
    """Create the missing partitions of the current month and the next `months`
    of every partitioned table (or of `tables`); returns their names (to be
    made, if dry_run). A month with rows in DEFAULT is refused and the others
    are made all the same; then one PartitionError names every refused month
    (its `made`: the months made)."""
    tables = partitioned_tables() if tables is None else list(tables)
    if not all(is_partitioned(t) for t in tables):
        return []
    # Tables with a creation hook last: it may point the new month at another
    # table's month of this run (the ledger's entries at their journals).
    hooked = {**settings.PARTITION_BEFORE_CREATE, **settings.PARTITION_AFTER_CREATE}
    tables.sort(key=lambda table: table in hooked)
    first = month_of(today)
    made: list[str] = []
    refused: list[str] = []
    for table in tables:
        existing = {m.start for m in monthly_partitions(table)}
        for offset in range(months + 1):
            month = Month(table, add_months(first, offset))
            if month.start in existing:
                continue
            count = rows_in_default(month)
            if count:
                refused.append(_in_default(month, count))
                continue
            if not dry_run and not _create(month):
                refused.append(_in_default(month, None))
                continue
            made.append(month.name)
    if refused:
        raise _in_default_error(refused, made)
    return made


def _create(month: Month) -> bool:
    """Make the month, and run its table's creation hook in the same
    transaction; False if PostgreSQL refused it over rows of DEFAULT."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                before = create_hook("before", month.table)
                if before is not None:
                    before(month, cursor)
                cursor.execute(create_month_sql(month))
                after = create_hook("after", month.table)
                if after is not None:
                    after(month, cursor)
    except DatabaseError as error:
        # A row of the month reached DEFAULT after the count (PostgreSQL
        # rechecks under its lock and refuses): the same refusal.
        if "default partition" in str(error):
            return False
        raise
    return True


@dataclass(frozen=True)
class Verdict:
    month: Month
    reason: str  # "" when it can go

    @property
    def detachable(self) -> bool:
        return not self.reason


def _event_references() -> list[tuple[str, str]]:
    """(table, event id column) of every foreign key to the events."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.confrelid = to_regclass('refunds_caseevent')
              AND c.conparentid = 0
            ORDER BY 1
            """
        )
        return [(table, column) for table, column in cursor.fetchall()]


def events_kept(month: Month, cursor: Any, *, locked: bool) -> str:
    """An events month stays while a row points at its events. Under the lock
    nothing is looked at again: PostgreSQL checks the foreign keys at the
    DETACH that follows (and refuses it)."""
    if locked:
        return ""
    for table, column in _event_references():
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {_q(table)} r JOIN {_q(month.name)} e "
            f"ON e.id = r.{_q(column)})"
        )
        if cursor.fetchone()[0]:
            return f"rows of {table} still point at its events"
    return ""


def outbox_kept(month: Month, cursor: Any, *, locked: bool) -> str:
    """An outbox month stays while a message is left in it (no foreign key
    guards it: looked at again under the lock)."""
    cursor.execute(f"SELECT count(*) FROM {_q(month.name)}")
    left = int(cursor.fetchone()[0])
    if not left:
        return ""
    if locked:
        return "outbox messages arrived before the detach"
    return f"{left} outbox messages not drained (or failed)"


def verdict(month: Month) -> Verdict:
    """Whether `month` may be detached, and if not why. The current month is
    the clock's, whatever `today` the caller of `detach` pretends."""
    if month.end > month_of():
        return Verdict(month, "the current month (or later)")
    with connection.cursor() as cursor:
        return Verdict(month, rule(month.table)(month, cursor, locked=False))


def detached(month: Month) -> bool:
    """Whether `month`'s partition exists as a table of its own, detached."""
    if not is_partitioned(month.table):
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass(%s) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_inherits "
            "WHERE inhrelid = to_regclass(%s) AND inhparent = to_regclass(%s))",
            [month.name, month.name, month.table],
        )
        return bool(cursor.fetchone()[0])


def detach(
    older_than: int = 12,
    *,
    today: date | None = None,
    dry_run: bool = False,
    tables: Sequence[str] | None = None,
) -> list[Verdict]:
    """Detach the monthly partitions of every partitioned table (or of
    `tables`) that end on or before the first day of the month `older_than` -
    1 months before the current one (1: every month before the current one;
    12: all but the current month and the 11 before it) and that nothing
    needs; returns a verdict per such month (detached, or why not)."""
    if older_than < 1:
        raise PartitionError("older_than must be at least 1: the current month stays")
    tables = partitioned_tables() if tables is None else list(tables)
    if not all(is_partitioned(t) for t in tables):
        return []
    cutoff = add_months(month_of(today), -older_than + 1)
    verdicts = []
    for table in tables:
        for month in monthly_partitions(table):
            if month.end > cutoff:
                continue
            # Read without locking the table (its joins can take long); what
            # changes after this is caught under the lock below.
            found = verdict(month)
            if found.detachable and not dry_run:
                found = _detach(month)
            verdicts.append(found)
    return verdicts


def _detach(month: Month) -> Verdict:
    """Lock the month's partition against writers (SHARE, within
    LOCK_TIMEOUT), ask its rule again under that lock, then DETACH it, in one
    transaction. The DETACH locks the whole table (ACCESS EXCLUSIVE) until the
    commit, so the rule's work (a month's records: seconds on a large ledger)
    is done before it, with only the month's own writers held; the table's
    "before" hook (the ledger takes other tables' locks there, in the order
    its writers take them) and the DETACH wait at most TABLE_LOCK_TIMEOUT.
    PostgreSQL checks at the DETACH that no foreign key points into the
    month; its refusal, the rule's, a lock not had in time or a deadlock
    keeps the month, with the reason. Meant to run in a transaction of its
    own, as the command and the daily task run it: inside a caller's, its
    locks last until that one ends, and the ledger's hooks cannot drop an
    archive's keys over the caller's pending deferred checks."""
    outermost = not connection.in_atomic_block
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                # Writers of the month wait from here; everyone else goes on
                # while the rule looks again and records what the month held.
                cursor.execute(f"LOCK TABLE {_q(month.name)} IN SHARE MODE")
                reason = rule(month.table)(month, cursor, locked=True)
                if reason:
                    raise _Kept(reason)
                # The whole table is locked only for the DETACH itself: the
                # deferred checks of what the rule wrote (foreign keys of a
                # month's records) run now, not at the commit under that lock.
                # Only in a transaction of its own: SET CONSTRAINTS would
                # outlive a savepoint, and a caller's later postings need their
                # checks deferred to their commit.
                if outermost:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"SET LOCAL lock_timeout = '{TABLE_LOCK_TIMEOUT}'")
                before = detach_hook("before", month.table)
                if before is not None:
                    before(month, cursor)
                cursor.execute(f"ALTER TABLE {_q(month.table)} DETACH PARTITION {_q(month.name)}")
                after = detach_hook("after", month.table)
                if after is not None:
                    after(month, cursor)
    except _Kept as kept:
        return Verdict(month, str(kept))
    except (IntegrityError, OperationalError) as error:
        code = getattr(error.__cause__, "pgcode", None)
        if code == FOREIGN_KEY_VIOLATION:
            diag = error.__cause__.diag  # type: ignore[union-attr]
            detail = f" ({diag.message_detail})" if diag.message_detail else ""
            return Verdict(month, f"PostgreSQL refused: {diag.message_primary}{detail}")
        if code in (LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED):
            return Verdict(month, f"{month.table} not locked in time (busy): try again")
        raise
    return Verdict(month, "")


class _Kept(Exception):
    """Rolls the detach back: the month stays."""
