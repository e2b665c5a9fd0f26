"""Install the ledger's triggers from ledger/triggers.py, their one home now.

The SQL there is what migrations 0002, 0005 and 0011 left installed, so this
changes nothing in a database that has them; it is idempotent (CREATE OR
REPLACE FUNCTION, DROP TRIGGER IF EXISTS + CREATE TRIGGER). The reverse puts
back exactly what 0002, 0005 and 0011 installed, whatever ledger/triggers.py
says by then.
"""

from importlib import import_module

from django.db import migrations

from lib.pgtriggers import run


def install(apps, schema_editor):
    from ledger import triggers

    run(schema_editor, triggers.INSTALL)


def restore_previous(apps, schema_editor):
    from ledger import triggers

    run(
        schema_editor,
        triggers.UNINSTALL
        + import_module("ledger.migrations.0002_ledger_invariants").INSTALL
        + import_module("ledger.migrations.0005_credit_notes_immutable").INSTALL
        + import_module("ledger.migrations.0011_full_balance_check").FULL_CHECK,
    )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0012_issuer_profile_and_customer_address")]
    operations = [migrations.RunPython(install, restore_previous, elidable=False)]
