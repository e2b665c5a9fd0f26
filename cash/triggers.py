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
  allocation's line and item (by the counter trigger's own UPDATEs). These replace FOREIGN KEY constraints on the
  tables a run writes a million rows to: PostgreSQL checks a foreign key row
  by row at commit (a lookup and a row lock each), which cost more than the
  whole match in bench/reconciliation. The referenced rows are never deleted
  (statements, lines and items refuse DELETE below; a bank account keeps a
  real foreign key from its statements), so an insert-time check is enough.
- Open items change only in `remaining_minor`, and only through allocations.

Installed by migration 0001_squashed with lib.pgtriggers (see ledger/triggers.py for why
SQL rather than django-pgtrigger). PostgreSQL only.
"""

from lib.pgtriggers import Function, Trigger, install_sql, uninstall_sql

# The two UPDATEs join every new allocation to its line and its item anyway:
# fewer rows updated than lines (or items) named means one does not exist,
# which is the allocation's reference check at no extra cost.
# Each UPDATE visits its rows in id order (the ORDER BY): a run's million
# updates then walk the table's pages once, front to back, instead of jumping
# at random between pages that no longer fit in shared_buffers (each jump an
# eviction of a dirty page and a read; measured in bench/reconciliation).
ALLOCATIONS_ADDED = Function(
    "cash_allocations_added()",
    r"""
CREATE OR REPLACE FUNCTION cash_allocations_added() RETURNS trigger AS $$
DECLARE
    named bigint;
    found bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE reversed_at IS NOT NULL) THEN
        RAISE EXCEPTION 'cash: an allocation is made active; reversing it is a later update'
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(DISTINCT line_id) INTO named FROM new_rows;
    UPDATE cash_bankstatementline l
       SET allocated_minor = l.allocated_minor + n.total,
           status = CASE WHEN l.allocated_minor + n.total = abs(l.amount_minor)
                         THEN 'matched' ELSE l.status END
      FROM (SELECT line_id, sum(amount_minor) AS total FROM new_rows
             GROUP BY line_id ORDER BY line_id) n
     WHERE l.id = n.line_id;
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found <> named THEN
        RAISE EXCEPTION 'cash: % of % allocated lines do not exist', named - found, named
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT count(DISTINCT item_id) INTO named FROM new_rows;
    UPDATE cash_openitem i
       SET remaining_minor = i.remaining_minor - n.total
      FROM (SELECT item_id, sum(amount_minor) AS total FROM new_rows
             GROUP BY item_id ORDER BY item_id) n
     WHERE i.id = n.item_id;
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found <> named THEN
        RAISE EXCEPTION 'cash: % of % allocated open items do not exist', named - found, named
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
""",
)

ALLOCATIONS_REVERSED = Function(
    "cash_allocations_reversed()",
    r"""
CREATE OR REPLACE FUNCTION cash_allocations_reversed() RETURNS trigger AS $$
BEGIN
    UPDATE cash_bankstatementline l
       SET allocated_minor = l.allocated_minor - n.total,
           status = CASE WHEN l.status = 'matched' THEN 'unmatched' ELSE l.status END
      FROM (SELECT o.line_id, sum(o.amount_minor) AS total
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE o.reversed_at IS NULL AND n.reversed_at IS NOT NULL
             GROUP BY o.line_id) n
     WHERE l.id = n.line_id;
    UPDATE cash_openitem i
       SET remaining_minor = i.remaining_minor + n.total
      FROM (SELECT o.item_id, sum(o.amount_minor) AS total
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE o.reversed_at IS NULL AND n.reversed_at IS NOT NULL
             GROUP BY o.item_id) n
     WHERE i.id = n.item_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
""",
)

REFUSE_ALLOCATION_CHANGE = Function(
    "cash_refuse_allocation_change()",
    r"""
CREATE OR REPLACE FUNCTION cash_refuse_allocation_change() RETURNS trigger AS $$
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
$$ LANGUAGE plpgsql;
""",
)

REFUSE_LINE_CHANGE = Function(
    "cash_refuse_line_change()",
    r"""
CREATE OR REPLACE FUNCTION cash_refuse_line_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'cash: bank statement lines are never deleted'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RAISE EXCEPTION 'cash: line %: what the bank said is never changed, and what is '
        'allocated changes only through allocations', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
""",
)

CHECK_BANK_ROLE = Function(
    "cash_check_bank_role()",
    r"""
CREATE OR REPLACE FUNCTION cash_check_bank_role() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger_account
                    WHERE id = NEW.ledger_account_id AND role = 'bank') THEN
        RAISE EXCEPTION 'cash: bank account % must mirror a ledger account whose role is bank',
            NEW.name USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
""",
)

CHECK_REFERENCES = Function(
    "cash_check_references()",
    r"""
CREATE OR REPLACE FUNCTION cash_check_references() RETURNS trigger AS $$
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
$$ LANGUAGE plpgsql;
""",
)

REFUSE_DELETE = Function(
    "cash_refuse_delete()",
    r"""
