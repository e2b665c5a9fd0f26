"""Sending vendor invitations: on commit, and a sweep for the ones left unsent."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import VendorInvitation
from .services import send_invitation

logger = logging.getLogger(__name__)

# An invitation still unsent this long after it was written was missed (the
# broker was down, or the mail server refused): the sweep sends it again.
RESEND_AFTER = timedelta(minutes=5)
RESEND_BATCH = 100
# After this many refusals an invitation waits for staff (its last_error says why).
MAX_ATTEMPTS = 10


@shared_task(
    acks_late=True,
    soft_time_limit=settings.EMAIL_TASK_TIME_LIMIT,
    time_limit=settings.EMAIL_TASK_TIME_LIMIT + 30,
)
def deliver_invitation(invitation_id: int) -> bool:
    return send_invitation(invitation_id)


def queue_invitation(invitation_id: int) -> None:
    """Hand the invitation to a worker; with the broker down the sweep sends it later."""
    try:
        deliver_invitation.apply_async(args=[invitation_id], retry=False)
    except Exception:  # the broker is down: the invitation row is kept for the sweep
        logger.warning("vendor invitation %s not queued", invitation_id, exc_info=True)


@shared_task(acks_late=True)
def resend_invitations() -> int:
    """Send the invitations nobody sent (see RESEND_AFTER); run by beat."""
    ids = list(
        VendorInvitation.objects.filter(
            sent_at__isnull=True,
            created_at__lte=timezone.now() - RESEND_AFTER,
            attempts__lt=MAX_ATTEMPTS,
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:RESEND_BATCH]
    )
    return sum(send_invitation(pk) for pk in ids)
