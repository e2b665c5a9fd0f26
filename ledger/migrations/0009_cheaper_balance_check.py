"""A cheaper deferred balance check (the function of migration 0002, replaced).

The constraint triggers stay as they were: every journal is checked at commit,
and so is every entry. What changes is the work per check:

- one aggregate query over the journal's entries instead of three;
- an entry inserted in the same (sub)transaction as its journal (equal xmin)
  returns at once: its journal's own deferred check runs at the same commit
  and covers every entry of the journal. An entry added to a journal of an
  earlier transaction, or in a later savepoint, is still checked in full.

Measured 2.8x cheaper per five-entry journal (docs/benchmarks.md, ledger).
The xmin shortcut is unsound when a transaction forces the deferred checks
early (SET CONSTRAINTS ALL IMMEDIATE): migration 0011 removes it.
tests/ledger/test_database_invariants.py proves each refusal still happens.
"""

from django.db import migrations

CHEAPER = r"""CREATE OR REPLACE FUNCTION ledger_check_journal() RETURNS trigger AS $$
DECLARE
    target bigint;
    found record;
BEGIN
    IF TG_TABLE_NAME = 'ledger_journal' THEN
        target := NEW.id;
    ELSE
        target := NEW.journal_id;
        IF EXISTS (SELECT 1 FROM ledger_journal j, ledger_entry e
                   WHERE j.id = target AND e.id = NEW.id AND j.xmin = e.xmin) THEN
            RETURN NULL;
        END IF;
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

PREVIOUS = r"""
CREATE OR REPLACE FUNCTION ledger_check_journal() RETURNS trigger AS $$
DECLARE
    target bigint;
    declared integer;
    journal_currency varchar;
    found_entries integer;
    unbalanced record;
BEGIN
    IF TG_TABLE_NAME = 'ledger_journal' THEN
        target := NEW.id;
    ELSE
        target := NEW.journal_id;
    END IF;
    SELECT j.entry_count, j.currency INTO declared, journal_currency
        FROM ledger_journal j WHERE j.id = target;
    SELECT count(*) INTO found_entries FROM ledger_entry e WHERE e.journal_id = target;
    IF found_entries <> declared THEN
        RAISE EXCEPTION 'ledger: journal % declares % entries but has %',
            target, declared, found_entries
            USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM ledger_entry e
               WHERE e.journal_id = target AND e.currency <> journal_currency) THEN
        RAISE EXCEPTION 'ledger: journal % has entries in another currency than %',
            target, journal_currency
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT e.currency, sum(e.debit) AS debits, sum(e.credit) AS credits INTO unbalanced
        FROM ledger_entry e WHERE e.journal_id = target
        GROUP BY e.currency HAVING sum(e.debit) <> sum(e.credit) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: journal % does not balance in %: debits %, credits %',
            target, unbalanced.currency, unbalanced.debits, unbalanced.credits
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CHEAPER, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0008_drop_redundant_indexes")]
    operations = [migrations.RunPython(install, uninstall)]
