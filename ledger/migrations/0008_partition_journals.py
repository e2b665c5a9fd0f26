# ledger_journal partitioned by month of its posting date (issue 14), as
# ledger_entry was by 0006. On PostgreSQL:
# - the global UNIQUE (posting_key) cannot stay (a partitioned table's unique
#   index must hold the partition key): the keys move to ledger_journalkey
#   (posting_key primary key, journal id and date), filled here from the
#   journals and from now on written with each journal by the trigger
#   ledger_journal_key (ledger/triggers.py; ledger.posting writes the keys
#   first and skips a key taken). A plain index serves lookups by key.
# - the table is made again partitioned by RANGE (date), monthly partitions +
#   DEFAULT, primary key (id, date), its indexes, checks, foreign keys and
#   triggers kept (pgtrigger's hash comments too);
# - the keys pointing at journals become composite, checked at commit:
#   entries (journal_id, date), reversals (reverses_id, reverses_date: new,
#   filled as the rows are copied), and cash's write-offs and payout reports
#   (journal_id, journal_date: cash 0008 drops their keys first, run_before,
#   cash 0009 adds the composite ones after);
# - the journal check at commit reads the journal by id and date.
# SQLite (local development) gets the columns, the keys table and a unique
# index on posting_key (posting inserts with ON CONFLICT on it there).
# Reversible: the reverse makes the plain table again (rows of detached months
# stay in their own tables), its unique posting_key and plain foreign keys.

from django.db import migrations, models

import ledger.models.journals
from lib.migration_helpers import partition_by_month_of, unpartition
from lib.pgtriggers import run

