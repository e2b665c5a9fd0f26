"""The scheduled run that makes due settlement statements and tells vendors.

Here rather than in the ledger: the ledger makes statements but knows nothing
of the portal, which tells vendors about them.
"""

from __future__ import annotations

from datetime import date

from celery import shared_task

from .statements import make_due_statements


@shared_task(acks_late=True)
def generate_statements(today: str | None = None) -> dict[str, int]:
    """Make every due statement, then notify the newest ones. Run daily (or
    more often): a repeated run makes nothing, a missed one is caught up."""
    result, notified = make_due_statements(date.fromisoformat(today) if today else None)
    return {
        "statements": len(result.statements),
        "failed": len(result.failures),
        "notified": len(notified),
    }
