"""The allocations' counter trigger takes its bulk path without counting the
distinct lines and items first (a sort of a million rows each, per table): the
bulk UPDATE is tried in a subtransaction and kept when it updated one row per
allocation, else undone for the general path; the new rows are read once for
their count, a reversed one and the runs they name (cash/triggers.py). The
triggers refusing changes to what the bank said of a line, or to an open
item's facts, fire AFTER UPDATE instead of BEFORE (no lock of each row before
its update). Same checks, same counters."""

from django.db import migrations

from lib.pgtriggers import run


FACTS = ("cash_openitem_facts", "cash_bankstatementline_facts")


def install(apps, schema_editor):
    from cash import triggers

    facts = [t for t in triggers.TRIGGERS if t.name in FACTS]
    run(
        schema_editor,
        triggers.ALLOCATIONS_ADDED.sql
        + "".join(f"DROP TRIGGER IF EXISTS {t.name} ON {t.table};\n{t.sql}" for t in facts),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cash", "0006_reconciliation_run_checked"),
    ]

    operations = [
        # Going back keeps these: the function reads and writes the same
        # columns as 0006's did and the triggers refuse the same changes, so
        # they serve that schema unchanged.
        migrations.RunPython(install, migrations.RunPython.noop, elidable=False),
    ]
