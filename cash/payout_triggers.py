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

from lib.pgtriggers import install_sql, uninstall_sql
from lib.trigger_sql import changed, plpgsql, trigger

REFUSE_PAYOUT_CHANGE = plpgsql(
    "cash_refuse_payout_change",
    r"""
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


# (table, trigger name's end, when fired, condition) of each, all running
# cash_refuse_payout_change().
GUARDS = (
    ("cash_payoutreport", "no_delete", "BEFORE DELETE", ""),
    (
        "cash_payoutreport",
        "facts",
        "BEFORE UPDATE",
        changed(REPORT_FACTS)
        + "\n        OR (OLD.journal_id IS NOT NULL AND OLD.journal_id IS DISTINCT FROM NEW.journal_id)",
    ),
    ("cash_payoutreportrow", "immutable", "BEFORE UPDATE OR DELETE", ""),
    ("cash_payoutexception", "no_delete", "BEFORE DELETE", ""),
    (
        "cash_payoutexception",
        "resolved_once",
        "BEFORE UPDATE",
        "OLD.status <> 'open'\n        OR " + changed(EXCEPTION_FACTS),
    ),
)

TRIGGERS = tuple(
    trigger(f"{table}_{end}", table, when_fired, "cash_refuse_payout_change", condition=condition)
    for table, end, when_fired, condition in GUARDS
)

INSTALL = install_sql(FUNCTIONS, TRIGGERS)
UNINSTALL = uninstall_sql(FUNCTIONS, TRIGGERS)
