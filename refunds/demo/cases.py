"""Demo refund cases: priced with the engine's pure functions, walked through
TRANSITIONS, written as the engine writes them."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from lib.money import AMOUNT_PLACES, ZERO, quantize

from ..errors import RefundError
from ..models import (
    LIABILITY_AMOUNTS,
    CaseEvent,
    EventChannel,
    EventKind,
    ReasonPolicy,
    RefundCase,
    RefundLine,
    VendorLiability,
)
from ..services.case_ids import new_case_id
from ..services.liability import (
    Liability,
    PricedPiece,
    give_back,
    liabilities_for,
    price_amount,
    price_quantity,
    price_shipping,
    shipping_weights,
)
from ..statuses import TRANSITIONS
from .catalogue import D
from .drafts import (
    CASE_LINE_COUNTS,
    NOTE_COUNTS,
    OLD_PATHS,
    OPENED_VIA,
    RECENT_PATHS,
    _CaseDraft,
    _Line,
    _OrderState,
    _Plan,
    _refund_reference,
)
from .texts import (
    APPROVED,
    CASE_RATE,
    CLOSED,
    COMPLETED,
    DISPUTED,
    NOTE_CHANNELS,
    NOTES,
    OPEN_NOTES,
    OVERRIDE_TEXTS,
    PENDING,
    RELEASED,
    RESOLUTION_TEXTS,
    SCRIPTED_PATHS,
    SECOND_CASE_RATE,
    SELF_SERVICE_CHANNELS,
    SEVERAL_VENDORS_NOTES,
    SHIPPING_REASONS,
    TRANSITION_TEXTS,
)
from .writers import Batch, Row


class CaseHistory:
    """The generator's case half: the methods `orders._Generator` uses for cases."""

    # ---- cases

    def _plans(self, index: int, *, recent: bool) -> list[_Plan]:
        rng = self.rng
        if index < self.scripted:
            policies = self.ctx.policies
            return [
                _Plan(
                    SCRIPTED_PATHS[index % len(SCRIPTED_PATHS)],
                    reason=policies[index % len(policies)],
                    shape=index % 3,
                    override=index % 4 == 1,
                    acknowledge=float(index % 2 == 0),
                )
            ]
        if rng.random() >= CASE_RATE:
            return []
        count = 2 if rng.random() < SECOND_CASE_RATE else 1
        paths = RECENT_PATHS if recent else OLD_PATHS
        return [_Plan(paths.draw(rng), override=rng.random() < 0.05) for _ in range(count)]

    def _case(
        self,
        order: _OrderState,
        plan: _Plan,
        not_before: datetime,
        batch: Batch,
    ) -> datetime:
        """Price, walk through the plan's statuses, emit rows; returns the last event's time."""
        rng = self.rng
        initiated_at = not_before + timedelta(minutes=rng.randint(0, 48 * 60))
        if initiated_at >= self.end:
            return not_before  # not asked for yet
        reason = plan.reason or self._reason()
        pieces = self._pieces(order, plan, reason)
        if not pieces:
            return not_before
        total = sum((p.gross for p in pieces), ZERO)
        shipping = sum((p.shipping for p in pieces), ZERO)
        if total > order.captured - order.refunded_amount:
            raise AssertionError(f"demo case would over-refund order {order.pk}")
        case = _CaseDraft(
            pk=self.next_id[RefundCase](),
            order=order,
            total=total,
            shipping=shipping,
            pieces=pieces,
            liabilities=liabilities_for(pieces),
            initiated_at=initiated_at,
            note=_opening_note(reason.code, pieces),
        )
        last = self._history(case, plan)
        if case.status in RELEASED:
            _release(pieces)
        else:
            order.refunded_amount += total
            order.refunded_shipping += shipping
        self._emit_case(case, batch)
        return last + timedelta(days=rng.randint(1, 10))

    def _reason(self) -> ReasonPolicy:
        return self.reasons.draw(self.rng)

    def _pieces(self, order: _OrderState, plan: _Plan, reason: ReasonPolicy) -> list[PricedPiece]:
        rng = self.rng
        currency = order.currency
        pieces: list[PricedPiece] = []
        open_lines = [line for line in order.lines if line.remaining_gross > 0]
        if plan.shape >= 0:
            line = open_lines[0].as_order_line()
            pieces.append(price_quantity(line, 1, reason, currency, "lines[0]"))
            if plan.shape == 1:
                line = open_lines[1] if len(open_lines) > 1 else open_lines[0]
                self._add_amount(pieces, line, reason, currency, D("0.25"))
            want_shipping = plan.shape == 2
            shipping_fraction = D(1)
        else:
            self._add_random_lines(pieces, open_lines, reason, currency)
            chance = 0.35 if reason.code in SHIPPING_REASONS else 0.05
            want_shipping = rng.random() < chance or not pieces
            shipping_fraction = D(1) if rng.random() < 0.7 else D("0.5")
        remaining_shipping = order.shipping - order.refunded_shipping
        if want_shipping and remaining_shipping > 0:
            amount = quantize(remaining_shipping * shipping_fraction, currency)
            if amount > 0:
                pieces.append(
                    price_shipping(
                        amount,
                        reason,
                        shipping_weights(pieces, [line.as_order_line() for line in order.lines]),
                        currency,
                    )
                )
        return pieces

    def _add_random_lines(
        self,
        pieces: list[PricedPiece],
        open_lines: list[_Line],
        reason: ReasonPolicy,
        currency: str,
    ) -> None:
        rng = self.rng
        if not open_lines or rng.random() < 0.03:
            return  # a shipping-only case
        count = min(len(open_lines), CASE_LINE_COUNTS.draw(rng))
        chosen = sorted(rng.sample(open_lines, count), key=lambda line: line.id)
        for index, line in enumerate(chosen):
            policy = reason if rng.random() >= 0.15 else self._reason()
            remaining_quantity = line.quantity - line.refunded_quantity
            if remaining_quantity > 0 and rng.random() < 0.65:
                quantity = 1 if rng.random() < 0.7 else rng.randint(1, remaining_quantity)
                try:
                    pieces.append(
                        price_quantity(
                            line.as_order_line(), quantity, policy, currency, f"lines[{index}]"
                        )
                    )
                except RefundError:
                    continue  # earlier amount refunds left less than this quantity's price
            else:
                fraction = rng.choice((D("0.1"), D("0.2"), D("0.25"), D("0.5"), D(1)))
                self._add_amount(pieces, line, policy, currency, fraction)

    @staticmethod
    def _add_amount(
        pieces: list[PricedPiece],
        line: _Line,
        policy: ReasonPolicy,
        currency: str,
        fraction: Decimal,
    ) -> None:
        gross = quantize(line.remaining_gross * fraction, currency)
        if gross > 0:
            field = f"lines[{len(pieces)}]"
            pieces.append(price_amount(line.as_order_line(), gross, policy, currency, field))

    # ---- history

    def _history(self, case: _CaseDraft, plan: _Plan) -> datetime:
        rng = self.rng
        at = case.initiated_at
        channel = OPENED_VIA.draw(rng)
        opener = None if channel in SELF_SERVICE_CHANNELS else rng.choice(self.ctx.staff)[0]
        case.opened_by = opener
        self._event(
            case,
            EventKind.OPENED,
            at,
            to_status=PENDING,
            actor=opener,
            channel=channel,
            text=case.note,
            data={"total_refund_amount": str(case.total)},
        )
        case_owner = None
        if plan.shape >= 0 or rng.random() < 0.85:
            case_owner = rng.choice(self.ctx.staff)
            assigned_at = at + timedelta(minutes=rng.randint(5, 240))
            if assigned_at >= self.end:
                return at  # nobody took it yet
            case.owner = case_owner[0]
            at = assigned_at
            self._event(
                case,
                EventKind.OWNER_ASSIGNED,
                at,
                actor=opener or case_owner[0],
                text=f"Owner: {case_owner[1]}",
                data={"from": None, "to": case_owner[0]},
            )
        staff = case_owner[0] if case_owner else rng.choice(self.ctx.staff)[0]
        if plan.override:
            at = self._override(case, at, staff)
        for target in plan.path:
            at = self._notes(case, at)
            at = self._acknowledgements(case, at, plan.acknowledge)
            moved_at = at + timedelta(minutes=rng.randint(60, 72 * 60))
            if moved_at >= self.end:
                return at  # the rest of the path is still to come
            at = moved_at
            self._move(case, target, at, staff)
        if case.status not in RELEASED:
            at = self._acknowledgements(case, at, plan.acknowledge)
        return at

    def _acknowledgements(self, case: _CaseDraft, at: datetime, chance: float) -> datetime:
        """Vendors accept their part, as in the portal (never a released case)."""
        rng = self.rng
        for row in case.liabilities:
            vendor = row.vendor_id
            if vendor in case.acknowledged or vendor == case.disputed_by:
                continue
            if rng.random() < chance:
                acknowledged_at = at + timedelta(minutes=rng.randint(15, 36 * 60))
                if acknowledged_at >= self.end:
                    break
                at = acknowledged_at
                case.acknowledged[vendor] = at
                code = self.ctx.vendor_codes[vendor]
                self._event(
                    case,
                    EventKind.ACKNOWLEDGED,
                    at,
                    vendor=vendor,
                    channel=EventChannel.VENDOR_PORTAL.value,
                    text=f"{code} accepts its part.",
                )
        return at

    def _notes(self, case: _CaseDraft, at: datetime) -> datetime:
        rng = self.rng
        for _ in range(NOTE_COUNTS.draw(rng)):
            noted_at = at + timedelta(minutes=rng.randint(10, 24 * 60))
            if noted_at >= self.end:
                break
            at = noted_at
            channel = rng.choice(NOTE_CHANNELS)
            vendor = None
            if channel == EventChannel.VENDOR_PORTAL:
                vendor = rng.choice(case.liabilities).vendor_id
            actor = None if vendor else rng.choice(self.ctx.staff)[0]
            text = rng.choice(NOTES[channel]).format(item=_item_of(case.pieces, vendor))
            self._event(
                case, EventKind.NOTE, at, actor=actor, vendor=vendor, channel=channel, text=text
            )
        return at

    def _override(self, case: _CaseDraft, at: datetime, staff: int) -> datetime:
        overridden_at = at + timedelta(minutes=self.rng.randint(30, 24 * 60))
        if overridden_at >= self.end:
            return at
        changes = self._shift_shares(case)
        if changes:
            at = overridden_at
            self._event(
                case,
                EventKind.BREAKDOWN_OVERRIDDEN,
                at,
                actor=staff,
                text=self.rng.choice(OVERRIDE_TEXTS),
                data={"changes": changes},
            )
        return at

    def _shift_shares(self, case: _CaseDraft, vendor_id: int | None = None) -> list[dict]:
        """Move half the vendor's share to the platform, as staff might decide."""
        for row in case.liabilities:
            if row.vendor_share <= 0 or vendor_id not in (None, row.vendor_id):
                continue
            before = _shares(row, stored=True)
            borne = row.net_amount + row.shipping_amount
            row.vendor_share = quantize(row.vendor_share / 2, case.order.currency)
            row.platform_share = borne - row.vendor_share
            case.overridden.add(row.vendor_id)
            code = self.ctx.vendor_codes[row.vendor_id]
            return [{"vendor": code, "before": before, "after": _shares(row)}]
        return []

    def _move(self, case: _CaseDraft, target: str, at: datetime, staff: int) -> None:
        rng = self.rng
        source = case.status
        data: dict[str, Any] = {}
        actor: int | None = staff
        vendor: int | None = None
        channel = EventChannel.STAFF.value
        if source == DISPUTED:
            if target != case.status_before_dispute:
                raise AssertionError(f"a dispute resolves back to {case.status_before_dispute}")
            text = rng.choice(RESOLUTION_TEXTS)
            if rng.random() < 0.5 and (changes := self._shift_shares(case, case.disputed_by)):
                data = {"changes": changes, "correction": target == COMPLETED}
        elif target not in TRANSITIONS[source]:
            raise AssertionError(f"demo path moves a case from {source} to {target}")
        elif target == DISPUTED:
            actor, channel = None, EventChannel.VENDOR_PORTAL.value
            vendor = case.disputed_by = rng.choice(case.liabilities).vendor_id
            text = rng.choice(TRANSITION_TEXTS[DISPUTED]).format(item=_item_of(case.pieces, vendor))
        else:
            text = rng.choice(TRANSITION_TEXTS[target])
            if target == COMPLETED:
                case.gateway_reference = _refund_reference(rng, case.order.method)
        if target == COMPLETED:
            # As the engine records it: the breakdown the refund journal posts.
            data["liabilities"] = [_snapshot(row) for row in case.liabilities]
        self._event(
            case,
            EventKind.STATUS_CHANGED,
            at,
            from_status=source,
            to_status=target,
            actor=actor,
            vendor=vendor,
            channel=channel,
            text=text,
            data=data,
        )
        case.status_before_dispute = source if target == DISPUTED else ""
        case.status = target
        if target == APPROVED and case.approved_at is None:
            case.approved_at = at
        if target == COMPLETED and case.completed_at is None:
            case.completed_at = at
        if target == CLOSED:
            case.closed_at = at

    def _event(
        self,
        case: _CaseDraft,
        kind: str,
        at: datetime,
        *,
        from_status: str = "",
        to_status: str = "",
        actor: int | None = None,
        vendor: int | None = None,
        channel: str = EventChannel.STAFF.value,
        text: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        case.events.append(
            (
                self.next_id[CaseEvent](),
                case.pk,
                str(kind),
                from_status,
                to_status,
                actor,
                vendor,
                str(channel),
                text,
                data or {},
                at,
            )
        )

    def _case_id(self, initiated_at: datetime) -> str:
        while (case_id := new_case_id(initiated_at, self.case_id_rng)) in self.case_ids:
            pass
        self.case_ids.add(case_id)
        return case_id

    def _emit_case(self, case: _CaseDraft, batch: Batch) -> None:
        batch[RefundCase].append(
            (
                case.pk,
                self._case_id(case.initiated_at),
                case.order.pk,
                case.order.currency,
                case.status,
                case.status_before_dispute,
                case.owner,
                case.opened_by,
                case.total,
                case.shipping,
                case.gateway_reference,
                case.note,
                case.initiated_at,
                case.approved_at,
                case.completed_at,
                case.closed_at,
                self.loaded_at,
            )
        )
        batch[RefundLine].extend(
            _refund_line_row(self.next_id[RefundLine](), case.pk, piece) for piece in case.pieces
        )
        batch[VendorLiability].extend(
            _liability_row(self.next_id[VendorLiability](), case, row) for row in case.liabilities
        )
        batch[CaseEvent].extend(case.events)
        self.summary.statuses[case.status] += 1


def _item_of(pieces: list[PricedPiece], vendor_id: int | None) -> str:
    """The first product line of the case that is `vendor_id`'s (any vendor's
    for None), quoted; "the item" if it has none (its part is shipping)."""
    for piece in pieces:
        line = piece.order_line
        if line is not None and vendor_id in (None, piece.vendor_id):
            return f"“{line.description}”"
    return "the item"


def _opening_note(reason: str, pieces: list[PricedPiece]) -> str:
    """The case's note, which every vendor of the case reads: a product is
    named only when the case concerns a single vendor."""
    template = OPEN_NOTES.get(reason, "Refund requested for {item}.")
    vendors = {row.vendor_id for row in liabilities_for(pieces)}
    if len(vendors) > 1 and "{item}" in template:
        return SEVERAL_VENDORS_NOTES.get(reason, "Refund requested for items from several sellers.")
    if all(piece.order_line is None for piece in pieces):
        item = "the parcel"
    else:
        item = _item_of(pieces, None)
    text = template.format(item=item)
    return text[0].upper() + text[1:]


def _release(pieces: list[PricedPiece]) -> None:
    """Give a rejected or cancelled case's amounts back to its lines, as the
    engine's release does."""
    for piece in pieces:
        if piece.order_line is not None:
            give_back(
                piece.order_line,
                quantity=piece.quantity,
                net=piece.net,
                tax=piece.tax,
                commission_base=piece.commission_base,
                commission_reversal=piece.commission_reversal,
            )


SHARE_FIELDS = ("vendor_share", "platform_share", "commission_reversal")
STORED_UNIT = Decimal(1).scaleb(-AMOUNT_PLACES)


def _stored(amount: Decimal) -> str:
    """An amount as the engine reads it back from its column (AMOUNT_PLACES decimals)."""
    return str(amount.quantize(STORED_UNIT))


def _shares(row: Liability, *, stored: bool = False) -> dict[str, str]:
    return {
        name: _stored(getattr(row, name)) if stored else str(getattr(row, name))
        for name in SHARE_FIELDS
    }


def _snapshot(row: Liability) -> dict[str, Any]:
    return {"vendor_id": row.vendor_id, **{n: _stored(getattr(row, n)) for n in LIABILITY_AMOUNTS}}


def _refund_line_row(pk: int, case_pk: int, piece: PricedPiece) -> Row:
    return (
        pk,
        case_pk,
        piece.kind,
        piece.order_line.id if piece.order_line is not None else None,
        piece.vendor_id,
        piece.reason.pk,
        piece.quantity,
        piece.net,
        piece.tax,
        piece.shipping,
        piece.gross,
        piece.vendor_share,
        piece.platform_share,
        piece.commission_base,
        piece.commission_reversal,
    )


def _liability_row(pk: int, case: _CaseDraft, row: Liability) -> Row:
    return (
        pk,
        case.pk,
        row.vendor_id,
        *(getattr(row, name) for name in LIABILITY_AMOUNTS),
        row.vendor_id in case.overridden,
        case.acknowledged.get(row.vendor_id),
    )
