# Write-offs and payout reports carry their journal's posting date
# (journal_date) beside journal_id, filled from the journals: ledger 0008
# partitions the journals by month of that date, so a key to them must hold it.
# The single-column keys go first (run_before ledger 0008, which refuses to
# partition a table anything points at); cash 0009 adds the composite ones.

from django.db import migrations, models

import ledger.models.journals

TABLES = ("cash_writeoffrequest", "cash_payoutreport")


def backfill(apps, schema_editor):
    # A payout report's guard (cash/payout_triggers.py) lets its journal's
    # date be set: it is none of the report's facts, and journal_id stays.
    for table in TABLES:
        schema_editor.execute(
            f"UPDATE {table} SET journal_date = (SELECT j.date FROM ledger_journal j "
            f"WHERE j.id = {table}.journal_id) WHERE journal_id IS NOT NULL"
        )


def journal_date():
    return ledger.models.journals.JournalDateField(
        blank=True,
        editable=False,
        help_text="The journal's posting date, for the foreign key.",
        null=True,
    )


class Migration(migrations.Migration):
    run_before = [("ledger", "0008_partition_journals")]

    dependencies = [
        ("cash", "0007_allocation_bulk_path"),
        ("ledger", "0007_account_day"),
    ]

    operations = [
        migrations.AddField(
            model_name="writeoffrequest", name="journal_date", field=journal_date()
        ),
        migrations.AddField(model_name="payoutreport", name="journal_date", field=journal_date()),
        migrations.AlterField(
            model_name="writeoffrequest",
            name="journal",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="+",
                to="ledger.journal",
            ),
        ),
        migrations.AlterField(
            model_name="payoutreport",
            name="journal",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                help_text="Empty only when every leg was zero.",
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="+",
                to="ledger.journal",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
