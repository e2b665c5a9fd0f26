"""The ledger's PostgreSQL triggers: the current definition of each, in one place.

Why a module of SQL rather than django-pgtrigger: pgtrigger names its triggers
and functions itself and writes one function per trigger, while these share
functions (`ledger_refuse_change` guards four tables, `ledger_check_journal`
two) and raise messages and error codes the code and tests rely on. Keeping
the SQL as it runs today changes nothing in the database.

Migration 0001_squashed installs FUNCTIONS and TRIGGERS (before the
migrations were squashed the definitions were spread over migrations
0002-0013); 0006 installs them again, and 0008 with KEY_FUNCTIONS and
KEY_TRIGGERS, which stand apart because their table (ledger_journalkey) is
made by 0008: an earlier migration's install must not name it.

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
# below). The journal row first, by id AND date (the journal's own, or the
# entry's: both tables are partitioned by month of that date, migrations 0006
# and 0008, so each read prunes to one month); an entry whose journal is not
# of its date is named with the journal's date (read by id alone, every
# month, only then). Then its entries by journal_id AND date. An entry dated
# otherwise is not among them: its own check names it, the journal's counts
# one entry short. (Migration 0009 let an entry of the same transaction as
# its journal skip its check; 0011 removed that: unsound under SET
# CONSTRAINTS ALL IMMEDIATE.)
CHECK_JOURNAL = Function(
    "ledger_check_journal()",
    r"""
CREATE OR REPLACE FUNCTION ledger_check_journal() RETURNS trigger AS $$
DECLARE
    -- The row's table: a month partition of the journals or of the entries.
    is_journal boolean := TG_TABLE_NAME LIKE 'ledger\_journal%';
    target bigint;
    journal record;
    found record;
BEGIN
    IF is_journal THEN
        target := NEW.id;
    ELSE
        target := NEW.journal_id;
    END IF;
    SELECT j.entry_count AS declared, j.currency, j.date INTO journal
        FROM ledger_journal j WHERE j.id = target AND j.date = NEW.date;
    IF journal.declared IS NULL THEN  -- none of that date ("found" is taken below)
        SELECT j.entry_count AS declared, j.currency, j.date INTO journal
            FROM ledger_journal j WHERE j.id = target;
    END IF;
    IF NOT is_journal AND NEW.date IS DISTINCT FROM journal.date THEN
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

# A posting key is posted once across all months (migration 0008): the
# journals are partitioned by month of date, so no unique index of theirs can
# hold it; ledger_journalkey's primary key does. Before each journal row goes
# in, its key is written there (journal id and date beside it). A key already
# there for this very journal (ledger.posting writes the keys first, in the
# same statement, and skips the journals whose key was taken) passes; a key
# of another journal is refused as a unique violation, as the unique index
# refused it before (a key being written by a concurrent transaction waits
# for it, then is refused if it committed).
JOURNAL_KEY = Function(
    "ledger_journal_key()",
    r"""
CREATE OR REPLACE FUNCTION ledger_journal_key() RETURNS trigger AS $$
BEGIN
    INSERT INTO ledger_journalkey (posting_key, journal_id, date)
        VALUES (NEW.posting_key, NEW.id, NEW.date)
        ON CONFLICT (posting_key) DO NOTHING;
    IF NOT FOUND AND NOT EXISTS (
        SELECT 1 FROM ledger_journalkey k WHERE k.posting_key = NEW.posting_key
            AND k.journal_id = NEW.id AND k.date = NEW.date
    ) THEN
        RAISE EXCEPTION 'duplicate key value violates unique constraint "ledger_journalkey_pkey"'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'ledger_journalkey_pkey',
                  TABLE = 'ledger_journal',
                  DETAIL = format('Key (posting_key)=(%s) already exists.', NEW.posting_key);
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
""",
)

JOURNAL_KEY_TRIGGER = Trigger(
    "ledger_journal_key",
    "ledger_journal",
    """
CREATE TRIGGER ledger_journal_key
    BEFORE INSERT ON ledger_journal
    FOR EACH ROW EXECUTE FUNCTION ledger_journal_key();
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

# Migrations 0001 and 0006 install INSTALL; these come with ledger_journalkey
# (migration 0008, which installs both), so they stand apart: an earlier
# migration's install must not name a table made later.
KEY_FUNCTIONS = (JOURNAL_KEY,)
KEY_TRIGGERS = (
    # ledger.JournalKey, never changed; ledger.Journal's key, once across all months
    immutable("ledger_journalkey"),
    JOURNAL_KEY_TRIGGER,
)

INSTALL = install_sql(FUNCTIONS, TRIGGERS)
UNINSTALL = uninstall_sql(FUNCTIONS, TRIGGERS)
INSTALL_KEYS = install_sql(KEY_FUNCTIONS, KEY_TRIGGERS)
UNINSTALL_KEYS = uninstall_sql(KEY_FUNCTIONS, KEY_TRIGGERS)
