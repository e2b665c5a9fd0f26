"""Tax codes as the rules look them up: by a line's rate and its channel's jurisdiction.

Posting never fails for want of a tax code: a rate that has none (in the
channel's jurisdiction, nor of no jurisdiction) gets one on first use, of no
jurisdiction, coded VAT-<percent> (VAT-7-5 for 7.5%) and with the tax type
"<percent>%" (the name credit notes give a rate without a code), for finance to
rename or map later. `TaxCodes.ensure` does that.
"""

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

    def ensure(self, rate: Decimal, jurisdiction: str = "") -> TaxCode:
        """`for_rate`, else a new code of no jurisdiction for the rate (see the module doc).

        Safe against a concurrent transaction making the same code: the insert
        skips a conflict and the code is read back.
        """
        found = self.for_rate(rate, jurisdiction)
        if found is not None:
            return found
        percent = f"{(rate * 100).normalize():f}"
        base = "VAT-" + percent.replace(".", "-")
        for attempt in range(1, 100):
            code = base if attempt == 1 else f"{base}-{attempt}"
            TaxCode.objects.bulk_create(
                [TaxCode(code=code, jurisdiction="", rate=rate, tax_type=f"{percent}%")],
                ignore_conflicts=True,
            )
            made = TaxCode.objects.filter(jurisdiction="", rate=rate).first()
            if made is not None:
                self.by_key[("", rate)] = made
                return made
            # The code was taken by a code of another jurisdiction: try the next.
        raise RuntimeError(f"No free tax code for {percent}%.")


def tax_code_for(rate: Decimal, jurisdiction: str = "") -> TaxCode | None:
    return TaxCodes().for_rate(rate, jurisdiction)


def commission_tax_code(codes: TaxCodes) -> TaxCode:
    """The tax code of the platform's tax on commission (created on first use)."""
    return codes.ensure(commission_tax_rate(), settings.COMMISSION_TAX_JURISDICTION)


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
