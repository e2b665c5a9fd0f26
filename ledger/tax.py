"""Tax codes as the rules look them up: by a line's rate and its channel's jurisdiction."""

from __future__ import annotations

from decimal import Decimal

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
