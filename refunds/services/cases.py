"""The refund case engine: open, override, move through statuses, log.

Locking: opening a case, and rejecting or cancelling one (which gives its
amounts back to the order), lock the order row first and only then the case
row. Every path that changes an order's refund counters takes that one lock,
so concurrent requests on an order queue up behind it instead of deadlocking,
and the counters are read and written by one transaction at a time. The CHECK
constraints on the counters are the last line: even a path that forgot the lock
could not over-refund.

The staff dashboard's daily sums (portal.RefundDay) are shared by every case of
a day; triggers lock them in one fixed order (portal migration 0007), which
holds as long as each transaction writes the case, then its lines and
liabilities, then its order lines' counters: opening and releasing both do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from lib.errors import is_collision
from lib.money import ZERO
from vendors.models import Vendor

from .. import outbox
from ..errors import RefundError, TransitionNotAllowed
from ..models import (
    RELEASED_STATUSES,
    Attachment,
    CaseEvent,
    CaseStatus,
    EventChannel,
    EventKind,
    Order,
    OrderLine,
    ReasonPolicy,
    RefundCase,
    RefundLine,
    VendorLiability,
)
from .case_ids import new_case_id
from .liability import (
    Liability,
    PricedPiece,
    liabilities_for,
    price_amount,
    price_quantity,
    price_shipping,
)
from .parsing import parse_amount, parse_quantity, parse_text

CASE_ID_ATTEMPTS = 8

# The one table of allowed moves. Leaving `disputed` goes back to the status the
# case had before the dispute, through `resolve_dispute` only.
TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.PENDING: frozenset(
        {CaseStatus.APPROVED, CaseStatus.REJECTED, CaseStatus.CANCELLED, CaseStatus.DISPUTED}
    ),
    CaseStatus.APPROVED: frozenset(
        {CaseStatus.COMPLETED, CaseStatus.CANCELLED, CaseStatus.DISPUTED}
    ),
    CaseStatus.COMPLETED: frozenset({CaseStatus.CLOSED, CaseStatus.DISPUTED}),
    CaseStatus.DISPUTED: frozenset({CaseStatus.PENDING, CaseStatus.APPROVED, CaseStatus.COMPLETED}),
    CaseStatus.CLOSED: frozenset(),
    CaseStatus.REJECTED: frozenset(),
    CaseStatus.CANCELLED: frozenset(),
}

User = AbstractBaseUser


@dataclass(frozen=True)
class LineRequest:
    """One refund line as asked for: a quantity of, or an amount against, an order line."""

    order_line_id: Any
    reason: Any
    quantity: Any = None
    amount: Any = None


@dataclass(frozen=True)
class ShareOverride:
    """Staff's decision on who bears a vendor's part of a case."""

    vendor_share: Any
    platform_share: Any
    commission_reversal: Any = "0"


# ---------------------------------------------------------------- opening


P = ParamSpec("P")
R = TypeVar("R")


def refusing_collisions(service: Callable[P, R]) -> Callable[P, R]:
    """A collision with a concurrent transaction (a deadlock on the staff
    dashboard's shared summary rows, say) becomes a RefundError that admin,
    portal and API show like any refusal: the change was not made, try again."""

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return service(*args, **kwargs)
        except OperationalError as error:
            if not is_collision(error):
                raise
            raise RefundError(
                "case",
                "Another change collided with this one at the same moment, and it was "
                "not made. Try again.",
                code="conflict",
            ) from error

    return run


@refusing_collisions
def open_case(
    *,
    order: Order | int | None = None,
    order_number: str | None = None,
    lines: Sequence[LineRequest],
    shipping_amount: Any = None,
    shipping_reason: Any = None,
    note: str = "",
    actor: User | None = None,
    channel: str = EventChannel.SYSTEM,
    owner: User | None = None,
    now: datetime | None = None,
) -> RefundCase:
    """Open a refund case: validate, reserve against the order, price, write.

    The order is `order` (an Order or its id) or the one numbered `order_number`.
    Everything is written in one transaction or nothing is. Raises RefundError
    naming the field (`lines[0].quantity`, `shipping_amount`, ...) otherwise.

    The case comes back with its lines, liabilities, events and attachments
    (none) in its prefetch cache, as written: `case.lines.all()` and the others
    need no query.
    """
    if (order is None) == (order_number is None):
        raise TypeError("open_case needs one of order and order_number")
    now = now or timezone.now()
    note = parse_text(note, "note", required=False, max_length=5000)
    if not isinstance(lines, Sequence) or isinstance(lines, (str, bytes)):
        raise RefundError("lines", "Give a list of refund lines.")
    if len(lines) > 500:
        raise RefundError("lines", "At most 500 lines per case.")
    if order is None:
        lookup = {"number": order_number}
    else:
        lookup = {"pk": order.pk if isinstance(order, Order) else order}
    # The unique index on case_id decides. On the rare collision the whole
    # transaction rolls back and runs again with another ID: cheaper, on every
    # other case, than a savepoint around the insert.
    for _ in range(CASE_ID_ATTEMPTS):
        case_id = new_case_id(now)
        try:
            with transaction.atomic():
                return _open_case(
                    lookup,
                    case_id,
                    lines,
                    shipping_amount,
                    shipping_reason,
                    note=note,
                    actor=actor,
                    channel=channel,
                    owner=owner,
                    now=now,
                )
        except IntegrityError:
            if not RefundCase.objects.filter(case_id=case_id).exists():
                raise
    raise RefundError("case_id", "Could not draw a free case ID; try again.", code="conflict")


def _open_case(
    lookup: dict[str, Any],
    case_id: str,
    lines: Sequence[LineRequest],
    shipping_amount: Any,
    shipping_reason: Any,
    *,
    note: str,
    actor: User | None,
    channel: str,
    owner: User | None,
    now: datetime,
) -> RefundCase:
    locked = Order.objects.select_for_update().filter(**lookup).first()
    if locked is None:
        name = next(iter(lookup.values()))
        raise RefundError("order", f"Order {name!r} does not exist.", code="not_found")
    currency = locked.currency
    pieces, order_lines = _price_request(locked, lines, shipping_amount, shipping_reason)
    total = sum((p.gross for p in pieces), ZERO)
    if total <= 0:
        raise RefundError("lines", "A refund case needs at least one line or shipping.")
    refundable = locked.captured_amount - locked.refunded_amount
    if total > refundable:
        raise RefundError(
            "lines",
            f"Refund of {total} {currency} is more than the {refundable} {currency} "
            f"still refundable on order {locked.number} (open cases included).",
            code="over_refund",
        )
    shipping = sum((p.shipping for p in pieces), ZERO)
    case = RefundCase(
        case_id=case_id,
        order=locked,
        currency=currency,
        status=CaseStatus.PENDING,
        owner=owner,
        opened_by=actor,
        total_refund_amount=total,
        shipping_refund_amount=shipping,
        note=note,
        initiated_at=now,
    )
    case.save(force_insert=True)
    refund_lines = RefundLine.objects.bulk_create([_refund_line(case, p) for p in pieces])
    liabilities = VendorLiability.objects.bulk_create(
        [_liability_row(case, row) for row in liabilities_for(pieces)]
    )
    opened = CaseEvent.objects.create(
        case=case,
        kind=EventKind.OPENED,
        to_status=CaseStatus.PENDING,
        actor=actor,
        channel=channel,
        text=note,
        data={"total_refund_amount": str(total)},
        created_at=now,
    )
    _write_line_counters(order_lines)
    Order.objects.filter(pk=locked.pk).update(
        refunded_amount=F("refunded_amount") + total,
        refunded_shipping=F("refunded_shipping") + shipping,
    )
    outbox.emit("case.opened", case=case, event=opened)
    _cache_related(case, "lines", refund_lines)
    _cache_related(case, "liabilities", liabilities)
    _cache_related(case, "events", [opened])
    _cache_related(case, "attachments", [])
    return case


def _cache_related(instance: RefundCase, name: str, rows: list) -> None:
    """Put `rows` in the instance's prefetch cache, as prefetch_related would."""
    queryset = getattr(instance, name).get_queryset()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    instance._prefetched_objects_cache = getattr(instance, "_prefetched_objects_cache", {})
    instance._prefetched_objects_cache[name] = queryset


def preview_case(
    *,
    order: Order | int,
    lines: Sequence[LineRequest],
    shipping_amount: Any = None,
    shipping_reason: Any = None,
) -> tuple[list[PricedPiece], list[Liability]]:
    """Price a case exactly as `open_case` would, writing nothing."""
    order_id = order.pk if isinstance(order, Order) else order
    locked = Order.objects.filter(pk=order_id).first()
    if locked is None:
        raise RefundError("order", f"Order {order_id!r} does not exist.", code="not_found")
    pieces, _ = _price_request(locked, lines, shipping_amount, shipping_reason)
    return pieces, liabilities_for(pieces)


def _price_request(
    order: Order,
    lines: Sequence[LineRequest],
    shipping_amount: Any,
    shipping_reason: Any,
) -> tuple[list[PricedPiece], dict[int, OrderLine]]:
    currency = order.currency
    line_ids: list[int] = []
    for index, request in enumerate(lines):
        if not isinstance(request, LineRequest):
            raise RefundError(f"lines[{index}]", "Not a refund line.")
        try:
            line_ids.append(int(request.order_line_id))
        except (TypeError, ValueError):
            raise RefundError(
                f"lines[{index}].order_line", f"{request.order_line_id!r} is not an order line id."
            ) from None
    shipping = ZERO
    if shipping_amount not in (None, ""):
        shipping = parse_amount(shipping_amount, currency, "shipping_amount")
    wants_shipping_weights = shipping > 0 and not line_ids
    query = OrderLine.objects.filter(order_id=order.pk)
    if not wants_shipping_weights:
        query = query.filter(pk__in=line_ids)
    order_lines = {line.pk: line for line in query}
    for line in order_lines.values():
        line._loaded_counters = _counters(line)

    codes = {str(r.reason) for r in lines}
    if shipping > 0:
        codes.add(str(shipping_reason or (lines[0].reason if lines else "")))
    policies = {p.code: p for p in ReasonPolicy.objects.filter(code__in=codes, is_active=True)}

    pieces: list[PricedPiece] = []
    for index, (request, line_id) in enumerate(zip(lines, line_ids, strict=True)):
        field = f"lines[{index}]"
        line = order_lines.get(line_id)
        if line is None:
            raise RefundError(
                f"{field}.order_line",
                f"Order line {line_id} is not part of order {order.number}.",
                code="not_found",
            )
        policy = _policy(policies, request.reason, f"{field}.reason")
        has_quantity = request.quantity not in (None, "")
        has_amount = request.amount not in (None, "")
        if has_quantity == has_amount:
            raise RefundError(field, "Give either a quantity or an amount, not both or neither.")
        if has_quantity:
            quantity = parse_quantity(request.quantity, f"{field}.quantity")
            piece = price_quantity(line, quantity, policy, currency, field)
        else:
            gross = parse_amount(request.amount, currency, f"{field}.amount", allow_zero=False)
            piece = price_amount(line, gross, policy, currency, field)
        if piece.gross <= 0:
            raise RefundError(field, "Nothing to refund: this line's amount is zero.")
        pieces.append(piece)

    if shipping > 0:
        remaining = order.shipping_amount - order.refunded_shipping
        if shipping > remaining:
            raise RefundError(
                "shipping_amount",
                f"Only {remaining} {currency} of shipping can still be refunded.",
                code="over_refund",
            )
        reason = shipping_reason or (lines[0].reason if lines else None)
        policy = _policy(policies, reason, "shipping_reason")
        weights: dict[int, Decimal] = {}
        for piece in pieces:
            weights[piece.vendor_id] = weights.get(piece.vendor_id, ZERO) + piece.gross
        if not weights:
            for line in order_lines.values():
                weights[line.vendor_id] = weights.get(line.vendor_id, ZERO) + line.gross_amount
        if not weights or sum(weights.values()) == 0:
            raise RefundError("shipping_amount", "The order has no vendor to carry shipping.")
        pieces.append(price_shipping(shipping, policy, weights, currency))
    return pieces, order_lines


def _policy(policies: Mapping[str, ReasonPolicy], code: Any, field: str) -> ReasonPolicy:
    code = str(code or "").strip()
    if not code:
        raise RefundError(field, "A reason code is required.", code="required")
    policy = policies.get(code)
    if policy is None:
        raise RefundError(field, f"{code!r} is not an active reason code.", code="not_found")
    return policy


def _refund_line(case: RefundCase, piece: PricedPiece) -> RefundLine:
    return RefundLine(
        case=case,
        kind=piece.kind,
        order_line=piece.order_line,
        vendor_id=piece.vendor_id,
        reason=piece.reason,
        quantity=piece.quantity,
        net_amount=piece.net,
        tax_amount=piece.tax,
        shipping_amount=piece.shipping,
        gross_amount=piece.gross,
        vendor_share=piece.vendor_share,
        platform_share=piece.platform_share,
        commission_base=piece.commission_base,
        commission_reversal=piece.commission_reversal,
    )


def _liability_row(case: RefundCase, row: Liability) -> VendorLiability:
    return VendorLiability(
        case=case,
        vendor_id=row.vendor_id,
        refund_amount=row.refund_amount,
        net_amount=row.net_amount,
        tax_amount=row.tax_amount,
        shipping_amount=row.shipping_amount,
        vendor_share=row.vendor_share,
        platform_share=row.platform_share,
        commission_reversal=row.commission_reversal,
    )


COUNTER_FIELDS = (
    "refunded_quantity",
    "refunded_net",
    "refunded_tax",
    "commission_base_refunded",
    "commission_reversed",
)


def _write_line_counters(lines: Mapping[int, OrderLine]) -> None:
    """Write the in-memory counters of changed lines back in one UPDATE."""
    changed = [line for line in lines.values() if _counters_changed(line)]
    if not changed:
        return
    if connection.vendor == "postgresql":
        # UPDATE ... FROM (VALUES ...): the ORM's CASE WHEN per line and
        # column costs milliseconds of Python per case at 10 lines.
        quote = connection.ops.quote_name
        columns = [quote(OrderLine._meta.get_field(name).column) for name in COUNTER_FIELDS]
        row = "(%s::bigint, %s::integer, %s::numeric, %s::numeric, %s::numeric, %s::numeric)"
        params = [value for line in changed for value in (line.pk, *_counters(line))]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(OrderLine._meta.db_table)} AS line "
                f"SET {', '.join(f'{c} = v.{c}' for c in columns)} "
                f"FROM (VALUES {', '.join([row] * len(changed))}) AS v (id, {', '.join(columns)}) "
                "WHERE line.id = v.id",
                params,
            )
        return
    OrderLine.objects.filter(pk__in=[line.pk for line in changed]).update(
        **{
            name: Case(
                *[When(pk=line.pk, then=Value(getattr(line, name))) for line in changed],
                default=F(name),
                output_field=OrderLine._meta.get_field(name),
            )
            for name in COUNTER_FIELDS
        }
    )


