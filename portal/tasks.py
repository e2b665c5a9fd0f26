from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .models import Notification
from .notifications import email_notification

# A notification not emailed this long after it was made was missed (the broker
# was down when it was queued, or every retry failed): the sweep sends it again.
RESEND_AFTER = timedelta(minutes=5)
# ... unless it is older than this: an email about a week-old case helps nobody
# (the inbox still has it).
RESEND_WITHIN = timedelta(days=3)
RESEND_BATCH = 500


@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def email_notifications(notification_ids: list[int]) -> int:
    return sum(1 for pk in notification_ids if email_notification(pk))


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
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:RESEND_BATCH]
    )
    if ids:
        email_notifications.delay(ids)
    return len(ids)


# Celery's autodiscovery imports each app's `tasks` module only: this registers
# the scheduled statement run (see portal.statement_tasks) with the worker.
from .statement_tasks import generate_statements  # noqa: E402, F401
