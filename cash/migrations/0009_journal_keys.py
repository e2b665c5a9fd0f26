# Write-offs and payout reports: the composite keys (journal_id, journal_date)
# to the journals partitioned by month (ledger 0008), both columns or neither,
# checked at commit as Django's are. PostgreSQL only.

from django.db import migrations

TABLES = ("cash_writeoffrequest", "cash_payoutreport")


def add_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {table}_journal_key "
            "FOREIGN KEY (journal_id, journal_date) REFERENCES ledger_journal (id, date) "
            "MATCH FULL DEFERRABLE INITIALLY DEFERRED"
        )


def drop_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_journal_key")


class Migration(migrations.Migration):
    dependencies = [
        ("cash", "0008_journal_dates"),
        ("ledger", "0008_partition_journals"),
    ]

    operations = [migrations.RunPython(add_keys, drop_keys)]