def _counters(line: OrderLine) -> tuple[Any, ...]:
    return tuple(getattr(line, name) for name in COUNTER_FIELDS)


def _counters_changed(line: OrderLine) -> bool:
    loaded = getattr(line, "_loaded_counters", None)
    return loaded is None or loaded != _counters(line)


# ---------------------------------------------------------------- overrides


@refusing_collisions
def override_breakdown(
    *,
    case: RefundCase | str,
    shares: Mapping[str, ShareOverride],
    reason: str,
    actor: User | None,
) -> RefundCase:
    """Staff decide who bears what, before approval. Logged with old and new."""
    reason = parse_text(reason, "reason", required=True, max_length=2000)
    with transaction.atomic():
        locked = _lock_case(case)
        if locked.status != CaseStatus.PENDING:
            raise RefundError(
                "status",
                f"The breakdown of case {locked.case_id} can only be overridden while pending "
                f"(it is {locked.status}).",
                code="invalid_transition",
            )
        changes = _apply_shares(locked, shares)
        event = _event(
            locked,
            EventKind.BREAKDOWN_OVERRIDDEN,
            actor=actor,
            text=reason,
            channel=EventChannel.STAFF,
            data={"changes": changes},
        )
        outbox.emit("case.breakdown_overridden", case=locked, event=event)
    return locked


