"""ledger_entry's monthly partitions: when an old month may be detached.

ledger_entry is partitioned by month of `date` (its journal's posting date) on
PostgreSQL (migration 0006); refunds.partitions makes the coming months for
every table in settings.PARTITIONED_TABLES and asks each table's rule before
detaching an old one.

For the entries the answer is no, for now, and says why. A month would have
to be a CLOSED accounting period (nothing can be posted into it any more),
but that is not enough: several reads that decide money add up every entry
from the first one up to a day, and would silently leave a detached month
out. The next close's reclassification of vendors' debit balances
(ledger.receivables.payable_debits_at), each settlement statement's opening
(ledger.settlements.compute), the reconciliation's ledger balance
(cash.services.periods), the aging reports and check_ledger's comparison of
balances and daily totals with the entries. Detaching entries needs those
reads to start from the daily totals (AccountDay) before the first attached
month; until they do, the month stays. A month detached by hand cannot be
reopened (ledger.closing) while its table exists.
"""

from __future__ import annotations

from typing import Any

from refunds.partitions import Month, detached

from .models import AccountingPeriod, PeriodStatus

CUMULATIVE_READS = (
    "ledger entries stay attached: closing, settlement statements' openings, the "
    "reconciliation's ledger balance, aging and check_ledger add up every entry "
    "from the first month (see ledger.partitions)"
)


def entries_kept(month: Month, cursor: Any, *, locked: bool) -> str:
    """Why an entries month stays: every month does (CUMULATIVE_READS), and one
    that is not a closed period says that first. The period row is read FOR
    SHARE under the detach's lock, so a reopen cannot cross a detach."""
    lock = " FOR SHARE" if locked else ""
    cursor.execute(
        f"SELECT status FROM {AccountingPeriod._meta.db_table} WHERE month = %s{lock}",
        [month.start],
    )
    row = cursor.fetchone()
    if row is None or row[0] != PeriodStatus.CLOSED:
        return f"{month.start:%Y-%m} is not a closed accounting period"
    return CUMULATIVE_READS


def entries_detached(month_start: Any) -> bool:
    """Whether the entries of the month starting `month_start` were detached."""
    return detached(Month("ledger_entry", month_start))
