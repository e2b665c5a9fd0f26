"""Celery tasks of the cash side."""

from celery import shared_task


@shared_task(name="cash.tasks.daily_receivables")
def daily_receivables() -> int:
    """Daily (beat): settle, allocate, tag overdue receivables; returns how many are overdue."""
    from .services.receivables import daily

    return daily()


@shared_task(name="cash.tasks.sync_open_items")
def sync_open_items() -> int:
    """Every few minutes (beat): open items for payouts recorded since; how many.
    It does not wait for a reconciliation run holding the sync (that run
    catches up itself). PostgreSQL only, as the matching engine: on SQLite (the
    dev database) none."""
    from django.db import connection

    from .services.sources import sync_open_items as sync

    return sync(wait=False) if connection.vendor == "postgresql" else 0