def _apply_shares(case: RefundCase, shares: Mapping[str, ShareOverride]) -> list[dict[str, Any]]:
    if not shares:
        raise RefundError("liabilities", "Give at least one vendor's shares.")
    liabilities = {row.vendor.code: row for row in case.liabilities.select_related("vendor")}
    changes: list[dict[str, Any]] = []
    for code, override in shares.items():
        field = f"liabilities.{code}"
        row = liabilities.get(str(code))
        if row is None:
            raise RefundError(field, f"Vendor {code!r} has no part in case {case.case_id}.")
        if not isinstance(override, ShareOverride):
            raise RefundError(field, "Give vendor_share, platform_share and commission_reversal.")
        vendor_share = parse_amount(override.vendor_share, case.currency, f"{field}.vendor_share")
        platform_share = parse_amount(
            override.platform_share, case.currency, f"{field}.platform_share"
        )
        reversal = parse_amount(
            override.commission_reversal or "0", case.currency, f"{field}.commission_reversal"
        )
        borne = row.net_amount + row.shipping_amount
        if vendor_share + platform_share != borne:
            raise RefundError(
                field,
                f"Vendor and platform shares must add up to {borne} (net plus shipping); "
                f"they add up to {vendor_share + platform_share}.",
            )
        if reversal > platform_share:
            raise RefundError(
                f"{field}.commission_reversal",
                "The commission reversal is part of the platform's share and cannot exceed it.",
            )
        before = {
            "vendor_share": str(row.vendor_share),
            "platform_share": str(row.platform_share),
            "commission_reversal": str(row.commission_reversal),
        }
        row.vendor_share, row.platform_share, row.commission_reversal = (
            vendor_share,
            platform_share,
            reversal,
        )
        row.overridden = True
        row.save(
            update_fields=["vendor_share", "platform_share", "commission_reversal", "overridden"]
        )
        changes.append(
            {
                "vendor": code,
                "before": before,
                "after": {
                    "vendor_share": str(vendor_share),
                    "platform_share": str(platform_share),
                    "commission_reversal": str(reversal),
                },
            }
        )
    return changes


