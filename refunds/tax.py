"""Tax rules of a sale that both the documents and the books read. Pure: no database access.

- The seller of record of a vendor's goods: the vendor's own tax model, else
  its channel's (`TaxModel`): the platform as facilitator, or the vendor.
- Shipping as charged is a gross amount. The channel says what tax it holds:
  none, the goods' rates by their share of the goods' net (the EU rule: the
  shipping follows the principal supply), or one fixed rate; and who earns it:
  the platform, or the vendors by their share of the goods' net. The tax in a
  part is extracted from its gross (net = gross / (1 + rate), rounded; tax =
  the rest), so parts always add up to the shipping charged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from lib.money import ZERO, allocate, quantize
from vendors.models import TaxModel, Vendor

from .models import Channel, ShippingEarner, ShippingTax

ONE = Decimal(1)


def tax_model_of(vendor: Vendor, channel: Channel) -> str:
    """`facilitator` or `seller` for this vendor's goods sold through this channel."""
    return vendor.tax_model or channel.tax_model or TaxModel.FACILITATOR


@dataclass(frozen=True)
class GoodsShare:
    """One order line's weight in a shipping split: its vendor, net and tax rate."""

    vendor_id: int
    net: Decimal
    rate: Decimal


@dataclass(frozen=True)
class ShippingPart:
    """A piece of shipping: who earns it (None: the platform), at what rate."""

    earner_vendor_id: int | None
    rate: Decimal
    gross: Decimal
    net: Decimal
    tax: Decimal


def split_shipping(
    amount: Decimal, goods: Sequence[GoodsShare], channel: Channel, currency: str
) -> list[ShippingPart]:
    """Split a gross shipping amount (charged or refunded) into parts by earner and rate.

    `goods` are the lines the shipping belongs to (the order's lines, or the
    lines of a refund); with no goods, or goods of no net, the split weighs
    every line equally. Parts of equal (earner, rate) are merged; the result is
    sorted (platform first, then by vendor id, then by rate) and sums to `amount`.
    """
    if amount == ZERO:
        return []
    by_vendor = channel.shipping_earned_by == ShippingEarner.VENDOR
    if channel.shipping_tax == ShippingTax.FOLLOW_GOODS or by_vendor:
        if not goods:
            raise ValueError("Shipping that follows the goods needs the goods it belongs to.")
        weights = [g.net for g in goods] if any(g.net > 0 for g in goods) else [ONE] * len(goods)
        pieces: list[tuple[GoodsShare | None, Decimal]] = list(
            zip(goods, allocate(amount, weights, currency), strict=True)
        )
    else:
        pieces = [(None, amount)]
    merged: dict[tuple[int | None, Decimal], Decimal] = {}
    for share, gross in pieces:
        if channel.shipping_tax == ShippingTax.FOLLOW_GOODS:
            assert share is not None
            rate = share.rate
        elif channel.shipping_tax == ShippingTax.FIXED:
            rate = channel.shipping_tax_rate
        else:
            rate = ZERO
        earner = share.vendor_id if (by_vendor and share is not None) else None
        key = (earner, rate)
        merged[key] = merged.get(key, ZERO) + gross
    parts = []
    for (earner, rate), gross in sorted(
        merged.items(), key=lambda item: (item[0][0] is not None, item[0][0] or 0, item[0][1])
    ):
        if gross == ZERO:
            continue
        net = quantize(gross / (1 + rate), currency) if rate else gross
        parts.append(ShippingPart(earner, rate, gross, net, gross - net))
    return parts


def refund_goods(
    refunded: Sequence[tuple[int, Decimal, Decimal]], order_goods: Sequence[GoodsShare]
) -> list[GoodsShare]:
    """The goods a refund's shipping is split over: the goods it refunds
    (vendor, refunded net, rate), or, for a refund of shipping alone, the
    order's goods (as the case engine splits refunded shipping over vendors)."""
    goods = [GoodsShare(vendor_id, net, rate) for vendor_id, net, rate in refunded]
    return goods or list(order_goods)
