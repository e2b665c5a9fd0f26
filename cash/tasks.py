"""Celery tasks of the cash side."""

from celery import shared_task


@shared_task(name="cash.tasks.daily_receivables")
def daily_receivables() -> int:
    """Daily (beat): settle, allocate, tag overdue receivables; returns how many are overdue."""
    from .services.receivables import daily

    return daily()
