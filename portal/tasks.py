from celery import shared_task

from .notifications import email_notification


@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def email_notifications(notification_ids: list[int]) -> int:
    return sum(1 for pk in notification_ids if email_notification(pk))


# Celery's autodiscovery imports each app's `tasks` module only: this registers
# the scheduled statement run (see portal.statement_tasks) with the worker.
from .statement_tasks import generate_statements  # noqa: E402, F401
