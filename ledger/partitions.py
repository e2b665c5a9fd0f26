"""ledger_entry's monthly partitions: when an old month may be detached.

ledger_entry is partitioned by month of `date` (its journal's posting date) on
PostgreSQL (migration 0006); refunds.partitions makes the coming months and
detaches old ones for every table in settings.PARTITIONED_TABLES, asking this
rule for the entries'. A month may go only when it is a CLOSED accounting
period (periods are calendar months, ledger.periods): nothing can be posted
into it any more, and its reports, statements and exports are final. Account
balances (AccountBalance) are maintained apart from the entries, so detaching
a month changes no balance; reads by date over a detached month (a statement,
an export, the trial balance as of a day in it) no longer see its entries.
A detached month cannot be reopened (ledger.closing) until it is attached
again.
"""

from __future__ import annotations

from typing import Any

from refunds.partitions import Month, detached

from .models import AccountingPeriod, PeriodStatus


def entries_kept(month: Month, cursor: Any, *, locked: bool) -> str:
    """Why an entries month stays ("" when its period is closed). Under the
    detach's lock the period row is read FOR SHARE: a reopen waits for the
    detach to commit, and then refuses (`entries_detached`)."""
    lock = " FOR SHARE" if locked else ""
    cursor.execute(
        f"SELECT status FROM {AccountingPeriod._meta.db_table} WHERE month = %s{lock}",
        [month.start],
    )
    row = cursor.fetchone()
    if row is None or row[0] != PeriodStatus.CLOSED:
        return f"{month.start:%Y-%m} is not a closed accounting period"
    return ""


def entries_detached(month_start: Any) -> bool:
    """Whether the entries of the month starting `month_start` were detached."""
    return detached(Month("ledger_entry", month_start))
