"""The cash app's PostgreSQL triggers: the current definition of each, in one place.

- Allocations keep the counters. After each INSERT statement on
  cash_allocation, one UPDATE adds the new allocations to their lines'
  `allocated_minor` (and marks a line matched when the whole amount is
  allocated) and one takes them off their items' `remaining_minor`; a reversal
  (setting `reversed_at`) gives them back. Statement-level triggers with
  transition tables: a run that writes a million allocations costs two UPDATEs,
  not two million. The CHECK constraints on both tables then refuse to allocate
  a line or an item beyond its amount, so two runs never allocate the same
  money twice, whatever code wrote the rows.
- Allocations are never deleted or edited; only `reversed_at`/`reversed_by`
  are set, once.
- Statement lines are never deleted, and what the bank said (dates, amount,
  references, natural key) never changes; `allocated_minor` and the matched
  status change only through allocations (the trigger above).
- A bank account mirrors a ledger account whose role is bank.
- References checked per statement, not per row: a line's statement (and that
  it is of the line's account), an item's ledger account (role bank), and an
  allocation's line and item (by the counter trigger's own UPDATEs) and run
  (one lookup of the statement's distinct runs). These replace FOREIGN KEY
  constraints on the tables a run writes a million rows to: PostgreSQL checks
  a foreign key row by row at commit (a lookup and a row lock each), which
  cost more than the whole match in bench/reconciliation. The referenced rows
  are never deleted (statements, lines, items and runs refuse DELETE below; a
  bank account keeps a real foreign key from its statements), so an
  insert-time check is enough.
- Open items change only in `remaining_minor`, and only through allocations.

Installed by migration 0001_squashed with lib.pgtriggers (see ledger/triggers.py for why
SQL rather than django-pgtrigger). PostgreSQL only.
"""

from lib.pgtriggers import install_sql, uninstall_sql
from lib.trigger_sql import changed, on_each_statement, plpgsql, refusal, trigger

# The counters the allocations keep, one UPDATE each per statement:
# (table, alias, allocation column, what its rows are called, SET on
# allocating, SET on reversing); `n.total` is the statement's sum per row.
COUNTERS = (
    (
        "cash_bankstatementline",
        "l",
        "line_id",
        "lines",
        """allocated_minor = l.allocated_minor + n.total,
           status = CASE WHEN l.allocated_minor + n.total = abs(l.amount_minor)
                         THEN 'matched' ELSE l.status END""",
        """allocated_minor = l.allocated_minor - n.total,
           status = CASE WHEN l.status = 'matched' THEN 'unmatched' ELSE l.status END""",
    ),
    (
        "cash_openitem",
        "i",
        "item_id",
        "open items",
        "remaining_minor = i.remaining_minor - n.total",
        "remaining_minor = i.remaining_minor + n.total",
    ),
)


# The UPDATE joins every new allocation to its row anyway: fewer rows updated
# than rows named means one does not exist, which is the allocation's reference
# check at no extra cost. It visits its rows in id order (the ORDER BY): a run's
# million updates then walk the table's pages once, front to back, instead of
# jumping at random between pages that no longer fit in shared_buffers (each
# jump an eviction of a dirty page and a read; measured in bench/reconciliation).
#
# A bulk statement (a run's allocations) names each line and item once, so its
# new rows are the sums already: sorting them by id is all there is to do, and
# the planner, which then knows how many rows come (it guesses 200 groups),
# joins them to the table in one hash join instead of a million index lookups.
# That is tried first, in a subtransaction: when it updates as many rows as
# allocations came, every one named a distinct row that exists, which is all
# the general path would have checked (without counting the distinct names
# first, a sort of a million rows per table). When it updates fewer (a row
# named twice, or one missing), it is undone and the general path decides.
# Being another statement, it has its own cached plan: a later small insert in
# the session does not reuse the bulk one's hash join (a scan of the whole
# table).
BULK_ALLOCATIONS = 100_000
NOT_BULK = "SLB01"  # the bulk path's own SQLSTATE: undo it, take the general path


def _add(table: str, alias: str, key: str, called: str, added: str, _reversed: str) -> str:
    update = f"""UPDATE {table} {alias}
           SET {added}
          FROM (SELECT {key}, {{total}} AS total FROM new_rows
                 {{grouped}}ORDER BY {key}) n
         WHERE {alias}.id = n.{key};"""
    return f"""    found := -1;
    IF allocations >= {BULK_ALLOCATIONS} THEN
        BEGIN
            {update.format(total="amount_minor", grouped="")}
            GET DIAGNOSTICS found = ROW_COUNT;
            IF found <> allocations THEN
                RAISE EXCEPTION 'not one {key} each' USING ERRCODE = '{NOT_BULK}';
            END IF;
        EXCEPTION WHEN SQLSTATE '{NOT_BULK}' THEN
            found := -1;
        END;
    END IF;
    IF found = -1 THEN
        SELECT count(DISTINCT {key}) INTO named FROM new_rows;
        {update.format(total="sum(amount_minor)", grouped=f"GROUP BY {key} ")}
        GET DIAGNOSTICS found = ROW_COUNT;
        IF found <> named THEN
            RAISE EXCEPTION 'cash: % of % allocated {called} do not exist', named - found, named
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
"""


