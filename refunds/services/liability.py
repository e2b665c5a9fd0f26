"""Pricing refund pieces and deciding who bears them. Pure: no database access.

A piece is a quantity of an order line, an amount (gross) against an order
line, or an amount of shipping. Pricing reads and advances the order line's
refund counters in memory, so several pieces against the same line in one case
price as if refunded one after another, and the caller writes the counters back
in one statement.

Rules:
- Quantity: net = quantity × unit price; tax is the line's tax in proportion
  to the units refunded so far, rounded cumulatively (so rounding never uses up
  the tax early); the piece that takes the last unit takes exactly the net and
  tax that remain.
- Amount: the gross splits into net = gross / (1 + rate) rounded and tax = the
  rest, never more of either than remains; an amount equal to the remaining
  gross takes exactly what remains.
- The reason's policy splits the net between vendor and platform (largest
  remainder). If the policy gives the commission back, the platform's
  commission on the vendor's part moves from the vendor's share to the
  platform's. That commission is rounded cumulatively per line, so pieces that
  together cover the line give back exactly the commission taken at sale.
- Shipping is split over vendors by their gross in the case (or in the order,
  for a shipping-only case) and borne by whoever the policy names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from lib.money import ZERO, allocate, quantize

from ..errors import RefundError
from ..models import Bearer, OrderLine, ReasonPolicy

HUNDRED = Decimal(100)


@dataclass
class PricedPiece:
    """One refund line's money, before it becomes a RefundLine row."""

    kind: str
    order_line: OrderLine | None
    vendor_id: int | None
    reason: ReasonPolicy
    quantity: int = 0
    net: Decimal = ZERO
    tax: Decimal = ZERO
    shipping: Decimal = ZERO
    vendor_share: Decimal = ZERO
    platform_share: Decimal = ZERO
    commission_base: Decimal = ZERO
    commission_reversal: Decimal = ZERO
    # Shipping pieces only: each vendor's part as (vendor_id, amount, vendor-borne?).
    shipping_parts: list[tuple[int, Decimal, bool]] = field(default_factory=list)

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax + self.shipping


@dataclass
class Liability:
    vendor_id: int
    refund_amount: Decimal = ZERO
    net_amount: Decimal = ZERO
    tax_amount: Decimal = ZERO
    shipping_amount: Decimal = ZERO
    vendor_share: Decimal = ZERO
    platform_share: Decimal = ZERO
    commission_reversal: Decimal = ZERO


def price_quantity(
    line: OrderLine, quantity: int, policy: ReasonPolicy, currency: str, field: str
) -> PricedPiece:
    remaining_quantity = line.quantity - line.refunded_quantity
    if quantity > remaining_quantity:
        raise RefundError(
            f"{field}.quantity",
            f"Only {remaining_quantity} of {line.quantity} × {line.sku} can still be refunded.",
            code="over_refund",
        )
    remaining_net = line.net_amount - line.refunded_net
    remaining_tax = line.tax_amount - line.refunded_tax
    if quantity == remaining_quantity:
        net, tax = remaining_net, remaining_tax
    else:
        net = quantize(line.unit_price * quantity, currency)
        # Tax by cumulative quantity, so per-piece rounding cannot use up the
        # line's tax before its last unit; capped by what amount refunds left.
        before = quantize(line.tax_amount * line.refunded_quantity / line.quantity, currency)
        after = quantize(
            line.tax_amount * (line.refunded_quantity + quantity) / line.quantity, currency
        )
        tax = min(after - before, remaining_tax)
        if net > remaining_net:
            raise RefundError(
                f"{field}.quantity",
                f"{quantity} × {line.sku} ({net + tax}) is more than the "
                f"{remaining_net + remaining_tax} still refundable on this line.",
                code="over_refund",
            )
    piece = PricedPiece(
        "quantity", line, line.vendor_id, policy, quantity=quantity, net=net, tax=tax
    )
    _share(piece, line, currency)
    line.refunded_quantity += quantity
    return piece


def price_amount(
    line: OrderLine, gross: Decimal, policy: ReasonPolicy, currency: str, field: str
) -> PricedPiece:
    remaining_net = line.net_amount - line.refunded_net
    remaining_tax = line.tax_amount - line.refunded_tax
    remaining_gross = remaining_net + remaining_tax
    if gross > remaining_gross:
        raise RefundError(
            f"{field}.amount",
            f"{gross} is more than the {remaining_gross} still refundable on {line.sku}.",
            code="over_refund",
        )
    if gross == remaining_gross:
        net, tax = remaining_net, remaining_tax
    else:
        net = quantize(gross / (1 + line.tax_rate), currency)
        tax = gross - net
        if tax > remaining_tax:
            tax = remaining_tax
            net = gross - tax
        if net > remaining_net:
            net = remaining_net
            tax = gross - net
    piece = PricedPiece("amount", line, line.vendor_id, policy, net=net, tax=tax)
    _share(piece, line, currency)
    return piece


