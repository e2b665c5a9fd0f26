"""The allocations' counter trigger takes its bulk path without counting the
distinct lines and items first (a sort of a million rows each, per table): the
bulk UPDATE is tried in a subtransaction and kept when it updated one row per
allocation, else undone for the general path; the new rows are read once for
their count, a reversed one and the runs they name (cash/triggers.py). Same
checks, same counters."""

from django.db import migrations

from lib.pgtriggers import run


def install(apps, schema_editor):
    from cash import triggers

    run(schema_editor, triggers.ALLOCATIONS_ADDED.sql)


class Migration(migrations.Migration):
    dependencies = [
        ("cash", "0006_reconciliation_run_checked"),
    ]

    operations = [
        # Going back keeps this function: it reads and writes the same columns
        # as 0006's did, so it serves that schema unchanged.
        migrations.RunPython(install, migrations.RunPython.noop, elidable=False),
    ]