def _give_back(table: str, alias: str, key: str, _called: str, _added: str, given: str) -> str:
    return f"""    UPDATE {table} {alias}
       SET {given}
      FROM (SELECT o.{key}, sum(o.amount_minor) AS total
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE o.reversed_at IS NULL AND n.reversed_at IS NOT NULL
             GROUP BY o.{key}) n
     WHERE {alias}.id = n.{key};
"""


# One pass over the new rows counts them, finds a reversed one and the runs
# named (nearly always one: a run's, or none: a person's match).
ALLOCATIONS_ADDED = plpgsql(
    "cash_allocations_added",
    """
DECLARE
    allocations bigint;
    reversed boolean;
    first_run bigint;
    last_run bigint;
    named bigint;
    found bigint;
    missing bigint;
BEGIN
    SELECT count(*), bool_or(reversed_at IS NOT NULL), min(run_id), max(run_id)
      INTO allocations, reversed, first_run, last_run FROM new_rows;
    IF reversed THEN
        RAISE EXCEPTION 'cash: an allocation is made active; reversing it is a later update'
            USING ERRCODE = 'check_violation';
    END IF;
"""
    + "".join(_add(*counter) for counter in COUNTERS)
    + """    IF first_run = last_run THEN
        IF NOT EXISTS (SELECT 1 FROM cash_reconciliationrun WHERE id = first_run) THEN
            missing := first_run;
        END IF;
    ELSIF first_run IS NOT NULL THEN
        SELECT n.run_id INTO missing
          FROM (SELECT DISTINCT run_id FROM new_rows WHERE run_id IS NOT NULL) n
          LEFT JOIN cash_reconciliationrun r ON r.id = n.run_id
         WHERE r.id IS NULL LIMIT 1;
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'cash: allocations name run %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
""",
)

ALLOCATIONS_REVERSED = plpgsql(
    "cash_allocations_reversed",
    "\nBEGIN\n" + "".join(_give_back(*counter) for counter in COUNTERS) + "    RETURN NULL;\nEND\n",
)

REFUSE_ALLOCATION_CHANGE = plpgsql(
    "cash_refuse_allocation_change",
    r"""
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'cash: allocations are never deleted; reverse allocation % instead', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.reversed_at IS NOT NULL
       OR NEW.reversed_at IS NULL
       OR (NEW.line_id, NEW.item_id, NEW.amount_minor, NEW.method, NEW.run_id,
           NEW.suggestion_id, NEW.created_by_id, NEW.created_at)
          IS DISTINCT FROM
          (OLD.line_id, OLD.item_id, OLD.amount_minor, OLD.method, OLD.run_id,
           OLD.suggestion_id, OLD.created_by_id, OLD.created_at) THEN
        RAISE EXCEPTION 'cash: allocation % can only be reversed, once', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
""",
)

REFUSE_LINE_CHANGE = plpgsql(
    "cash_refuse_line_change",
    r"""
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'cash: bank statement lines are never deleted'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RAISE EXCEPTION 'cash: line %: what the bank said is never changed, and what is '
        'allocated changes only through allocations', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END
""",
)

CHECK_BANK_ROLE = plpgsql(
    "cash_check_bank_role",
    r"""
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger_account
                    WHERE id = NEW.ledger_account_id AND role = 'bank') THEN
        RAISE EXCEPTION 'cash: bank account % must mirror a ledger account whose role is bank',
            NEW.name USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
""",
)

CHECK_REFERENCES = plpgsql(
    "cash_check_references",
    r"""
DECLARE
    bad bigint;
BEGIN
    IF TG_TABLE_NAME = 'cash_bankstatementline' THEN
        -- One statement per import: the distinct pairs are few, whatever the lines.
        SELECT n.statement_id INTO bad
          FROM (SELECT DISTINCT statement_id, account_id FROM new_rows) n
          LEFT JOIN cash_bankstatement s ON s.id = n.statement_id AND s.account_id = n.account_id
         WHERE s.id IS NULL LIMIT 1;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'cash: lines name statement %, which is not of their account', bad
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    ELSIF TG_TABLE_NAME = 'cash_openitem' THEN
        SELECT n.ledger_account_id INTO bad
          FROM (SELECT DISTINCT ledger_account_id FROM new_rows) n
          LEFT JOIN ledger_account a ON a.id = n.ledger_account_id AND a.role = 'bank'
         WHERE a.id IS NULL LIMIT 1;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'cash: open items name ledger account %, whose role is not bank', bad
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    RETURN NULL;
END
""",
)

REFUSE_DELETE = refusal(
    "cash_refuse_delete",
    "cash: % rows are never deleted",
    "TG_TABLE_NAME",
    errcode="integrity_constraint_violation",
)

