from __future__ import annotations

from decimal import Decimal

from django import template

from lib.money import CurrencyError, format_amount
from refunds.models import CaseEvent, EventChannel

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
    if event.channel == EventChannel.VENDOR_PORTAL and event.actor is not None:
        return event.actor.get_username()
    if event.actor is not None:
        return "Splitledger team"
    return "Splitledger"
