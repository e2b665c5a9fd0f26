"""Each entries month's key into its own journals month (PostgreSQL).

An entry and its journal share a date (ledger_check_journal refuses
otherwise), so they sit in the same month of ledger_entry and ledger_journal,
both partitioned by month of their `date` (migrations 0006 and 0008). The key
from an entry to its journal is declared month by month (ledger 0013):
ledger_entry_yYYYYmMM (journal_id, date) references ledger_journal_yYYYYmMM
(id, date), checked at commit. A key declared once on the parents, as 0008
did, costs at both detaches:

- at a journals month's DETACH, PostgreSQL looks up every one of the month's
  journals among the entries still attached, with ledger_journal locked
  ACCESS EXCLUSIVE: 2.0 s of postings held for a month of 254,820 journals
  on a 30-million-entry ledger, growing with the month;
- at an entries month's DETACH, it copies the key onto the detached table,
  which makes triggers on ledger_journal and so locks it too.

A key between two months is seen by neither DETACH (PostgreSQL checks only
the keys it made for a partition from its parent's): a detached entries month
keeps its key into its journals month, and when that month goes in turn the
two archives keep it between them (drop the entries archive first, or both
together). ledger_entry_default keeps one key to the whole of ledger_journal:
a row of a month with no partition may point into any month (a journals
month's DETACH checks that small table only). So does an entries month made
when its journals month was not (its journals are then in
ledger_journal_default): it costs its journals month's DETACH what the key on
the parents did, and its archive drops the key right before that DETACH.
Such a key is not re-pointed once the journals month exists (by hand: a key
into the month NOT VALID, VALIDATE it, drop the old one).
refunds.partitions.create_ahead makes the journals month first.

Plain SQL on a DB-API cursor, without Django: refunds.partitions runs
`before_entries_month_created` and `after_entries_month_created` around the
CREATE of an entries month, and bench.ledger_scale's fill calls `link_month`
for the months it makes. A month made or attached by hand has no key until
one is added (`key_sql`; check_ledger's `entries_keyed` names such a month).
"""

from __future__ import annotations

from datetime import date
from typing import Any

ENTRIES = "ledger_entry"
JOURNALS = "ledger_journal"


def month_name(table: str, start: date) -> str:
    """The partition of `table` for the month starting `start`, named as
    refunds.partitions names it."""
    return f"{table}_y{start.year:04d}m{start.month:02d}"


def key_name(start: date) -> str:
    """The key of the entries month starting `start` into its journals month."""
    return f"{month_name(ENTRIES, start)}_journal_key"


def _attached(cursor: Any, table: str, parent: str) -> bool:
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_inherits "
        "WHERE inhrelid = to_regclass(%s) AND inhparent = to_regclass(%s))",
        [table, parent],
    )
    return bool(cursor.fetchone()[0])


def _has_key(cursor: Any, table: str, name: str) -> bool:
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND conname = %s AND contype = 'f')",
        [table, name],
    )
    return bool(cursor.fetchone()[0])


def link_month(cursor: Any, start: date, *, valid: bool = True) -> bool:
    """Give the attached entries month starting `start` its key (nothing if
    it has one): into its journals month if that is attached (True), else
    into the whole of ledger_journal (False: its journals are in
    ledger_journal_default; such an entries archive drops the key right
    before its journals month's DETACH, ledger.detached). With valid=False
    the key is added NOT VALID (new rows checked, the month's rows not yet:
    VALIDATE CONSTRAINT later, which holds no writer off)."""
    entries = month_name(ENTRIES, start)
    if not _attached(cursor, entries, ENTRIES):
        raise ValueError(f"{entries} is not a partition of {ENTRIES}")
    target = key_target(cursor, start)
    name = key_name(start)
    if not _has_key(cursor, entries, name):
        # The journals before the entries, in the order postings lock them
        # (ADD FOREIGN KEY would lock the entries month first).
        cursor.execute(f'LOCK TABLE "{target}" IN SHARE ROW EXCLUSIVE MODE')
        cursor.execute(
            f'ALTER TABLE "{entries}" ADD CONSTRAINT "{name}" FOREIGN KEY (journal_id, date) '
            f'REFERENCES "{target}" (id, date) '
            "DEFERRABLE INITIALLY DEFERRED" + ("" if valid else " NOT VALID")
        )
    return target != JOURNALS


