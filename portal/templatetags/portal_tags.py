from __future__ import annotations

from decimal import Decimal

from django import template

from lib.money import display_money
from refunds.models import RELEASED_STATUSES, CaseEvent
from refunds.visibility import author_label

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """`1,027.50 EUR`, in the currency's minor digits (lib.money.display_money)."""
    return display_money(amount, currency)


@register.filter
def author(event: CaseEvent) -> str:
    """Who wrote a log entry, as a vendor should see it: staff stay anonymous."""
    return author_label(event.actor)


@register.filter
def refunds_nothing(status: str) -> bool:
    """A rejected or cancelled case refunded nothing: nobody bears any of it."""
    return status in RELEASED_STATUSES