REFUSE_ITEM_CHANGE = refusal(
    "cash_refuse_item_change",
    "cash: open item %: only allocations change what remains of it",
    "OLD.id",
    errcode="integrity_constraint_violation",
)

FUNCTIONS = (
    CHECK_REFERENCES,
    REFUSE_DELETE,
    REFUSE_ITEM_CHANGE,
    ALLOCATIONS_ADDED,
    ALLOCATIONS_REVERSED,
    REFUSE_ALLOCATION_CHANGE,
    REFUSE_LINE_CHANGE,
    CHECK_BANK_ROLE,
)

# What the import wrote: never changed after (the matching state aside).
ITEM_FACTS = (
    "kind",
    "source_id",
    "ledger_account_id",
    "currency",
    "amount",
    "amount_minor",
    "item_date",
    "reference",
    "counterparty",
    "reference_keys",
)
# Whom a line is from and what names it: shown as the bank gave it (cash.admin).
LINE_REFERENCES = (
    "counterparty_account",
    "remittance",
    "bank_reference",
    "entry_reference",
    "end_to_end_id",
    "transaction_code",
    "natural_key",
    "key_source",
    "key_conflict",
)
# What the bank said of a line, as an import writes it (cash.services.imports
# stages these columns); a line's statement is a fact too.
LINE_FACTS = (
    "account_id",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "amount_minor",
    "counterparty",
    *LINE_REFERENCES,
    "reference_keys",
)

# (table, trigger name's end, when fired, function) of the plain triggers.
PLAIN = (
    ("cash_bankstatementline", "references", "AFTER INSERT", "cash_check_references"),
    ("cash_openitem", "references", "AFTER INSERT", "cash_check_references"),
    ("cash_bankstatement", "no_delete", "BEFORE DELETE", "cash_refuse_delete"),
    ("cash_openitem", "no_delete", "BEFORE DELETE", "cash_refuse_delete"),
    ("cash_reconciliationrun", "no_delete", "BEFORE DELETE", "cash_refuse_delete"),
    ("cash_allocation", "added", "AFTER INSERT", "cash_allocations_added"),
    ("cash_allocation", "reversed", "AFTER UPDATE", "cash_allocations_reversed"),
    ("cash_allocation", "immutable", "BEFORE UPDATE OR DELETE", "cash_refuse_allocation_change"),
    ("cash_bankstatementline", "no_delete", "BEFORE DELETE", "cash_refuse_line_change"),
    (
        "cash_bankaccount",
        "bank_role",
        "BEFORE INSERT OR UPDATE OF ledger_account_id",
        "cash_check_bank_role",
    ),
)

TRIGGERS = (
    *(
        # AFTER: once per statement, reading its rows (see the module's docstring).
        on_each_statement(f"{table}_{end}", table, when_fired, function)
        if when_fired.startswith("AFTER")
        else trigger(f"{table}_{end}", table, when_fired, function)
        for table, end, when_fired, function in PLAIN
    ),
    # The WHEN clause is evaluated without a function call, so a run's status
    # updates cost nothing here; pg_trigger_depth() is 0 for a statement a
    # client sent and 1 inside the allocation trigger. AFTER, not BEFORE: a
    # BEFORE UPDATE row trigger makes PostgreSQL lock each row before updating
    # it (a second WAL record and page write per row: 1-2 s of a run's million
    # counter updates per table, measured), where an AFTER one only evaluates
    # its WHEN as the row is updated and queues nothing unless it holds. The
    # refusal still ends the statement and undoes all it did.
    trigger(
        "cash_openitem_facts",
        "cash_openitem",
        "AFTER UPDATE",
        "cash_refuse_item_change",
        condition=changed(ITEM_FACTS)
        + "\n        OR (pg_trigger_depth() = 0 AND OLD.remaining_minor <> NEW.remaining_minor)",
    ),
    trigger(
        "cash_bankstatementline_facts",
        "cash_bankstatementline",
        "AFTER UPDATE",
        "cash_refuse_line_change",
        # The statement after the account: the order installed since 0001_squashed.
        condition=changed((LINE_FACTS[0], "statement_id", *LINE_FACTS[1:]))
        + """
        OR (pg_trigger_depth() = 0
            AND (OLD.allocated_minor <> NEW.allocated_minor
                 OR (OLD.status = 'matched') <> (NEW.status = 'matched')))""",
    ),
)

INSTALL = install_sql(FUNCTIONS, TRIGGERS)
UNINSTALL = uninstall_sql(FUNCTIONS, TRIGGERS)

# Lines and items are updated in place by every run (status, allocated and
# remaining amounts, none of them indexed): room in each page lets PostgreSQL
# keep those updates on the page without touching the indexes (HOT updates;
# measured: a third of the time of updates at fillfactor 100).
FILLFACTOR = """
ALTER TABLE cash_bankstatementline SET (fillfactor = 45);
ALTER TABLE cash_openitem SET (fillfactor = 50);
"""
