# The key from an entry to its journal, declared month by month (issue 14):
# each attached entries month (journal_id, date) into its own journals month
# (id, date), ledger_entry_default into the whole of ledger_journal, instead
# of 0008's one key on the parents, which PostgreSQL checked against every
# attached entry at each journals month's DETACH with ledger_journal locked
# (ledger.month_keys says why). An entries month with no journals month of
# its own gets its key into the whole of ledger_journal. Detached months keep
# what they had (a key into ledger_journal, dropped right before their
# journals month's DETACH, or none).
#
# Not atomic, so that a large ledger is not held off for the whole check of
# its rows: one transaction swaps the keys (new ones NOT VALID: new rows are
# checked from the commit on), then each new key is validated in a
# transaction of its own (VALIDATE CONSTRAINT holds no writer off). A run cut
# short in between leaves keys NOT VALID; running the migration again
# validates them. The swap waits at most LOCK_WAIT for its lock on both
# tables (every reader and writer would queue behind it): a long report
# running makes it fail ("lock timeout"); run it again.
# Reversible: the one key on the parents again, the month keys dropped.

from contextlib import contextmanager
from datetime import date

from django.db import migrations, transaction

from ledger import month_keys

OLD_KEY = "ledger_entry_journal_key"
LOCK_WAIT = "10s"

NOT_VALID = r"""
SELECT c.conrelid::regclass::text, c.conname
FROM pg_constraint c
WHERE c.contype = 'f' AND NOT c.convalidated
  AND (c.conname = %s OR c.conname ~ '^ledger_entry_y[0-9]{4}m[0-9]{2}_journal_key$')
ORDER BY 1
"""


def _partitioned(cursor):
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table "
        "WHERE partrelid = to_regclass('ledger_entry'))"
    )
    return cursor.fetchone()[0]


def _months(cursor):
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass('ledger_entry') "
        "AND c.relname ~ '^ledger_entry_y[0-9]{4}m[0-9]{2}$' ORDER BY c.relname"
    )
    return [date(int(name[-7:-3]), int(name[-2:]), 1) for (name,) in cursor.fetchall()]


@contextmanager
def _ledger_locked(connection):
    """A transaction with ledger_journal, then ledger_entry, locked ACCESS
    EXCLUSIVE (what swapping the keys on the parents takes, in the order
    postings take their locks), yielding its cursor; None where there is
    nothing to swap (SQLite, or the entries not partitioned). Every reader
    and writer queues behind a lock waited for: it gives up after LOCK_WAIT
    (a long report holds it off) rather than hold the ledger up."""
    if connection.vendor != "postgresql":
        yield None
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if not _partitioned(cursor):
            yield None
            return
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
        cursor.execute("LOCK TABLE ledger_journal, ledger_entry IN ACCESS EXCLUSIVE MODE")
        yield cursor


def month_keys_forward(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with _ledger_locked(connection) as cursor:
        if cursor is None:
            return
        for start in _months(cursor):
            month_keys.link_month(cursor, start, valid=False)
        month_keys.link_default(cursor, valid=False)
        cursor.execute(f"ALTER TABLE ledger_entry DROP CONSTRAINT IF EXISTS {OLD_KEY}")
    with connection.cursor() as cursor:
        cursor.execute(NOT_VALID, [month_keys.DEFAULT_KEY])
        pending = cursor.fetchall()
    for table, name in pending:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {quote(table)} VALIDATE CONSTRAINT {quote(name)}")


def month_keys_backward(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with _ledger_locked(connection) as cursor:
        if cursor is None:
            return
        for start in _months(cursor):
            name = month_keys.key_name(start)
            table = month_keys.month_name("ledger_entry", start)
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT IF EXISTS {quote(name)}")
        cursor.execute(
            f"ALTER TABLE ledger_entry_default DROP CONSTRAINT IF EXISTS "
            f"{quote(month_keys.DEFAULT_KEY)}"
        )
        cursor.execute(
            f"ALTER TABLE ledger_entry ADD CONSTRAINT {OLD_KEY} "
            "FOREIGN KEY (journal_id, date) REFERENCES ledger_journal (id, date) "
            "DEFERRABLE INITIALLY DEFERRED"
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("ledger", "0012_journalkey_journal_id_index"),
    ]

    operations = [
        migrations.RunPython(month_keys_forward, month_keys_backward),
    ]
