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

Installed by migration 0001 with lib.pgtriggers (see ledger/triggers.py for why
SQL rather than django-pgtrigger). PostgreSQL only.
"""

from lib.pgtriggers import Function, Trigger, install_sql, uninstall_sql

ALLOCATIONS_ADDED = Function(
    "cash_allocations_added()",
    r"""
CREATE OR REPLACE FUNCTION cash_allocations_added() RETURNS trigger AS $$
BEGIN
    UPDATE cash_bankstatementline l
       SET allocated_minor = l.allocated_minor + n.total,
           status = CASE WHEN l.allocated_minor + n.total = abs(l.amount_minor)
                         THEN 'matched' ELSE l.status END
      FROM (SELECT line_id, sum(amount_minor) AS total FROM new_rows
             WHERE reversed_at IS NULL GROUP BY line_id) n
     WHERE l.id = n.line_id;
    UPDATE cash_openitem i
       SET remaining_minor = i.remaining_minor - n.total
      FROM (SELECT item_id, sum(amount_minor) AS total FROM new_rows
             WHERE reversed_at IS NULL GROUP BY item_id) n
     WHERE i.id = n.item_id;
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

FUNCTIONS = (
    ALLOCATIONS_ADDED,
    ALLOCATIONS_REVERSED,
    REFUSE_ALLOCATION_CHANGE,
    REFUSE_LINE_CHANGE,
    CHECK_BANK_ROLE,
)

TRIGGERS = (
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
# keep those updates on the page without touching the indexes (HOT updates).
FILLFACTOR = """
ALTER TABLE cash_bankstatementline SET (fillfactor = 80);
ALTER TABLE cash_openitem SET (fillfactor = 80);
"""
