# ledger_entry partitioned by month of its journal's posting date (issue 14).
# Entry.date is new: the journal's date, copied (backfilled here; the posting
# code and the ORM write it from now on). On PostgreSQL the table is then made
# again partitioned by RANGE (date), monthly partitions + DEFAULT
# (refunds.partitions makes the coming months and detaches old closed ones),
# primary key (id, date), its indexes, checks, foreign keys and triggers
# kept; the journal check at commit (ledger/triggers.py) refuses an entry
# dated otherwise than its journal and reads a journal's entries from its
# month's partition only. Nothing points at ledger_entry. SQLite (local
# development) gets the column only. Reversible: the reverse makes the plain
# table again (rows of detached months stay in their own tables) and installs
# the previous journal check.

from django.db import migrations

import ledger.models.journals
from lib.migration_helpers import partition_by_month_of, unpartition
from lib.pgtriggers import run

# ledger_check_journal() as it was before this migration (for the reverse).
PREVIOUS_CHECK_JOURNAL = r"""
CREATE OR REPLACE FUNCTION ledger_check_journal() RETURNS trigger AS $$
DECLARE
    target bigint;
    found record;
BEGIN
    IF TG_TABLE_NAME = 'ledger_journal' THEN
        target := NEW.id;
    ELSE
        target := NEW.journal_id;
    END IF;
    SELECT j.entry_count AS declared, j.currency, count(e.id) AS entries,
           count(*) FILTER (WHERE e.currency <> j.currency) AS foreign_entries,
           coalesce(sum(e.debit), 0) AS debits, coalesce(sum(e.credit), 0) AS credits
        INTO found
        FROM ledger_journal j LEFT JOIN ledger_entry e ON e.journal_id = j.id
        WHERE j.id = target GROUP BY j.id;
    IF found.entries <> found.declared THEN
        RAISE EXCEPTION 'ledger: journal % declares % entries but has %',
            target, found.declared, found.entries
            USING ERRCODE = 'check_violation';
    END IF;
    IF found.foreign_entries > 0 THEN
        RAISE EXCEPTION 'ledger: journal % has entries in another currency than %',
            target, found.currency
            USING ERRCODE = 'check_violation';
    END IF;
    IF found.debits <> found.credits THEN
        RAISE EXCEPTION 'ledger: journal % does not balance in %: debits %, credits %',
            target, found.currency, found.debits, found.credits
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""


def fill_and_partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(
            "UPDATE ledger_entry SET date = (SELECT j.date FROM ledger_journal j "
            "WHERE j.id = ledger_entry.journal_id)"
        )
        return
    from ledger import triggers

    # Filled as the rows are copied into the partitioned table (an UPDATE of
    # every entry first would rewrite them all, and the immutability trigger
    # refuses it).
    partition_by_month_of(
        schema_editor,
        "ledger_entry",
        "date",
        fill={"date": "j.date"},
        join="LEFT JOIN ledger_journal j ON j.id = o.journal_id",
    )
    run(schema_editor, triggers.INSTALL)


def unpartition_entries(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    unpartition(schema_editor, "ledger_entry")
    run(schema_editor, PREVIOUS_CHECK_JOURNAL)


def _date_fields(apps):
    entry = apps.get_model("ledger", "Entry")
    nullable = entry._meta.get_field("date")
    required = nullable.clone()
    required.null = False
    required.set_attributes_from_name("date")
    return entry, nullable, required


def not_null(apps, schema_editor):
    # On PostgreSQL the primary key (id, date) already holds it.
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.alter_field(*_date_fields(apps))


def nullable_again(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        entry, nullable, required = _date_fields(apps)
        schema_editor.alter_field(entry, required, nullable)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0005_invoice_event_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="entry",
            name="date",
            field=ledger.models.journals.JournalDateField(
                editable=False,
                help_text="The journal's posting date: the partition key.",
                null=True,
            ),
        ),
        migrations.RunPython(fill_and_partition, unpartition_entries),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="entry",
                    name="date",
                    field=ledger.models.journals.JournalDateField(
                        editable=False, help_text="The journal's posting date: the partition key."
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(not_null, nullable_again)],
        ),
    ]
