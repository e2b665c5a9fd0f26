"""Opening a refund case: validate the request, price it with the pure rules of
`liability`, reserve it against the order under the order's row lock, write
the case, its lines, liabilities and opening event. `preview_case` prices the
same request writing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from lib.money import ZERO

from .. import outbox
from ..errors import RefundError
from ..models import (
    LIABILITY_AMOUNTS,
    CaseEvent,
    EventChannel,
    EventKind,
    Order,
    OrderLine,
    OutboxMessage,
    ReasonPolicy,
    RefundCase,
    RefundLine,
    VendorLiability,
)
from ..statuses import CaseStatus
from . import _opening_sql
from ._shared import (
    User,
    changed_line_counters,
    line_counters,
    line_counters_update,
    refusing_collisions,
    write_line_counters,
)
from .case_ids import new_case_id
from .liability import (
    Liability,
    PricedPiece,
    liabilities_for,
    price_amount,
    price_quantity,
    price_shipping,
    shipping_weights,
)
from .parsing import parse_amount, parse_quantity, parse_text

CASE_ID_ATTEMPTS = 8
OPENED_TOPIC = "case.opened"


@dataclass(frozen=True)
class LineRequest:
    """One refund line as asked for: a quantity of, or an amount against, an order line."""

    order_line_id: Any
    reason: Any
    quantity: Any = None
    amount: Any = None


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
        lookup: dict[str, Any] = {"number": order_number}
    else:
        lookup = {"pk": order.pk if isinstance(order, Order) else order}
    # In the caller's transaction (the Idempotency-Key's, say) no savepoint of
    # our own (a SAVEPOINT and a RELEASE per case): every refusal comes before
    # the first write, so it leaves the caller's transaction as it was; a
    # failure after it marks the caller's transaction for rollback (_open_case).
    # A case-ID collision inserts nothing and draws again: no IntegrityError.
    with nullcontext() if connection.in_atomic_block else transaction.atomic():
        return _open_case(
            lookup,
            lines,
            shipping_amount,
            shipping_reason,
            note=note,
            actor=actor,
            channel=channel,
            owner=owner,
            now=now,
        )


def _open_case(
    lookup: dict[str, Any],
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
    locked = _find_order(lookup, lock=True)
    if locked is None:
        name = next(iter(lookup.values()))
        raise RefundError("order", f"Order {name!r} does not exist.", code="not_found")
    currency = locked.currency
    pieces, order_lines, vendor_codes = _price_request(
        locked, lines, shipping_amount, shipping_reason
    )
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
        order=locked,
        currency=currency,
        status=CaseStatus.PENDING,
        owner=owner,
        opened_by=actor,
        total_refund_amount=total,
        shipping_refund_amount=shipping,
        note=note,
        initiated_at=now,
        # The opening's outbox message takes the case's first number here.
        event_sequence=outbox.first_sequence(OPENED_TOPIC),
    )
    # From here on the transaction writes: whatever fails must take it all back,
    # the caller's transaction included when we run inside one.
    opening = _Opening(case, pieces, order_lines, vendor_codes, locked, note, actor, channel, now)
    try:
        if connection.vendor == "postgresql":
            return _write(opening)
        return _write_with_orm(opening)
    except BaseException:
        transaction.set_rollback(True)
        raise


@dataclass(frozen=True)
class _Opening:
    """What the writers of an opening are given: the priced, unsaved case and
    the order it is reserved against, locked."""

    case: RefundCase
    pieces: list[PricedPiece]
    order_lines: dict[int, OrderLine]
    # The codes of the order lines' vendors in the database's order, when
    # read with the lines (PostgreSQL): see `opened_vendor_codes`.
    vendor_codes: dict[int, str] | None
    locked: Order
    note: str
    actor: User | None
    channel: str
    now: datetime

    def opened_event(self) -> CaseEvent:
        return CaseEvent(
            case=self.case,
            kind=EventKind.OPENED,
            to_status=CaseStatus.PENDING,
            actor=self.actor,
            channel=self.channel,
            text=self.note,
            data={"total_refund_amount": str(self.case.total_refund_amount)},
            created_at=self.now,
        )


def _write(opening: _Opening) -> RefundCase:
    """The opening's rows in hand-built statements (refunds.services._opening_sql):
    the case, then in one round trip its lines, liabilities (the ranks' order of
    the dashboard's triggers), the order lines' and order's counters, and the
    event with its outbox messages."""
    case, pieces = opening.case, opening.pieces
    case.updated_at = timezone.now()
    for _ in range(CASE_ID_ATTEMPTS):
        # The unique index on case_id decides; a collision inserts nothing.
        case.case_id = new_case_id(opening.now)
        if _opening_sql.insert_case(case):
            break
    else:
        raise RefundError("case_id", "Could not draw a free case ID; try again.", code="conflict")
    refund_lines = [_refund_line(case, p) for p in pieces]
    liabilities = [_liability_row(case, row) for row in liabilities_for(pieces)]
    changed = changed_line_counters(opening.order_lines)
    opened = opening.opened_event()
    consumers = outbox.consumers_for(OPENED_TOPIC)
    _opening_sql.write_rest(
        case,
        refund_lines,
        liabilities,
        line_counters_update(changed) if changed else None,
        opened,
        topic=OPENED_TOPIC,
        consumers=consumers,
        sequence=case.event_sequence if consumers else None,
        now=timezone.now(),
    )
    outbox.dispatch_on_commit(consumers)
    return _with_related(case, refund_lines, liabilities, opened, opening.vendor_codes)


def _write_with_orm(opening: _Opening) -> RefundCase:
    """The same rows through the ORM, where the database is not PostgreSQL
    (the SQLite of scripts/dev.sh)."""
    case, pieces = opening.case, opening.pieces
    for _ in range(CASE_ID_ATTEMPTS):
        case.case_id = new_case_id(opening.now)
        if not RefundCase.objects.filter(case_id=case.case_id).exists():
            break
    else:
        raise RefundError("case_id", "Could not draw a free case ID; try again.", code="conflict")
    case.save(force_insert=True)
    refund_lines = RefundLine.objects.bulk_create([_refund_line(case, p) for p in pieces])
    liabilities = VendorLiability.objects.bulk_create(
        [_liability_row(case, row) for row in liabilities_for(pieces)]
    )
    write_line_counters(opening.order_lines)
    _add_to_order(opening.locked, case)
    opened = opening.opened_event()
    opened.save(force_insert=True)
    if case.event_sequence:
        # Numbered by the case's INSERT (outbox.first_sequence).
        consumers = outbox.consumers_for(OPENED_TOPIC)
        OutboxMessage.objects.bulk_create(
            outbox.messages(
                consumers, OPENED_TOPIC, None, case, opened, case.event_sequence, timezone.now()
            )
        )
        outbox.dispatch_on_commit(consumers)
    return _with_related(case, refund_lines, liabilities, opened, None)


def _add_to_order(locked: Order, case: RefundCase) -> None:
    Order.objects.filter(pk=locked.pk).update(
        refunded_amount=F("refunded_amount") + case.total_refund_amount,
        refunded_shipping=F("refunded_shipping") + case.shipping_refund_amount,
    )


def _with_related(
    case: RefundCase,
    refund_lines: list[RefundLine],
    liabilities: list[VendorLiability],
    opened: CaseEvent,
    vendor_codes: dict[int, str] | None,
) -> RefundCase:
    _cache_related(case, "lines", refund_lines)
    _cache_related(case, "liabilities", liabilities)
    _cache_related(case, "events", [opened])
    _cache_related(case, "attachments", [])
    if vendor_codes is not None:
        case._opened_vendor_codes = vendor_codes  # type: ignore[attr-defined]
    return case


def opened_vendor_codes(case: RefundCase) -> dict[int, str] | None:
    """The codes of the vendors of a case `open_case` has just returned, by
    vendor id, in the database's order of codes (as a case read sorts its
    liabilities): read with the order's lines, so that rendering the new case
    needs no query. None when open_case did not read them (not PostgreSQL), or
    for any other case."""
    return getattr(case, "_opened_vendor_codes", None)


def _cache_related(instance: RefundCase, name: str, rows: list) -> None:
    """Put `rows` in the instance's prefetch cache, as prefetch_related would."""
    queryset = getattr(instance, name).get_queryset()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    # Django's private prefetch cache, which the stubs do not declare.
    instance._prefetched_objects_cache = getattr(instance, "_prefetched_objects_cache", {})  # type: ignore[attr-defined]
    instance._prefetched_objects_cache[name] = queryset  # type: ignore[attr-defined]


