"""The deferred balance check without migration 0009's shortcut.

0009 let an entry written in the same transaction as its journal (equal xmin)
skip its own check, counting on the journal's check at commit. That check has
already run if the transaction forced the deferred checks early (SET
CONSTRAINTS ALL IMMEDIATE, as Django's check_constraints() does): an entry
added after that went unchecked. Every journal and every entry is now checked
in full again, with 0009's single aggregate query.
tests/ledger/test_database_invariants.py reproduces the case.
"""

from django.db import migrations

FULL_CHECK = r"""CREATE OR REPLACE FUNCTION ledger_check_journal() RETURNS trigger AS $$
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


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FULL_CHECK, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        previous = import_module("ledger.migrations.0009_cheaper_balance_check")
        schema_editor.execute(previous.CHEAPER, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0010_balance_account_index")]
    operations = [migrations.RunPython(install, uninstall)]
