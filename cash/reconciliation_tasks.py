"""The scheduled reconciliation run (beat: config/settings/base.py). Imported
by cash.apps.CashConfig.ready so workers register it (not named tasks.py: that
module is left to the receivables' own tasks)."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from .services.periods import run_all_periods


@shared_task(acks_late=True, name="cash.reconciliation_tasks.reconcile_periods")
def reconcile_periods(month: str | None = None) -> dict[str, int]:
    """Run every bank account's month (default: yesterday's month). Signed-off
    periods keep their figures; a missed run is caught up by the next."""
    runs = run_all_periods(month=date.fromisoformat(month) if month else None)
    return {"ran": sum(r.ran for r in runs), "locked": sum(not r.ran for r in runs)}