# ---------------------------------------------------------------- transitions


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
    *, case: RefundCase | str, vendor: Vendor, message: str, actor: User | None
) -> RefundCase:
    """A vendor contests its part of the case."""
    message = parse_text(message, "message", required=True, max_length=5000)
    return _transition(
        case,
        CaseStatus.DISPUTED,
        actor=actor,
        text=message,
        vendor=vendor,
        channel=EventChannel.VENDOR_PORTAL,
    )


@refusing_collisions
def acknowledge_case(
    *, case: RefundCase | str, vendor: Vendor, actor: User | None, message: str = ""
) -> VendorLiability:
    """A vendor accepts its part of the case (the opposite of a dispute)."""
    message = parse_text(message, "message", required=False, max_length=5000)
    with transaction.atomic():
        locked = _lock_case(case)
        if locked.status in RELEASED_STATUSES:
            raise RefundError(
                "status", f"Case {locked.case_id} is {locked.status}; there is nothing to accept."
            )
        row = locked.liabilities.filter(vendor=vendor).first()
        if row is None:
            raise RefundError("vendor", f"That vendor has no part in case {locked.case_id}.")
        if row.acknowledged_at is not None:
            raise RefundError(
                "vendor", f"{vendor.code} already acknowledged this case.", code="duplicate"
            )
        now = timezone.now()
        row.acknowledged_at = now
        row.acknowledged_by = actor if actor is not None and actor.is_authenticated else None
        row.save(update_fields=["acknowledged_at", "acknowledged_by"])
        event = _event(
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
        locked = _lock_case(case)
        if locked.status != CaseStatus.DISPUTED:
            raise TransitionNotAllowed(locked.case_id, locked.status, "resolved")
        target = locked.status_before_dispute
        data: dict[str, Any] = {}
        if shares:
            data["changes"] = _apply_shares(locked, shares)
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
            order_id = _case_queryset(case).values_list("order_id", flat=True).first()
            if order_id is None:
                raise RefundError("case", f"Refund case {case} does not exist.", code="not_found")
            Order.objects.select_for_update().filter(pk=order_id).values_list("pk").first()
        locked = _lock_case(case)
        if to_status not in TRANSITIONS[locked.status] or locked.status == CaseStatus.DISPUTED:
            raise TransitionNotAllowed(locked.case_id, locked.status, to_status)
        if to_status == CaseStatus.DISPUTED:
            if vendor is None or not locked.liabilities.filter(vendor=vendor).exists():
                raise RefundError("vendor", f"That vendor has no part in case {locked.case_id}.")
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
    event = _event(
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


def breakdown_snapshot(case: RefundCase) -> list[dict[str, Any]]:
    """The case's per-vendor liabilities as plain data (amounts as strings)."""
    fields = (
        "refund_amount",
        "net_amount",
        "tax_amount",
        "shipping_amount",
        "vendor_share",
        "platform_share",
        "commission_reversal",
    )
    return [
        {"vendor_id": row["vendor_id"], **{name: str(row[name]) for name in fields}}
        for row in case.liabilities.order_by("vendor_id").values("vendor_id", *fields)
    ]


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
        line = lines.get(piece.order_line_id)
        if line is None:
            continue
        line.refunded_quantity -= piece.quantity
        line.refunded_net -= piece.net_amount
        line.refunded_tax -= piece.tax_amount
        line.commission_base_refunded -= piece.commission_base
        line.commission_reversed -= piece.commission_reversal
    _write_line_counters(lines)
    Order.objects.filter(pk=case.order_id).update(
        refunded_amount=F("refunded_amount") - case.total_refund_amount,
        refunded_shipping=F("refunded_shipping") - case.shipping_refund_amount,
    )


# ---------------------------------------------------------------- log, owner


@refusing_collisions
def add_note(
    *,
    case: RefundCase | str,
    text: str,
    actor: User | None,
    channel: str = EventChannel.STAFF,
    vendor: Vendor | None = None,
    internal: bool = False,
) -> CaseEvent:
    """A communication-log entry: a call, an email, a platform message, a remark.
    An `internal` note is for staff only: vendors never see it."""
    text = parse_text(text, "text", required=True, max_length=10000)
    if channel not in EventChannel.values:
        raise RefundError("channel", f"{channel!r} is not a known channel.")
    _check_internal(internal, vendor)
    with transaction.atomic():
        locked = _lock_case(case)
        return _event(
            locked,
            EventKind.NOTE,
            actor=actor,
            text=text,
            channel=channel,
            vendor=vendor,
            internal=internal,
        )


def _check_internal(internal: bool, vendor: Vendor | None) -> None:
    if not isinstance(internal, bool):
        raise RefundError("internal", "Give true or false.")
    if internal and vendor is not None:
        raise RefundError(
            "internal", "A note for or from a vendor cannot be internal: the vendor sees it."
        )


@refusing_collisions
def add_attachment(
    *,
    case: RefundCase | str,
    file: UploadedFile,
    actor: User | None,
    note: str = "",
    channel: str = EventChannel.STAFF,
    vendor: Vendor | None = None,
    internal: bool = False,
) -> Attachment:
    """Attach evidence (a screenshot, a vendor's confirmation) to the case's log.
    An `internal` file is for staff only: vendors never see it."""
    note = parse_text(note, "note", required=False, max_length=5000)
    _check_internal(internal, vendor)
    if file is None:
        raise RefundError("file", "Choose a file to attach.", code="required")
    limit = settings.REFUND_ATTACHMENT_MAX_BYTES
    if file.size is None or file.size == 0:
        raise RefundError("file", "The file is empty.")
    if file.size > limit:
        raise RefundError("file", f"The file is larger than {limit // (1024 * 1024)} MB.")
    name = (file.name or "attachment").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200] or "attachment"
    if channel not in EventChannel.values:
        raise RefundError("channel", f"{channel!r} is not a known channel.")
    with transaction.atomic():
        locked = _lock_case(case)
        now = timezone.now()
        event = _event(
            locked,
            EventKind.ATTACHMENT,
            actor=actor,
            text=note or name,
            channel=channel,
            vendor=vendor,
            internal=internal,
            data={"filename": name},
            now=now,
        )
        attachment = Attachment(
            case=locked,
            event=event,
            filename=name,
            content_type=(getattr(file, "content_type", "") or "")[:100],
            size=file.size,
            uploaded_by=actor if actor is not None and actor.is_authenticated else None,
            created_at=now,
        )
        attachment.file.save(name, file, save=False)
        try:
            attachment.save()
        except Exception:
            attachment.file.delete(save=False)
            raise
        return attachment


@refusing_collisions
def assign_owner(*, case: RefundCase | str, owner: User | None, actor: User | None) -> RefundCase:
    """Make one person the point of contact for a case (None clears it)."""
    if owner is not None and not (owner.is_active and owner.is_staff):
        raise RefundError("owner", "The owner must be an active staff member.")
    with transaction.atomic():
        locked = _lock_case(case)
        previous = locked.owner_id
        locked.owner = owner
        locked.save(update_fields=["owner", "updated_at"])
        _event(
            locked,
            EventKind.OWNER_ASSIGNED,
            actor=actor,
            text=f"Owner: {owner.get_username() if owner else 'nobody'}",
            data={"from": previous, "to": owner.pk if owner else None},
        )
    return locked


# ---------------------------------------------------------------- helpers


def _case_queryset(case: RefundCase | str):
    if isinstance(case, RefundCase):
        return RefundCase.objects.filter(pk=case.pk)
    return RefundCase.objects.filter(case_id=str(case))


def _lock_case(case: RefundCase | str) -> RefundCase:
    locked = _case_queryset(case).select_for_update().first()
    if locked is None:
        raise RefundError("case", f"Refund case {case} does not exist.", code="not_found")
    return locked


def _event(
    case: RefundCase,
    kind: str,
    *,
    actor: User | None,
    text: str = "",
    channel: str = EventChannel.STAFF,
    vendor: Vendor | None = None,
    internal: bool = False,
    from_status: str = "",
    to_status: str = "",
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=actor if actor is not None and actor.is_authenticated else None,
        vendor=vendor,
        internal=internal,
        channel=channel,
        text=text,
        data=data or {},
        created_at=now or timezone.now(),
    )
