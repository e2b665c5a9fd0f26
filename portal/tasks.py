from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from refunds import outbox

from .models import Notification
from .notifications import email_notification

# A notification not emailed this long after it was made was missed (the broker
# was down when it was queued, or every retry failed): the sweep sends it again.
RESEND_AFTER = timedelta(minutes=5)
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
    """Queue the emails of notifications nobody emailed (see RESEND_AFTER);
    run by beat. Sending claims each one first, so a notification an earlier
    task is still sending is not sent twice."""
    now = timezone.now()
    ids = list(
        Notification.objects.filter(
            emailed_at__isnull=True,
            created_at__lte=now - RESEND_AFTER,
            created_at__gte=now - RESEND_WITHIN,
            email_attempts__lt=MAX_EMAIL_ATTEMPTS,
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:RESEND_BATCH]
    )
    if ids and not outbox.publish(email_notifications, [ids]):
        return 0  # the broker is down: the next sweep tries again
    return len(ids)


# Celery's autodiscovery imports each app's `tasks` module only: this registers
# the scheduled statement run (see portal.settlement_tasks) with the worker.
from .settlement_tasks import generate_statements  # noqa: E402, F401
