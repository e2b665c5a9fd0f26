"""The notifications consumer of the outbox: tells each vendor of a case what
happened and what it means for them (case ID and their breakdown).

Who is told is `refunds.visibility`'s rule, the one the portal's case page and
the API follow: a vendor is told of an event it may see, and only if it is news
to it (its own people's dispute or acceptance is not).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from lib.links import link_to
from lib.money import display_money
from refunds import outbox
from refunds.models import (
    RELEASED_STATUSES,
    CaseEvent,
    EventKind,
    OutboxMessage,
    VendorLiability,
)
from refunds.visibility import acted_itself, vendor_may_see
from vendors.models import Vendor, VendorMembership

from .models import Notification

logger = logging.getLogger(__name__)


def handle_batch(messages: Sequence[OutboxMessage]) -> None:
    events = list(outbox.events_of(messages).select_related("case", "case__order", "actor"))
    liabilities: dict[int, list[VendorLiability]] = {}
    for row in VendorLiability.objects.filter(
        case_id__in={e.case_id for e in events}
    ).select_related("vendor"):
        liabilities.setdefault(row.case_id, []).append(row)
    notifications = [
        Notification(
            vendor=row.vendor,
            case=event.case,
            event=event,
            subject=subject(event),
            body=body(event, row),
        )
        for event in events
        for row in liabilities.get(event.case_id, [])
        if is_news_to(event, row.vendor_id)
    ]
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    if notifications:
        ids = list(
            Notification.objects.filter(
                event_id__in=[e.pk for e in events], emailed_at__isnull=True
            ).values_list("pk", flat=True)
        )
        if ids:
            from .tasks import email_notifications

            transaction.on_commit(lambda: _queue(email_notifications, ids))


def _queue(task, ids: list[int]) -> None:
    if not outbox.publish(task, [ids]):
        # The inbox has them; portal.tasks.resend_missed_emails sends them later.
        logger.warning("notifications: could not queue emails for %s", ids)


def is_news_to(event: CaseEvent, vendor_id: int) -> bool:
    """The vendor may see the event, and did not make it itself."""
    return vendor_may_see(event, vendor_id) and not acted_itself(event, vendor_id)


def subject(event: CaseEvent) -> str:
    case = event.case
    if event.kind == EventKind.OPENED:
        return f"Refund case {case.case_id} opened on order {case.order.number}"
    if event.kind == EventKind.BREAKDOWN_OVERRIDDEN:
        return f"Refund case {case.case_id}: breakdown changed"
    if event.kind == EventKind.ACKNOWLEDGED:
        return f"Refund case {case.case_id}: your part was accepted"
    return f"Refund case {case.case_id} is now {event.to_status}"


def body(event: CaseEvent, row: VendorLiability) -> str:
    currency = event.case.currency

    def money(amount: Decimal) -> str:
        return display_money(amount, currency)

    lines = [subject(event) + ".", ""]
    if event.case.status in RELEASED_STATUSES:
        # The liability rows keep the amounts asked for; none of it was refunded.
        lines.append(
            f"Nothing was refunded on case {event.case.case_id} "
            f"({money(row.refund_amount)} was asked for your part): "
            "nothing is borne by you."
        )
    else:
        lines += _breakdown(event, row, money)
    if event.text:
        lines += ["", event.text]
    if link := link_to("portal:case_detail", event.case.case_id):
        lines += ["", f"Case page: {link}"]
    return "\n".join(lines)


def _breakdown(event: CaseEvent, row: VendorLiability, money) -> list[str]:
    return [
        f"Your part of case {event.case.case_id}:",
        f"  Refund to the customer: {money(row.refund_amount)}",
        f"  Net {money(row.net_amount)}, tax {money(row.tax_amount)}, "
        f"shipping {money(row.shipping_amount)}",
        f"  Borne by you: {money(row.vendor_share)}",
        f"  Borne by the platform: {money(row.platform_share)} "
        f"(of which commission given back to you: {money(row.commission_reversal)})",
    ]


def recipients(vendor_id: int) -> list[str]:
    """The vendor's own address, and every member who keeps email on."""
    addresses = list(
        VendorMembership.objects.filter(
            vendor_id=vendor_id, email_notifications=True, user__is_active=True
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    vendor_email = Vendor.objects.filter(pk=vendor_id).values_list("email", flat=True).first()
    if vendor_email:
        addresses.insert(0, vendor_email)
    return sorted(set(addresses), key=addresses.index)


def email_notification(notification_id: int) -> bool:
    """Send one notification's email. Claimed first (compare-and-set), so two
    workers never both send it; a failed send gives the claim back. A worker
    that dies between claim and send loses that email (the inbox keeps it)."""
    now = timezone.now()
    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
        emailed_at=now
    )
    if not claimed:
        return False
    notification = Notification.objects.get(pk=notification_id)
    to = recipients(notification.vendor_id)
    if not to:
        return False
    try:
        send_mail(notification.subject, notification.body, settings.DEFAULT_FROM_EMAIL, to)
    except Exception as error:
        Notification.objects.filter(pk=notification_id).update(
            emailed_at=None,
            email_error=str(error)[:2000],
            email_attempts=F("email_attempts") + 1,
        )
        raise
    return True
