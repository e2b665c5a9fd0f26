"""The ledger's PostgreSQL triggers: the current definition of each, in one place.

Why a module of SQL rather than django-pgtrigger: pgtrigger names its triggers
and functions itself and writes one function per trigger, while these share
functions (`ledger_refuse_change` guards four tables, `ledger_check_journal`
two) and raise messages and error codes the code and tests rely on. Keeping
the SQL as it runs today changes nothing in the database.

Migration 0001_squashed installs exactly this (before the migrations were
squashed the definitions were spread over migrations 0002-0013).

To change a trigger: edit it here and add a migration whose forward runs
`install_sql(FUNCTIONS, TRIGGERS)` and whose reverse runs the previous SQL
(copy it into that migration: this module only knows the current one). A
trigger removed from here needs an explicit DROP TRIGGER in that migration.
PostgreSQL only: SQLite (local development) has no triggers; the posting code
checks the same in Python.
"""

from lib.pgtriggers import Function, Trigger, install_sql, uninstall_sql

# Journals, entries and credit notes are never updated or deleted: a mistake is
# corrected by a reversing journal, or by a new credit note.
REFUSE_CHANGE = Function(
    "ledger_refuse_change()",
    r"""
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % is not allowed; post a reversing journal instead',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
""",
)

# A journal's entries balance per currency, are in the journal's currency, are
# dated on its posting date and number exactly its declared entry_count. Run
# at commit for every journal and every entry (deferred constraint triggers
# below). The journal row first, then its entries by journal_id AND date:
# ledger_entry is partitioned by month of date (migration 0006), so the
# entries' read prunes to the journal's month. An entry dated otherwise is not
# among them: its own check names it, the journal's counts one entry short.
# (Migration 0009 let an entry of the same transaction as its journal skip its
# check; 0011 removed that: unsound under SET CONSTRAINTS ALL IMMEDIATE.)
CHECK_JOURNAL = Function(
    "ledger_check_journal()",
    r"""
CREATE OR REPLACE FUNCTION ledger_check_journal() RETURNS trigger AS $$
DECLARE
    target bigint;
    journal record;
    found record;
BEGIN
    IF TG_TABLE_NAME = 'ledger_journal' THEN
        target := NEW.id;
    ELSE
        target := NEW.journal_id;
    END IF;
    SELECT j.entry_count AS declared, j.currency, j.date INTO journal
        FROM ledger_journal j WHERE j.id = target;
    IF TG_TABLE_NAME <> 'ledger_journal' AND NEW.date IS DISTINCT FROM journal.date THEN
        RAISE EXCEPTION 'ledger: entry % is dated % but its journal % is dated %',
            NEW.id, NEW.date, target, journal.date
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(*) AS entries,
           count(*) FILTER (WHERE e.currency <> journal.currency) AS foreign_entries,
           coalesce(sum(e.debit), 0) AS debits, coalesce(sum(e.credit), 0) AS credits
        INTO found
        FROM ledger_entry e WHERE e.journal_id = target AND e.date = journal.date;
    IF found.entries <> journal.declared THEN
        RAISE EXCEPTION 'ledger: journal % declares % entries but has %',
            target, journal.declared, found.entries
            USING ERRCODE = 'check_violation';
    END IF;
    IF found.foreign_entries > 0 THEN
        RAISE EXCEPTION 'ledger: journal % has entries in another currency than %',
            target, journal.currency
            USING ERRCODE = 'check_violation';
    END IF;
    IF found.debits <> found.credits THEN
        RAISE EXCEPTION 'ledger: journal % does not balance in %: debits %, credits %',
            target, journal.currency, found.debits, found.credits
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
""",
)


def immutable(table: str) -> Trigger:
    name = f"{table}_immutable"
    return Trigger(
        name,
        table,
        f"""
CREATE TRIGGER {name}
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
""",
    )


def balanced(table: str) -> Trigger:
    name = f"{table}_balanced"
    return Trigger(
        name,
        table,
        f"""
CREATE CONSTRAINT TRIGGER {name}
    AFTER INSERT ON {table}
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_journal();
""",
    )


FUNCTIONS = (REFUSE_CHANGE, CHECK_JOURNAL)

TRIGGERS = (
    # ledger.Journal, ledger.Entry, ledger.CreditNote, ledger.CreditNoteLine
    immutable("ledger_entry"),
    immutable("ledger_journal"),
    immutable("ledger_creditnote"),
    immutable("ledger_creditnoteline"),
    # ledger.Journal and ledger.Entry, checked at commit
    balanced("ledger_journal"),
    balanced("ledger_entry"),
)

INSTALL = install_sql(FUNCTIONS, TRIGGERS)
UNINSTALL = uninstall_sql(FUNCTIONS, TRIGGERS)