def preview_case(
    *,
    order: Order | int,
    lines: Sequence[LineRequest],
    shipping_amount: Any = None,
    shipping_reason: Any = None,
) -> tuple[list[PricedPiece], list[Liability]]:
    """Price a case exactly as `open_case` would, writing nothing."""
    order_id = order.pk if isinstance(order, Order) else order
    locked = _find_order({"pk": order_id}, lock=False)
    if locked is None:
        raise RefundError("order", f"Order {order_id!r} does not exist.", code="not_found")
    pieces, _, _ = _price_request(locked, lines, shipping_amount, shipping_reason)
    return pieces, liabilities_for(pieces)


def _price_request(
    order: Order,
    lines: Sequence[LineRequest],
    shipping_amount: Any,
    shipping_reason: Any,
) -> tuple[list[PricedPiece], dict[int, OrderLine], dict[int, str] | None]:
    """The request's priced pieces, the order lines they price (their counters
    advanced in memory) and, where read with them, the lines' vendors' codes
    (`opened_vendor_codes`)."""
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
    codes = {str(r.reason) for r in lines}
    if shipping > 0:
        codes.add(str(shipping_reason or (lines[0].reason if lines else "")))
    found = _find_lines_and_policies(order, line_ids, wants_shipping_weights, codes)
    order_lines = {line.pk: line for line in found.lines}
    line: OrderLine | None
    for line in order_lines.values():
        line._loaded_counters = line_counters(line)  # type: ignore[attr-defined]  # see _counters_changed
    policies = {p.code: p for p in found.policies}

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
        weights = shipping_weights(pieces, order_lines.values())
        if not weights or sum(weights.values()) == 0:
            raise RefundError("shipping_amount", "The order has no vendor to carry shipping.")
        pieces.append(price_shipping(shipping, policy, weights, currency))
    return pieces, order_lines, found.vendor_codes


