"""PostgreSQL triggers of the payout reports (beside cash/triggers.py, which
holds the statements' and allocations' own).

- Reports, rows and exceptions are never deleted.
- A row is a fact of the provider's file and of its match at import: never
  changed.
- A report never changes what it says; only its journal is set, once (the
  journal's posting key names the report, so the report is written first).
- An exception changes only from open to resolved, once, with its note and who.

Installed by migration 0001_squashed with lib.pgtriggers. PostgreSQL only.
"""

from lib.pgtriggers import Function, Trigger, install_sql, uninstall_sql

REFUSE_PAYOUT_CHANGE = Function(
    "cash_refuse_payout_change()",
    r"""
CREATE OR REPLACE FUNCTION cash_refuse_payout_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'cash: % are never deleted (row %)', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_TABLE_NAME = 'cash_payoutreport' THEN
        RAISE EXCEPTION 'cash: payout report %: what it says never changes, and its journal '
            'is set once', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_TABLE_NAME = 'cash_payoutexception' THEN
        RAISE EXCEPTION 'cash: payout exception %: it is resolved once, with a note', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RAISE EXCEPTION 'cash: payout report row %: what the provider reported never changes',
        OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
""",
)

FUNCTIONS = (REFUSE_PAYOUT_CHANGE,)

REPORT_FACTS = (
    "provider_id",
    "format",
    "mapping_id",
    "file_name",
    "file_sha256",
    "position",
    "payout_id",
    "currency",
    "payout_amount",
    "amount_source",
    "arrival_date",
    "period_start",
    "period_end",
    "rows_net",
    "row_count",
    "exception_count",
    "bank_ledger_account_id",
    "imported_at",
    "imported_by_id",
)
EXCEPTION_FACTS = ("row_id", "reason", "detail", "created_at")


def _columns(record: str, names: tuple[str, ...]) -> str:
    """`(OLD.a, OLD.b, ...)`: a record's columns, for one row comparison."""
    return "(" + ", ".join(f"{record}.{name}" for name in names) + ")"


TRIGGERS = (
    Trigger(
        "cash_payoutreport_no_delete",
        "cash_payoutreport",
        """
CREATE TRIGGER cash_payoutreport_no_delete
    BEFORE DELETE ON cash_payoutreport
    FOR EACH ROW EXECUTE FUNCTION cash_refuse_payout_change();
""",
    ),
    Trigger(
        "cash_payoutreport_facts",
        "cash_payoutreport",
        f"""
CREATE TRIGGER cash_payoutreport_facts
    BEFORE UPDATE ON cash_payoutreport
    FOR EACH ROW WHEN (
        {_columns("OLD", REPORT_FACTS)}
        IS DISTINCT FROM {_columns("NEW", REPORT_FACTS)}
        OR (OLD.journal_id IS NOT NULL AND OLD.journal_id IS DISTINCT FROM NEW.journal_id)
    )
    EXECUTE FUNCTION cash_refuse_payout_change();
""",
    ),
    Trigger(
        "cash_payoutreportrow_immutable",
        "cash_payoutreportrow",
        """
CREATE TRIGGER cash_payoutreportrow_immutable
    BEFORE UPDATE OR DELETE ON cash_payoutreportrow
    FOR EACH ROW EXECUTE FUNCTION cash_refuse_payout_change();
""",
    ),
    Trigger(
        "cash_payoutexception_no_delete",
        "cash_payoutexception",
        """
CREATE TRIGGER cash_payoutexception_no_delete
    BEFORE DELETE ON cash_payoutexception
    FOR EACH ROW EXECUTE FUNCTION cash_refuse_payout_change();
""",
    ),
    Trigger(
        "cash_payoutexception_resolved_once",
        "cash_payoutexception",
        f"""
CREATE TRIGGER cash_payoutexception_resolved_once
    BEFORE UPDATE ON cash_payoutexception
    FOR EACH ROW WHEN (
        OLD.status <> 'open'
        OR {_columns("OLD", EXCEPTION_FACTS)}
           IS DISTINCT FROM {_columns("NEW", EXCEPTION_FACTS)}
    )
    EXECUTE FUNCTION cash_refuse_payout_change();
""",
    ),
)

INSTALL = install_sql(FUNCTIONS, TRIGGERS)
UNINSTALL = uninstall_sql(FUNCTIONS, TRIGGERS)
