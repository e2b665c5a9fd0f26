"""PostgreSQL enforces the ledger's invariants itself.

- A journal's entries balance per currency, match the journal's currency, and
  number exactly the journal's declared entry_count: checked by a deferred
  constraint trigger at commit (per entry row: each check sums a handful of
  rows through the journal index, no quadratic cost in practice).
- Journals and entries are never updated or deleted.

SQLite (local development) has no such triggers; the posting code checks the
same in Python.
"""

from django.db import migrations

INSTALL = r"""
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % is not allowed; post a reversing journal instead',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_entry_immutable
    BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER ledger_journal_immutable
    BEFORE UPDATE OR DELETE ON ledger_journal
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

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

CREATE CONSTRAINT TRIGGER ledger_journal_balanced
    AFTER INSERT ON ledger_journal
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_journal();

CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT ON ledger_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_journal();
"""

UNINSTALL = r"""
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry;
DROP TRIGGER IF EXISTS ledger_journal_balanced ON ledger_journal;
DROP TRIGGER IF EXISTS ledger_journal_immutable ON ledger_journal;
DROP TRIGGER IF EXISTS ledger_entry_immutable ON ledger_entry;
DROP FUNCTION IF EXISTS ledger_check_journal();
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
