"""Moving a case through its statuses (`refunds.statuses.TRANSITIONS`):
approve, complete, close, reject, cancel, dispute and resolve, and a vendor's
acknowledgement. Rejecting or cancelling gives the case's amounts back to its
order under the order's row lock, as opening took them.

The staff dashboard's daily sums (refunds.models.RefundDay) are shared by every
case of a day; triggers lock them in one fixed order (refunds/triggers.py), which
holds as long as each transaction writes the case, then its lines and
liabilities, then its order lines' counters: opening and releasing both do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from vendors.models import Vendor

from .. import outbox
from ..close_rules import check_close
from ..errors import RefundError, TransitionNotAllowed
from ..models import (
    Attachment,
    EventChannel,
    EventKind,
    Order,
    OrderLine,
    RefundCase,
    VendorLiability,
)
from ..statuses import ANSWERABLE_STATUSES, RELEASED_STATUSES, TRANSITIONS, CaseStatus
from ._shared import (
    User,
    case_queryset,
    lock_case,
    refusing_collisions,
    write_event,
    write_line_counters,
)
from .breakdown import ShareOverride, apply_shares, breakdown_snapshot
from .communication import add_attachment
from .liability import give_back
from .parsing import parse_text


def may_dispute(status: str) -> bool:
    """Whether a vendor may dispute a case in `status`: TRANSITIONS says."""
    return status in ANSWERABLE_STATUSES


def may_acknowledge(status: str, acknowledged_at: datetime | None) -> bool:
    """Whether a vendor may accept its part: once, and while it could still
    dispute it instead (not while a dispute waits for our decision, not on a
    rejected, cancelled or closed case)."""
    return acknowledged_at is None and may_dispute(status)


@refusing_collisions
def approve_case(*, case: RefundCase | str, actor: User | None, note: str = "") -> RefundCase:
    return _transition(case, CaseStatus.APPROVED, actor=actor, text=note)


@refusing_collisions
def complete_case(
    *, case: RefundCase | str, actor: User | None, gateway_reference: str = "", note: str = ""
) -> RefundCase:
    """The money went back to the customer (`gateway_reference` names the refund)."""
    reference = parse_text(gateway_reference, "gateway_reference", required=False, max_length=128)
    return _transition(
        case, CaseStatus.COMPLETED, actor=actor, text=note, gateway_reference=reference
    )


@refusing_collisions
def close_case(*, case: RefundCase | str, actor: User | None, note: str = "") -> RefundCase:
    return _transition(case, CaseStatus.CLOSED, actor=actor, text=note)


@refusing_collisions
def reject_case(*, case: RefundCase | str, actor: User | None, reason: str) -> RefundCase:
    reason = parse_text(reason, "reason", required=True, max_length=2000)
    return _transition(case, CaseStatus.REJECTED, actor=actor, text=reason)


@refusing_collisions
def cancel_case(*, case: RefundCase | str, actor: User | None, reason: str) -> RefundCase:
    reason = parse_text(reason, "reason", required=True, max_length=2000)
    return _transition(case, CaseStatus.CANCELLED, actor=actor, text=reason)


@refusing_collisions
def dispute_case(
    *,
    case: RefundCase | str,
    vendor: Vendor,
    message: str,
    actor: User | None,
    files: Sequence[UploadedFile] = (),
) -> RefundCase:
    """A vendor contests its part of the case, with `files` as its evidence.

    The dispute and its files land together or not at all: a refused file
    (empty, too large) rolls the dispute back too, and files already written to
    storage are removed again.
    """
    message = parse_text(message, "message", required=True, max_length=5000)
    stored: list[Attachment] = []
    try:
        with transaction.atomic():
            disputed = _transition(
                case,
                CaseStatus.DISPUTED,
                actor=actor,
                text=message,
                vendor=vendor,
                channel=EventChannel.VENDOR_PORTAL,
            )
            for upload in files:
                stored.append(
                    add_attachment(
                        case=disputed,
                        file=upload,
                        actor=actor,
                        channel=EventChannel.VENDOR_PORTAL,
                        vendor=vendor,
                    )
                )
    except Exception:
        # The rows rolled back; files already written to storage did not.
        for attachment in stored:
            attachment.file.delete(save=False)
        raise
    return disputed


@refusing_collisions
def acknowledge_case(
    *, case: RefundCase | str, vendor: Vendor, actor: User | None, message: str = ""
) -> VendorLiability:
    """A vendor accepts its part of the case (the opposite of a dispute)."""
    message = parse_text(message, "message", required=False, max_length=5000)
    with transaction.atomic():
        locked = lock_case(case)
        if locked.status in RELEASED_STATUSES:
            raise RefundError(
                "status",
                f"Case {locked.case_id} is {locked.status}; there is nothing to accept.",
                code="invalid_transition",
            )
        row = locked.liabilities.filter(vendor=vendor).first()
        if row is None:
            raise RefundError(
                "vendor", f"That vendor has no part in case {locked.case_id}.", code="not_found"
            )
        if row.acknowledged_at is not None:
            raise RefundError(
                "vendor", f"{vendor.code} already acknowledged this case.", code="duplicate"
            )
        if not may_acknowledge(locked.status, row.acknowledged_at):
            waiting = (
                " until our team decides the dispute"
                if locked.status == CaseStatus.DISPUTED
                else ""
            )
            raise RefundError(
                "status",
                f"Case {locked.case_id} is {locked.status}; it cannot be accepted{waiting}.",
                code="invalid_transition",
            )
        now = timezone.now()
        row.acknowledged_at = now
        row.acknowledged_by = actor if actor is not None and actor.is_authenticated else None
        row.save(update_fields=["acknowledged_at", "acknowledged_by"])
        event = write_event(
            locked,
            EventKind.ACKNOWLEDGED,
            actor=actor,
            text=message or f"{vendor.code} accepts its part.",
            channel=EventChannel.VENDOR_PORTAL,
            vendor=vendor,
            now=now,
        )
        outbox.emit("case.acknowledged", case=locked, event=event)
    return row


@refusing_collisions
def resolve_dispute(
    *,
    case: RefundCase | str,
    message: str,
    actor: User | None,
    shares: Mapping[str, ShareOverride] | None = None,
) -> RefundCase:
    """Staff end a dispute: the case returns to where it was, with an adjusted
    breakdown if they decide so. After completion the adjustment is marked as a
    correction for the ledger to post."""
    message = parse_text(message, "message", required=True, max_length=5000)
    with transaction.atomic():
        locked = lock_case(case)
        if locked.status != CaseStatus.DISPUTED:
            raise TransitionNotAllowed(locked.case_id, locked.status, "resolved")
        target = locked.status_before_dispute
        data: dict[str, Any] = {}
        if shares:
            data["changes"] = apply_shares(locked, shares)
            data["correction"] = target == CaseStatus.COMPLETED
        return _move(
            locked, target, actor=actor, text=message, data=data, channel=EventChannel.STAFF
        )


def _transition(
    case: RefundCase | str,
    to_status: str,
    *,
    actor: User | None,
    text: str = "",
    vendor: Vendor | None = None,
    channel: str = EventChannel.STAFF,
    gateway_reference: str | None = None,
) -> RefundCase:
    with transaction.atomic():
        if to_status in RELEASED_STATUSES:
            # Order row first, then the case row: the same order as open_case.
            order_id = case_queryset(case).values_list("order_id", flat=True).first()
            if order_id is None:
                raise RefundError("case", f"Refund case {case} does not exist.", code="not_found")
            Order.objects.select_for_update().filter(pk=order_id).values_list("pk").first()
        locked = lock_case(case)
        if to_status not in TRANSITIONS[locked.status] or locked.status == CaseStatus.DISPUTED:
            raise TransitionNotAllowed(locked.case_id, locked.status, to_status)
        if to_status == CaseStatus.CLOSED:
            check_close(locked)
        if to_status == CaseStatus.DISPUTED:
            if vendor is None or not locked.liabilities.filter(vendor=vendor).exists():
                raise RefundError(
                    "vendor",
                    f"That vendor has no part in case {locked.case_id}.",
                    code="not_found",
                )
        if gateway_reference is not None:
            locked.gateway_reference = gateway_reference
        moved = _move(locked, to_status, actor=actor, text=text, vendor=vendor, channel=channel)
        if to_status in RELEASED_STATUSES:
            # After the case's own row: the staff dashboard's summary rows are
            # locked in the order open_case writes them (case, lines and
            # liabilities, then order lines), never the other way round.
            _release(moved)
        return moved


def _move(
    case: RefundCase,
    to_status: str,
    *,
    actor: User | None,
    text: str,
    channel: str,
    vendor: Vendor | None = None,
    data: dict[str, Any] | None = None,
) -> RefundCase:
    now = timezone.now()
    from_status = case.status
    case.status_before_dispute = from_status if to_status == CaseStatus.DISPUTED else ""
    case.status = to_status
    if to_status == CaseStatus.APPROVED and case.approved_at is None:
        case.approved_at = now
    if to_status == CaseStatus.COMPLETED and case.completed_at is None:
        case.completed_at = now
    if to_status == CaseStatus.CLOSED:
        case.closed_at = now
    data = dict(data or {})
    if to_status == CaseStatus.COMPLETED:
        # What the refund journal posts: the breakdown as it stood at completion.
        data["liabilities"] = breakdown_snapshot(case)
    case.save(
        update_fields=[
            "status",
            "status_before_dispute",
            "approved_at",
            "completed_at",
            "closed_at",
            "gateway_reference",
            "updated_at",
        ]
    )
    event = write_event(
        case,
        EventKind.STATUS_CHANGED,
        actor=actor,
        text=text,
        channel=channel,
        vendor=vendor,
        from_status=from_status,
        to_status=to_status,
        data=data,
        now=now,
    )
    outbox.emit("case.status_changed", case=case, event=event)
    return case


def _release(case: RefundCase) -> None:
    """Give a rejected or cancelled case's amounts back to its order and lines."""
    pieces = list(case.lines.all())
    lines = {
        line.pk: line
        for line in OrderLine.objects.filter(
            pk__in={p.order_line_id for p in pieces if p.order_line_id}
        )
    }
    for piece in pieces:
        line = None if piece.order_line_id is None else lines.get(piece.order_line_id)
        if line is None:
            continue
        give_back(
            line,
            quantity=piece.quantity,
            net=piece.net_amount,
            tax=piece.tax_amount,
            commission_base=piece.commission_base,
            commission_reversal=piece.commission_reversal,
        )
    write_line_counters(lines)
    Order.objects.filter(pk=case.order_id).update(
        refunded_amount=F("refunded_amount") - case.total_refund_amount,
        refunded_shipping=F("refunded_shipping") - case.shipping_refund_amount,
    )
