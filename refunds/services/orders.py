"""Recording orders as sold: lines priced per line, payments captured."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from lib.money import ZERO, quantize
from vendors.models import Vendor

from .. import outbox
from ..errors import RefundError
from ..models import Channel, Order, OrderLine, Payment, PaymentMethod
from .parsing import parse_amount, parse_currency, parse_quantity, parse_rate, parse_text


@dataclass(frozen=True)
class OrderLineRequest:
    vendor: Any  # vendor code
    sku: Any
    quantity: Any
    unit_price: Any
    tax_rate: Any = "0"
    description: Any = ""


@dataclass(frozen=True)
class PaymentRequest:
    method: Any
    amount: Any
    reference: Any = ""


def price_order_line(
    currency: str,
    quantity: int,
    unit_price: Decimal,
    tax_rate: Decimal,
    commission_rate: Decimal,
    **fields: Any,
) -> OrderLine:
    """An unsaved order line of `quantity` at `unit_price` (`fields`: its vendor,
    SKU and the rest): its net, and its tax and commission on that net, each
    rounded to the currency's minor unit."""
    net = unit_price * quantity
    return OrderLine(
        quantity=quantity,
        unit_price=unit_price,
        tax_rate=tax_rate,
        commission_rate=commission_rate,
        net_amount=net,
        tax_amount=quantize(net * tax_rate, currency),
        commission_amount=quantize(net * commission_rate, currency),
        **fields,
    )


def create_order(
    *,
    number: str,
    currency: str,
    source: str,
    subsource: str = "",
    lines: Sequence[OrderLineRequest],
    payments: Sequence[PaymentRequest],
    shipping_amount: Any = "0",
    customer_name: str = "",
    customer_email: str = "",
    customer_address: str = "",
    placed_at: datetime | None = None,
) -> Order:
    """Record an order as sold. Payments must add up to the order total."""
    number = parse_text(number, "number", required=True, max_length=64)
    currency = parse_currency(currency, "currency")
    source = parse_text(source, "channel.source", required=True, max_length=50)
    subsource = parse_text(subsource, "channel.subsource", required=False, max_length=100)
    shipping = parse_amount(shipping_amount or "0", currency, "shipping_amount")
    if not lines:
        raise RefundError("lines", "An order needs at least one line.", code="required")
    if not payments:
        raise RefundError("payment", "An order needs a captured payment.", code="required")
    placed_at = placed_at or timezone.now()

    vendor_codes = {str(r.vendor) for r in lines}
    vendors = {v.code: v for v in Vendor.objects.filter(code__in=vendor_codes)}
    order_lines: list[OrderLine] = []
    for index, request in enumerate(lines):
        field = f"lines[{index}]"
        vendor = vendors.get(str(request.vendor))
        if vendor is None:
            raise RefundError(
                f"{field}.vendor", f"Unknown vendor {request.vendor!r}.", code="not_found"
            )
        if not vendor.is_active:
            raise RefundError(f"{field}.vendor", f"Vendor {vendor.code} is not active.")
        quantity = parse_quantity(request.quantity, f"{field}.quantity")
        unit_price = parse_amount(request.unit_price, currency, f"{field}.unit_price")
        tax_rate = parse_rate(request.tax_rate or "0", f"{field}.tax_rate")
        order_lines.append(
            price_order_line(
                currency,
                quantity,
                unit_price,
                tax_rate,
                vendor.commission_rate,
                vendor=vendor,
                sku=parse_text(request.sku, f"{field}.sku", required=True, max_length=64),
                description=parse_text(
                    request.description, f"{field}.description", required=False, max_length=300
                ),
            )
        )
    net_total = sum((line.net_amount for line in order_lines), ZERO)
    tax_total = sum((line.tax_amount for line in order_lines), ZERO)
    total = net_total + tax_total + shipping

    order_payments: list[Payment] = []
    for index, paid in enumerate(payments):
        field = f"payment[{index}]" if len(payments) > 1 else "payment"
        method = str(paid.method or "")
        if method not in PaymentMethod.values:
            raise RefundError(
                f"{field}.method", f"{method!r} is not one of {', '.join(PaymentMethod.values)}."
            )
        order_payments.append(
            Payment(
                method=method,
                amount=parse_amount(paid.amount, currency, f"{field}.amount", allow_zero=False),
                reference=parse_text(
                    paid.reference, f"{field}.reference", required=False, max_length=128
                ),
                captured_at=placed_at,
            )
        )
    captured = sum((p.amount for p in order_payments), ZERO)
    if captured != total:
        raise RefundError(
            "payment.amount",
            f"Payments add up to {captured} {currency} but the order total is {total} {currency}.",
        )

    fields = {
        "currency": currency,
        "customer_name": parse_text(customer_name, "customer_name", required=False, max_length=200),
        "customer_email": parse_text(
            customer_email, "customer_email", required=False, max_length=254
        ),
        "customer_address": parse_text(
            customer_address, "customer_address", required=False, max_length=500
        ),
        "placed_at": placed_at,
        "shipping_amount": shipping,
        "net_amount": net_total,
        "tax_amount": tax_total,
        "total_amount": total,
        "captured_amount": captured,
    }
    try:
        with transaction.atomic():
            return _insert(number, source, subsource, order_lines, order_payments, fields)
    except IntegrityError:
        if Order.objects.filter(number=number).exists():
            raise RefundError(
                "number", f"Order {number} already exists.", code="duplicate"
            ) from None
        raise


def _insert(
    number: str,
    source: str,
    subsource: str,
    lines: list[OrderLine],
    payments: list[Payment],
    fields: dict[str, Any],
) -> Order:
    channel, _ = Channel.objects.get_or_create(source=source, subsource=subsource)
    order = Order.objects.create(number=number, channel=channel, **fields)
    for line in lines:
        line.order = order
    for payment in payments:
        payment.order = order
    OrderLine.objects.bulk_create(lines)
    Payment.objects.bulk_create(payments)
    outbox.emit("order.paid", order=order)
    return order