def _share(piece: PricedPiece, line: OrderLine, currency: str) -> None:
    """Split the piece's net by policy and advance the line's counters."""
    policy = piece.reason
    vendor_net, platform_net = allocate(
        piece.net, [policy.vendor_share_percent, HUNDRED - policy.vendor_share_percent], currency
    )
    reversal = ZERO
    if policy.refund_commission_to_vendor and vendor_net > 0 and line.net_amount > 0:
        base = line.commission_base_refunded + vendor_net
        cumulative = quantize(line.commission_amount * base / line.net_amount, currency)
        reversal = min(max(cumulative - line.commission_reversed, ZERO), vendor_net)
        line.commission_base_refunded = base
        line.commission_reversed += reversal
        piece.commission_base = vendor_net
    piece.commission_reversal = reversal
    piece.vendor_share = vendor_net - reversal
    piece.platform_share = platform_net + reversal
    line.refunded_net += piece.net
    line.refunded_tax += piece.tax


def price_shipping(
    amount: Decimal,
    policy: ReasonPolicy,
    weights: dict[int, Decimal],
    currency: str,
) -> PricedPiece:
    """Split refunded shipping over vendors by weight; the policy names who bears it."""
    vendor_ids = sorted(weights)
    parts = allocate(amount, [weights[v] for v in vendor_ids], currency)
    vendor_bears = policy.shipping_bearer == Bearer.VENDOR
    piece = PricedPiece("shipping", None, None, policy, shipping=amount)
    for vendor_id, part in zip(vendor_ids, parts, strict=True):
        piece.shipping_parts.append((vendor_id, part, vendor_bears))
    piece.vendor_share = amount if vendor_bears else ZERO
    piece.platform_share = ZERO if vendor_bears else amount
    return piece


def shipping_weights(
    pieces: Iterable[PricedPiece], order_lines: Iterable[OrderLine]
) -> dict[int, Decimal]:
    """How refunded shipping splits over vendors: by their gross in the case's
    pieces, or, for a shipping-only case, in the order's lines."""
    weights: dict[int, Decimal] = {}
    for piece in pieces:
        if piece.vendor_id is not None:
            weights[piece.vendor_id] = weights.get(piece.vendor_id, ZERO) + piece.gross
    if not weights:
        for line in order_lines:
            weights[line.vendor_id] = weights.get(line.vendor_id, ZERO) + line.gross_amount
    return weights


def give_back(
    line: OrderLine,
    *,
    quantity: int,
    net: Decimal,
    tax: Decimal,
    commission_base: Decimal,
    commission_reversal: Decimal,
) -> None:
    """Undo, in memory, what pricing a piece advanced on its line's counters: a
    rejected or cancelled case gives its amounts back."""
    line.refunded_quantity -= quantity
    line.refunded_net -= net
    line.refunded_tax -= tax
    line.commission_base_refunded -= commission_base
    line.commission_reversed -= commission_reversal


def liabilities_for(pieces: Iterable[PricedPiece]) -> list[Liability]:
    """Per-vendor totals of a case's pieces, ordered by vendor id."""
    by_vendor: dict[int, Liability] = {}

    def row(vendor_id: int) -> Liability:
        return by_vendor.setdefault(vendor_id, Liability(vendor_id))

    for piece in pieces:
        if piece.kind == "shipping":
            for vendor_id, part, vendor_bears in piece.shipping_parts:
                liability = row(vendor_id)
                liability.shipping_amount += part
                liability.refund_amount += part
                if vendor_bears:
                    liability.vendor_share += part
                else:
                    liability.platform_share += part
            continue
        assert piece.vendor_id is not None
        liability = row(piece.vendor_id)
        liability.net_amount += piece.net
        liability.tax_amount += piece.tax
        liability.refund_amount += piece.net + piece.tax
        liability.vendor_share += piece.vendor_share
        liability.platform_share += piece.platform_share
        liability.commission_reversal += piece.commission_reversal
    return [by_vendor[v] for v in sorted(by_vendor) if by_vendor[v].refund_amount > 0]
