"""Telling vendors a settlement statement is ready: in the inbox and by email.

One notification per vendor and currency, for its newest statement: a run
that catches up several periods tells once, about the latest. Whatever made
the statements (the scheduled task, `manage.py generate_statements`), the
next call finds the newest statements nobody was told of yet, so a crash
between making and telling loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef

from ledger.models import SettlementStatement
from ledger.settlements.compute import Generated, generate_due_statements
from lib.links import link_to
from lib.money import display_money
from refunds import outbox

from .models import Notification, NotificationKind

logger = logging.getLogger(__name__)


def make_due_statements(
    today: date | None = None,
    *,
    vendor_ids: Iterable[int] | None = None,
    cutoff: datetime | None = None,
) -> tuple[Generated, list[Notification]]:
    """Make every due statement (see ledger.settlements.compute.generate_due_statements),
    then tell each vendor of its newest one. What the nightly task, the
    management command and the admin's "generate now" all call."""
    vendor_ids = None if vendor_ids is None else list(vendor_ids)
    result = generate_due_statements(today, vendor_ids=vendor_ids, cutoff=cutoff)
    return result, notify_ready_statements(vendor_ids)


def notify_ready_statements(vendor_ids: Iterable[int] | None = None) -> list[Notification]:
    """Notify each vendor of its newest statements not notified yet."""
    newest = SettlementStatement.objects.filter(next_statement__isnull=True).exclude(
        Exists(Notification.objects.filter(statement=OuterRef("pk")))
    )
    if vendor_ids is not None:
        newest = newest.filter(vendor_id__in=list(vendor_ids))
    statements = list(newest.select_related("vendor").order_by("vendor_id", "currency"))
    if not statements:
        return []
    with transaction.atomic():
        Notification.objects.bulk_create(
            [
                Notification(
                    vendor_id=statement.vendor_id,
                    kind=NotificationKind.STATEMENT,
                    statement=statement,
                    subject=subject(statement),
                    body=body(statement),
                )
                for statement in statements
            ],
            # Another run told them first: theirs stands.
            ignore_conflicts=True,
        )
        created = list(
            Notification.objects.filter(
                statement__in=statements, kind=NotificationKind.STATEMENT, emailed_at__isnull=True
            )
        )
        ids = [notification.pk for notification in created]
        if ids:
            transaction.on_commit(lambda: _queue_emails(ids))
    return created


def _queue_emails(ids: list[int]) -> None:
    from .tasks import email_notifications

    # outbox.publish logs the broker's error; the inbox has the notifications
    # and portal.tasks.resend_missed_emails sends them later.
    if not outbox.publish(email_notifications, [ids]):
        logger.warning("statements: could not queue emails for %s", ids)


def subject(statement: SettlementStatement) -> str:
    return (
        f"Settlement statement {statement.period_start:%Y-%m-%d} to "
        f"{statement.period_end:%Y-%m-%d} ({statement.currency}) is ready"
    )


def body(statement: SettlementStatement) -> str:
    currency = statement.currency

    def money(amount: Decimal) -> str:
        return display_money(amount, currency)

    lines = [
        subject(statement) + ".",
        "",
        f"  Opening balance:          {money(statement.opening)}",
        f"  Sales, net of commission: {money(statement.sales)}",
        f"  Refund deductions:        {money(-statement.deductions)}",
        f"  Adjustments:              {money(statement.adjustments)}",
        f"  Payouts:                  {money(-statement.payouts)}",
        f"  Closing balance:          {money(statement.closing)}",
    ]
    if statement.closing < 0:
        lines += [
            "",
            "Your balance is negative: it is carried into your next statement and set off "
            "against what you earn then.",
        ]
    link = statement_url(statement)
    if link:
        lines += ["", f"Lines, CSV and PDF: {link}"]
    return "\n".join(lines)


def statement_url(statement: SettlementStatement) -> str:
    # "" when the portal's statement pages are not mounted.
    return link_to("statements:detail", statement.pk)
