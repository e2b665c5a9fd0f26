"""How a refund goes back over an order's payments.

One rule for the books and the documents: the refund journal credits each
payment's clearing account with its part, and the credit note carries one
refund line per payment method with the same parts, so both name the same
money going back through the same channels.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from lib.money import allocate

from .models import Payment


def refund_by_payment(
    total: Decimal, payments: Iterable[Payment], currency: str
) -> list[tuple[Payment, Decimal]]:
    """`total` spread over `payments` in proportion to what each paid, in
    payment id order, by largest remainder: the parts add up to `total`."""
    ordered = sorted(payments, key=lambda p: p.pk)
    if not ordered:
        raise ValueError("A refund needs at least one payment to go back to.")
    parts = allocate(total, [p.amount for p in ordered], currency)
    return list(zip(ordered, parts, strict=True))