def _find_order(lookup: dict[str, Any], *, lock: bool) -> Order | None:
    """The order by id or number, locked FOR UPDATE when `lock`."""
    if _opening_sql.orders.usable:
        column = "id" if "pk" in lookup else "number"
        found = _opening_sql.orders.rows(
            f"{column} = %s LIMIT 1" + (" FOR UPDATE" if lock else ""),
            [next(iter(lookup.values()))],
        )
        return found[0] if found else None  # type: ignore[return-value]
    query = Order.objects.filter(**lookup)
    return (query.select_for_update() if lock else query).first()


def _find_lines_and_policies(
    order: Order, line_ids: list[int], every_line: bool, codes: set[str]
) -> _opening_sql.Priced:
    """The order's lines asked for, or all of them when `every_line`, and the
    active reason policies of `codes`; on PostgreSQL in one statement, with
    the lines' vendors' codes (_opening_sql.lines_and_policies)."""
    if _opening_sql.order_lines.usable and _opening_sql.policies.usable:
        params: list[Any]
        if every_line:
            where, params = "line.order_id = %s", [order.pk]
        else:
            # An id beyond bigint names no line (and must not fail the query).
            wanted = [i for i in line_ids if -(2**63) <= i < 2**63]
            where = "line.order_id = %s AND line.id = ANY(%s::bigint[])"
            params = [order.pk, wanted]
        return _opening_sql.lines_and_policies(where, params, sorted(codes))
    query = OrderLine.objects.filter(order_id=order.pk)
    return _opening_sql.Priced(
        lines=list(query if every_line else query.filter(pk__in=line_ids)),
        vendor_codes=None,
        policies=list(ReasonPolicy.objects.filter(code__in=codes, is_active=True)),
    )


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
        # The version that priced it, read with the policy (no extra query).
        policy_version=piece.reason.version,
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
        **{name: getattr(row, name) for name in LIABILITY_AMOUNTS},
    )
