"""Tax codes as the rules look them up: by a line's rate and its channel's jurisdiction."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from lib.money import quantize

from .models import TaxCode


class TaxCodes:
    """Every tax code, loaded once, for lookups by (jurisdiction, rate)."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, Decimal], TaxCode] = {
            (code.jurisdiction, code.rate): code for code in TaxCode.objects.all()
        }

    def for_rate(self, rate: Decimal, jurisdiction: str = "") -> TaxCode | None:
        """The jurisdiction's code for this rate, else the code of no jurisdiction."""
        return self.by_key.get((jurisdiction, rate)) or self.by_key.get(("", rate))


def tax_code_for(rate: Decimal, jurisdiction: str = "") -> TaxCode | None:
    return TaxCodes().for_rate(rate, jurisdiction)


def commission_tax_rate() -> Decimal:
    """The platform's tax rate on commission (settings.COMMISSION_TAX_RATE), a fraction."""
    try:
        rate = Decimal(str(settings.COMMISSION_TAX_RATE))
    except InvalidOperation:
        raise ImproperlyConfigured("COMMISSION_TAX_RATE must be a fraction, e.g. 0.19.") from None
    if not (0 <= rate <= 1):
        raise ImproperlyConfigured("COMMISSION_TAX_RATE must be between 0 and 1.")
    return rate


def commission_tax(commission: Decimal, currency: str) -> Decimal:
    """The tax on an amount of commission (an order's for one vendor, or a reversal).

    Journals and commission invoices both take it from here, on the same
    amount, so they agree to the cent.
    """
    return quantize(commission * commission_tax_rate(), currency)
