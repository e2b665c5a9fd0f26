"""The scheduled run that makes due settlement statements and tells vendors.

Here rather than in the ledger: the ledger makes statements but knows nothing
of the portal, which tells vendors about them.
"""

from __future__ import annotations

from datetime import date

from celery import shared_task

from .settlement_notifications import make_due_statements


# The name beat schedules (config/settings/base.py) is the one the task had
# when it lived in portal/statement_tasks.py: workers and beat agree across
# the rename without an alias.
@shared_task(acks_late=True, name="portal.statement_tasks.generate_statements")
def generate_statements(today: str | None = None) -> dict[str, int]:
    """Make every due statement, then notify the newest ones. Run daily (or
    more often): a repeated run makes nothing, a missed one is caught up."""
    result, notified = make_due_statements(date.fromisoformat(today) if today else None)
    return {
        "statements": len(result.statements),
        "failed": len(result.failures),
        "notified": len(notified),
    }