# ledger_check_journal() as it was before this migration (for the reverse).
PREVIOUS_CHECK_JOURNAL = r"""
CREATE OR REPLACE FUNCTION ledger_check_journal() RETURNS trigger AS $$
DECLARE
    target bigint;
    journal record;
    found record;
BEGIN
    IF TG_TABLE_NAME = 'ledger_journal' THEN
        target := NEW.id;
    ELSE
        target := NEW.journal_id;
    END IF;
    SELECT j.entry_count AS declared, j.currency, j.date INTO journal
        FROM ledger_journal j WHERE j.id = target;
    IF TG_TABLE_NAME <> 'ledger_journal' AND NEW.date IS DISTINCT FROM journal.date THEN
        RAISE EXCEPTION 'ledger: entry % is dated % but its journal % is dated %',
            NEW.id, NEW.date, target, journal.date
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(*) AS entries,
           count(*) FILTER (WHERE e.currency <> journal.currency) AS foreign_entries,
           coalesce(sum(e.debit), 0) AS debits, coalesce(sum(e.credit), 0) AS credits
        INTO found
        FROM ledger_entry e WHERE e.journal_id = target AND e.date = journal.date;
    IF found.entries <> journal.declared THEN
        RAISE EXCEPTION 'ledger: journal % declares % entries but has %',
            target, journal.declared, found.entries
            USING ERRCODE = 'check_violation';
    END IF;
    IF found.foreign_entries > 0 THEN
        RAISE EXCEPTION 'ledger: journal % has entries in another currency than %',
            target, journal.currency
            USING ERRCODE = 'check_violation';
    END IF;
    IF found.debits <> found.credits THEN
        RAISE EXCEPTION 'ledger: journal % does not balance in %: debits %, credits %',
            target, journal.currency, found.debits, found.credits
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""

DROP_KEY_TRIGGERS = """
DROP TRIGGER IF EXISTS ledger_journal_key ON ledger_journal;
DROP TRIGGER IF EXISTS ledger_journalkey_immutable ON ledger_journalkey;
DROP FUNCTION IF EXISTS ledger_journal_key();
"""

SQLITE_UNIQUE_KEY = "ledger_journal_posting_key_once"


def _trigger_comments(cursor, table):
    """(trigger, comment) of `table`'s own triggers that have one: pgtrigger's hashes."""
    cursor.execute(
        "SELECT tgname, obj_description(oid, 'pg_trigger') FROM pg_trigger "
        "WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal AND tgparentid = 0 "
        "AND obj_description(oid, 'pg_trigger') IS NOT NULL",
        [table],
    )
    return cursor.fetchall()


def _comment_triggers(cursor, table, comments):
    for name, comment in comments:
        cursor.execute(f"COMMENT ON TRIGGER {name} ON {table} IS %s", [comment])


def partition_journals(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(
            "UPDATE ledger_journal SET reverses_date = (SELECT r.date FROM ledger_journal r "
            "WHERE r.id = ledger_journal.reverses_id) WHERE reverses_id IS NOT NULL"
        )
        schema_editor.execute(
            "INSERT INTO ledger_journalkey (posting_key, journal_id, date) "
            "SELECT posting_key, id, date FROM ledger_journal"
        )
        schema_editor.execute(
            f"CREATE UNIQUE INDEX {SQLITE_UNIQUE_KEY} ON ledger_journal (posting_key)"
        )
        return
    from ledger import triggers

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalkey (posting_key, journal_id, date) "
            "SELECT posting_key, id, date FROM ledger_journal"
        )
        comments = _trigger_comments(cursor, "ledger_journal")
    # reverses_date filled as the rows are copied (the immutability trigger
    # refuses an UPDATE of the journals).
    partition_by_month_of(
        schema_editor,
        "ledger_journal",
        "date",
        fill={"reverses_date": "r.date"},
        join="LEFT JOIN ledger_journal_unpartitioned r ON r.id = o.reverses_id",
    )
    with schema_editor.connection.cursor() as cursor:
        _comment_triggers(cursor, "ledger_journal", comments)
        cursor.execute(
            "ALTER TABLE ledger_entry ADD CONSTRAINT ledger_entry_journal_key "
            "FOREIGN KEY (journal_id, date) REFERENCES ledger_journal (id, date) "
            "DEFERRABLE INITIALLY DEFERRED"
        )
        cursor.execute(
            "ALTER TABLE ledger_journal ADD CONSTRAINT ledger_journal_reverses_key "
            "FOREIGN KEY (reverses_id, reverses_date) REFERENCES ledger_journal (id, date) "
            "MATCH FULL DEFERRABLE INITIALLY DEFERRED"
        )
    run(schema_editor, triggers.INSTALL + triggers.INSTALL_KEYS)


def unpartition_journals(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {SQLITE_UNIQUE_KEY}")
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_entry DROP CONSTRAINT ledger_entry_journal_key")
        cursor.execute("ALTER TABLE ledger_journal DROP CONSTRAINT ledger_journal_reverses_key")
        cursor.execute(DROP_KEY_TRIGGERS)
        comments = _trigger_comments(cursor, "ledger_journal")
    unpartition(schema_editor, "ledger_journal")
    with schema_editor.connection.cursor() as cursor:
        _comment_triggers(cursor, "ledger_journal", comments)
    run(schema_editor, PREVIOUS_CHECK_JOURNAL)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0007_account_day"),
    ]

    operations = [
        migrations.CreateModel(
            name="JournalKey",
            fields=[
                (
                    "posting_key",
                    models.CharField(max_length=80, primary_key=True, serialize=False),
                ),
                ("journal_id", models.BigIntegerField()),
                (
                    "date",
                    models.DateField(
                        help_text="The journal's posting date (its month's partition)."
                    ),
                ),
            ],
            options={"ordering": ["posting_key"]},
        ),
        migrations.AddField(
            model_name="journal",
            name="reverses_date",
            field=ledger.models.journals.ReversedDateField(
                blank=True,
                editable=False,
                help_text="The reversed journal's posting date, for the foreign key.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="entry",
            name="journal",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=models.deletion.PROTECT,
                related_name="entries",
                to="ledger.journal",
            ),
        ),
        migrations.AlterField(
            model_name="journal",
            name="reverses",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="reversals",
                to="ledger.journal",
            ),
        ),
        migrations.AlterField(
            model_name="journal",
            name="posting_key",
            field=models.CharField(max_length=80),
        ),
        migrations.AddIndex(
            model_name="journal",
            index=models.Index(fields=["posting_key"], name="journal_posting_key_idx"),
        ),
        migrations.RunPython(partition_journals, unpartition_journals),
    ]
