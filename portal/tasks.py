from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from refunds import outbox

from .models import Notification
from .notifications import email_notification

# A notification not emailed EMAIL_RESEND_AFTER_SECONDS after it was made was
# missed (the broker was down when it was queued, or the task was lost): the
# sweep (every 10 s) sends it again. Sending claims each one first, so one
# whose task is merely slow is not sent twice.
# ... unless it is older than this: an email about a week-old case helps nobody
# (the inbox still has it).
RESEND_WITHIN = timedelta(days=3)
RESEND_BATCH = 500
# After this many failed sends a notification stays in the inbox only.
MAX_EMAIL_ATTEMPTS = 10


class EmailsFailed(Exception):
    """Some emails of a batch could not be sent (the rest were)."""


@shared_task(
    acks_late=True,
    soft_time_limit=settings.EMAIL_TASK_TIME_LIMIT,
    time_limit=settings.EMAIL_TASK_TIME_LIMIT + 30,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def email_notifications(notification_ids: list[int]) -> int:
    """Send each notification's email. One that fails does not hold back the
    others; the batch is retried for the failed ones (those sent are claimed,
    so a retry skips them)."""
    sent, failed = 0, []
    for pk in notification_ids:
        try:
            sent += email_notification(pk)
        except Exception as error:  # recorded on the notification by email_notification
            failed.append(f"{pk}: {error}")
    if failed:
        raise EmailsFailed("; ".join(failed)[:2000])
    return sent


@shared_task(acks_late=True)
def resend_missed_emails() -> int:
    """Queue the emails of notifications nobody emailed, RESEND_BATCH per
    task, until none is left; run by beat, and by the first publish after a
    broker outage."""
    now = timezone.now()
    missed = Notification.objects.filter(
        emailed_at__isnull=True,
        created_at__lte=now - timedelta(seconds=settings.EMAIL_RESEND_AFTER_SECONDS),
        created_at__gte=now - RESEND_WITHIN,
        email_attempts__lt=MAX_EMAIL_ATTEMPTS,
    ).order_by("created_at", "id")
    queued = 0
    after: tuple | None = None
    while True:
        page = missed
        if after is not None:
            page = page.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], id__gt=after[1]))
        rows = list(page.values_list("created_at", "pk")[:RESEND_BATCH])
        if not rows:
            return queued
        if not outbox.publish(email_notifications, [[pk for _, pk in rows]]):
            return queued  # the broker is down: the next sweep tries again
        queued += len(rows)
        after = rows[-1]


# Celery's autodiscovery imports each app's `tasks` module only: this registers
# the scheduled statement run (see portal.settlement_tasks) with the worker.
from .settlement_tasks import generate_statements  # noqa: E402, F401
