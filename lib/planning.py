"""Planner settings for reading one account's slice of a large ledger.

A settlement statement reads one vendor account's entries (a hundred thousand
at most) and joins each to its journal, and the journal to its order, case and
payout, all by primary key. The ledger around them can hold a hundred million
entries and twenty million journals. PostgreSQL's cost model can then prefer
to hash the whole journals table (a sequential scan of every journal) to
looking each entry's journal up by its key; a server-side cursor, which never
gets a parallel plan, pays for that scan in full. Measured on 100 million
entries: 7.8-8.2 s for a 100,746-line CSV, nearly all of it reading journals
that are not on the statement; 0.88 s inside this block (docs/benchmarks.md).
Generating a statement adds up the same account's entries inside it too
(1.7-2.1 s per vendor plain, 1.1 s in the block).

`key_lookups(alias)` plans the statements read inside it as nested loops:
hash and merge joins are off, so every join is a lookup by key and the work
grows with the slice, never with the ledger. It also plans a cursor for all
of its rows (an export reads every one), gives sorts room in memory, and
turns JIT compilation off: the cost estimates of a read across a large
partitioned table pass its thresholds, and compiling (once per month's
partition) is work a lookup by key does not need.

The settings are SET LOCAL inside a transaction (a savepoint when one is
open) and put back when the block ends, so nothing else in an enclosing
transaction is planned with them. Other databases (SQLite in development)
are left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, transaction
from django.db.backends.utils import CursorWrapper

# name -> value while reading a slice.
SLICE_SETTINGS = {
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
    "jit": "off",
    "cursor_tuple_fraction": "1",
    "work_mem": "32MB",
}


@contextmanager
def key_lookups(alias: str) -> Iterator[None]:
    """Read inside this block as lookups by key (see the module doc)."""
    connection = connections[alias]
    with transaction.atomic(using=alias):
        if connection.vendor != "postgresql":
            yield
            return
        names = list(SLICE_SETTINGS)
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(names)), names)
            before = dict(zip(names, cursor.fetchone(), strict=True))
            set_local(cursor, SLICE_SETTINGS)
        # On an exception the atomic block rolls back, and the settings with it.
        yield
        with connection.cursor() as cursor:
            set_local(cursor, before)


def set_local(cursor: CursorWrapper, settings: dict[str, str]) -> None:
    """SET LOCAL each of `settings` (name -> value), in one statement."""
    if not settings:
        return
    pairs = [value for item in settings.items() for value in item]
    cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(settings)), pairs)
