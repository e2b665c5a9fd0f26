# Entries months detached before this release kept their foreign keys into
# ledger_journal (PostgreSQL copies a partition's keys onto the detached
# table). A journals month's detach now drops its entries archive's keys
# itself (ledger.detached.before_journals_detach); this drops those of the
# months detached before, so that every archive is alike. Only tables no
# longer attached lose keys; nothing is put back on the way back (an archive
# points nowhere either way).

from django.db import migrations

DETACHED_KEYS = r"""
SELECT c.conrelid::regclass::text, c.conname
FROM pg_constraint c
WHERE c.contype = 'f'
  AND c.confrelid = to_regclass('ledger_journal')
  AND c.conrelid::regclass::text ~ '^ledger_entry_y[0-9]{4}m[0-9]{2}$'
  AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.conrelid)
ORDER BY 1, 2
"""


def unlink_detached_entries(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(DETACHED_KEYS)
        for table, name in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0010_detached_journal_months"),
    ]

    operations = [
        migrations.RunPython(unlink_detached_entries, migrations.RunPython.noop, elidable=True),
    ]