def key_target(cursor: Any, start: date) -> str:
    """What the entries month starting `start` points into: its journals
    month if that is attached, else the whole of ledger_journal."""
    journals = month_name(JOURNALS, start)
    return journals if _attached(cursor, journals, JOURNALS) else JOURNALS


def key_target_of(cursor: Any, table: str) -> str:
    """key_target for an entries table named as refunds.partitions names its
    months (ledger_entry_default: the whole of ledger_journal)."""
    suffix = table.removeprefix(f"{ENTRIES}_y")
    if table == suffix or len(suffix) != 7:
        return JOURNALS
    return key_target(cursor, date(int(suffix[:4]), int(suffix[5:]), 1))


def key_sql(table: str, target: str) -> str:
    """The statements that give an attached entries table without a key its
    key into `target` without holding writers off for the check of its rows:
    added NOT VALID (new rows checked from then on), then validated in a
    transaction of its own (SHARE UPDATE EXCLUSIVE on the month: writers go
    on)."""
    name = f"{table}_journal_key"
    return (
        f"BEGIN; LOCK TABLE {target} IN SHARE ROW EXCLUSIVE MODE; "
        f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (journal_id, date) "
        f"REFERENCES {target} (id, date) DEFERRABLE INITIALLY DEFERRED NOT VALID; COMMIT; "
        f"ALTER TABLE {table} VALIDATE CONSTRAINT {name};"
    )


DEFAULT_KEY = f"{ENTRIES}_default_journal_key"


def link_default(cursor: Any, *, valid: bool = True) -> bool:
    """Give ledger_entry_default its key into the whole of ledger_journal
    (False: it had one)."""
    table = f"{ENTRIES}_default"
    if _has_key(cursor, table, DEFAULT_KEY):
        return False
    cursor.execute(
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{DEFAULT_KEY}" FOREIGN KEY (journal_id, date) '
        f"REFERENCES {JOURNALS} (id, date) DEFERRABLE INITIALLY DEFERRED"
        + ("" if valid else " NOT VALID")
    )
    return True


UNKEYED = f"""
SELECT c.relname,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.contype = 'f' AND k.conrelid = c.oid
               AND k.confrelid IN (SELECT to_regclass('{JOURNALS}') UNION ALL
                                   SELECT inhrelid FROM pg_inherits
                                   WHERE inhparent = to_regclass('{JOURNALS}')))
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = to_regclass('{ENTRIES}')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.contype = 'f' AND k.conrelid = c.oid
                  AND k.convalidated
                  AND k.confrelid IN (SELECT to_regclass('{JOURNALS}') UNION ALL
                                      SELECT inhrelid FROM pg_inherits
                                      WHERE inhparent = to_regclass('{JOURNALS}')))
ORDER BY 1
"""


def unkeyed(cursor: Any) -> list[tuple[str, bool]]:
    """The attached entries tables with no validated key into the journals
    (declared on them, or copied from a key on ledger_entry before ledger
    0013): (table, whether it has one NOT VALID)."""
    cursor.execute(UNKEYED)
    return [(name, bool(pending)) for name, pending in cursor.fetchall()]


def before_entries_month_created(month: Any, cursor: Any) -> None:
    """settings.PARTITION_BEFORE_CREATE for ledger_entry: what its key will
    point into locked first (SHARE ROW EXCLUSIVE, what adding the key takes),
    before CREATE ... PARTITION OF locks ledger_entry: a posting locks its
    journal before its entries, so the other order could deadlock with one."""
    cursor.execute(f'LOCK TABLE "{key_target(cursor, month.start)}" IN SHARE ROW EXCLUSIVE MODE')


def after_entries_month_created(month: Any, cursor: Any) -> None:
    """settings.PARTITION_AFTER_CREATE for ledger_entry: the new month's key
    (refunds.partitions makes the month and this in one transaction, after
    the journals month of the same run; the month is empty, so the check of
    its rows costs nothing)."""
    link_month(cursor, month.start)