CREATE OR REPLACE FUNCTION cash_refuse_delete() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'cash: % rows are never deleted', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
""",
)

REFUSE_ITEM_CHANGE = Function(
    "cash_refuse_item_change()",
    r"""
CREATE OR REPLACE FUNCTION cash_refuse_item_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'cash: open item %: only allocations change what remains of it', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
""",
)


def references_checked(table: str) -> Trigger:
    name = f"{table}_references"
    return Trigger(
        name,
        table,
        f"""
CREATE TRIGGER {name}
    AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cash_check_references();
""",
    )


def never_deleted(table: str) -> Trigger:
    name = f"{table}_no_delete"
    return Trigger(
        name,
        table,
        f"""
CREATE TRIGGER {name}
    BEFORE DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION cash_refuse_delete();
""",
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

TRIGGERS = (
    references_checked("cash_bankstatementline"),
    references_checked("cash_openitem"),
    never_deleted("cash_bankstatement"),
    never_deleted("cash_openitem"),
    Trigger(
        "cash_openitem_facts",
        "cash_openitem",
        """
CREATE TRIGGER cash_openitem_facts
    BEFORE UPDATE ON cash_openitem
    FOR EACH ROW WHEN (
        (OLD.kind, OLD.source_id, OLD.ledger_account_id, OLD.currency, OLD.amount,
         OLD.amount_minor, OLD.item_date, OLD.reference, OLD.counterparty, OLD.reference_keys)
        IS DISTINCT FROM
        (NEW.kind, NEW.source_id, NEW.ledger_account_id, NEW.currency, NEW.amount,
         NEW.amount_minor, NEW.item_date, NEW.reference, NEW.counterparty, NEW.reference_keys)
        OR (pg_trigger_depth() = 0 AND OLD.remaining_minor <> NEW.remaining_minor)
    )
    EXECUTE FUNCTION cash_refuse_item_change();
""",
    ),
    Trigger(
        "cash_allocation_added",
        "cash_allocation",
        """
CREATE TRIGGER cash_allocation_added
    AFTER INSERT ON cash_allocation
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cash_allocations_added();
""",
    ),
    Trigger(
        "cash_allocation_reversed",
        "cash_allocation",
        """
CREATE TRIGGER cash_allocation_reversed
    AFTER UPDATE ON cash_allocation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cash_allocations_reversed();
""",
    ),
    Trigger(
        "cash_allocation_immutable",
        "cash_allocation",
        """
CREATE TRIGGER cash_allocation_immutable
    BEFORE UPDATE OR DELETE ON cash_allocation
    FOR EACH ROW EXECUTE FUNCTION cash_refuse_allocation_change();
""",
    ),
    Trigger(
        "cash_bankstatementline_no_delete",
        "cash_bankstatementline",
        """
CREATE TRIGGER cash_bankstatementline_no_delete
    BEFORE DELETE ON cash_bankstatementline
    FOR EACH ROW EXECUTE FUNCTION cash_refuse_line_change();
""",
    ),
    # The WHEN clause is evaluated without a function call, so a run's status
    # updates cost nothing here; pg_trigger_depth() is 0 for a statement a
    # client sent and 1 inside the allocation trigger.
    Trigger(
        "cash_bankstatementline_facts",
        "cash_bankstatementline",
        """
CREATE TRIGGER cash_bankstatementline_facts
    BEFORE UPDATE ON cash_bankstatementline
    FOR EACH ROW WHEN (
        (OLD.account_id, OLD.statement_id, OLD.booking_date, OLD.value_date, OLD.amount,
         OLD.currency, OLD.amount_minor, OLD.counterparty, OLD.counterparty_account,
         OLD.remittance, OLD.bank_reference, OLD.entry_reference, OLD.end_to_end_id,
         OLD.transaction_code, OLD.natural_key, OLD.key_source, OLD.key_conflict,
         OLD.reference_keys)
        IS DISTINCT FROM
        (NEW.account_id, NEW.statement_id, NEW.booking_date, NEW.value_date, NEW.amount,
         NEW.currency, NEW.amount_minor, NEW.counterparty, NEW.counterparty_account,
         NEW.remittance, NEW.bank_reference, NEW.entry_reference, NEW.end_to_end_id,
         NEW.transaction_code, NEW.natural_key, NEW.key_source, NEW.key_conflict,
         NEW.reference_keys)
        OR (pg_trigger_depth() = 0
            AND (OLD.allocated_minor <> NEW.allocated_minor
                 OR (OLD.status = 'matched') <> (NEW.status = 'matched')))
    )
    EXECUTE FUNCTION cash_refuse_line_change();
""",
    ),
    Trigger(
        "cash_bankaccount_bank_role",
        "cash_bankaccount",
        """
CREATE TRIGGER cash_bankaccount_bank_role
    BEFORE INSERT OR UPDATE OF ledger_account_id ON cash_bankaccount
    FOR EACH ROW EXECUTE FUNCTION cash_check_bank_role();
""",
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
