from __future__ import annotations

from decimal import Decimal

from django import template

from lib.money import CurrencyError, format_amount
from refunds.models import RELEASED_STATUSES, CaseEvent
from refunds.visibility import author_label

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """`27.50 EUR`, in the currency's minor digits."""
    if amount is None:
        return "–"
    try:
        return f"{format_amount(amount, currency)} {currency}"
    except CurrencyError:
        return f"{amount} {currency}"


@register.filter
def author(event: CaseEvent) -> str:
    """Who wrote a log entry, as a vendor should see it: staff stay anonymous."""
    return author_label(event.actor)


@register.filter
def refunds_nothing(status: str) -> bool:
    """A rejected or cancelled case refunded nothing: nobody bears any of it."""
    return status in RELEASED_STATUSES
