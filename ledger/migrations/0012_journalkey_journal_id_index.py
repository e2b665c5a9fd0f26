# An index on ledger_journalkey.journal_id: archived_journal_date
# (ledger.detached_journals) finds a detached journal's date by its id, which
# the keys table's primary key (posting_key) does not serve. A plain CREATE
# INDEX, in the migration's transaction: it holds off new postings (their keys)
# while it builds, once, for this release.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0011_unlink_detached_entries"),
    ]

    operations = [
        migrations.AlterField(
            model_name="journalkey",
            name="journal_id",
            field=models.BigIntegerField(db_index=True),
        ),
    ]
