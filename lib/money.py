"""Money arithmetic: currencies, rounding to the minor unit, exact allocation.

Amounts are `Decimal`, never float. A figure is rounded (ROUND_HALF_EVEN) to its
currency's minor unit at the point it is fixed, never before. When one amount is
split into parts, the parts sum exactly to the whole (largest remainder).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 minor units for the currencies Splitledger accepts.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AUD": 2,
    "BHD": 3,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CLP": 0,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "MXN": 2,
    "MYR": 2,
    "NOK": 2,
    "NZD": 2,
    "OMR": 3,
    "PHP": 2,
    "PLN": 2,
    "RON": 2,
    "SEK": 2,
    "SGD": 2,
    "THB": 2,
    "TND": 3,
    "TRY": 2,
    "TWD": 2,
    "UAH": 2,
    "USD": 2,
    "VND": 0,
    "ZAR": 2,
}
CURRENCY_CHOICES = [(code, code) for code in sorted(CURRENCY_EXPONENTS)]

# Column sizes: every stored amount fits 18 digits with 3 decimals (the largest
# minor unit above); rates are fractions with 4 decimals ("0.1000" = 10%).
AMOUNT_DIGITS = 18
AMOUNT_PLACES = 3
RATE_DIGITS = 7
RATE_PLACES = 4

ZERO = Decimal(0)


class CurrencyError(ValueError):
    pass


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise CurrencyError(f"{currency!r} is not a supported ISO 4217 currency") from None


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half to even."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_EVEN)


def is_in_minor_units(amount: Decimal, currency: str) -> bool:
    """True when `amount` needs no rounding in `currency` (10.005 EUR does)."""
    try:
        return amount == amount.quantize(minor_unit(currency), rounding=ROUND_DOWN)
    except InvalidOperation:
        return False


def format_amount(amount: Decimal, currency: str) -> str:
    """The contract's string form: the currency's minor digits ("27.50", "1500")."""
    return str(quantize(amount, currency))


def display_amount(amount: Decimal | None, currency: str) -> str:
    """An amount as people read it: the currency's minor digits and thousands
    separators ("10,592.89", JPY "1,500", KWD "1.200"); "-" for no amount.

    For screens and documents, never for files other software parses (those
    take `format_amount`). A currency without known minor units is shown as
    stored rather than refused: a page must not fail over one odd row.
    """
    if amount is None:
        return "-"
    try:
        amount = quantize(Decimal(amount), currency)
    except (CurrencyError, InvalidOperation, TypeError, ValueError):
        return str(amount)
    if amount == 0:
        amount = abs(amount)  # never "-0.00"
    return f"{amount:,f}"


def display_money(amount: Decimal | None, currency: str) -> str:
    """`display_amount` followed by the currency: "10,592.89 EUR", "-27.50 EUR"."""
    if amount is None:
        return "-"
    return f"{display_amount(amount, currency)} {currency}"


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split `total` in proportion to `weights`; the parts sum exactly to `total`.

    Largest remainder: each part gets its floor in minor units, then the units
    left over go one each to the parts with the largest fractional remainders
    (ties to the earlier part, so the result is deterministic). `total` may be
    negative; weights must be non-negative and not all zero unless total is zero.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    unit = minor_unit(currency)
    total = quantize(total, currency)
    sign = -1 if total < 0 else 1
    units_total = int((abs(total) / unit).to_integral_value())
    weight_sum = sum(weights, ZERO)
    if weight_sum == 0:
        if units_total == 0:
            return [ZERO.quantize(unit)] * len(weights)
        raise ValueError("cannot allocate a non-zero amount over zero weights")
    floors: list[int] = []
    remainders: list[tuple[Decimal, int]] = []
    for index, weight in enumerate(weights):
        exact = Decimal(units_total) * weight / weight_sum
        floor = int(exact.to_integral_value(rounding=ROUND_DOWN))
        floors.append(floor)
        remainders.append((exact - floor, index))
    left = units_total - sum(floors)
    for _, index in sorted(remainders, key=lambda r: (-r[0], r[1]))[:left]:
        floors[index] += 1
    return [(Decimal(sign * units) * unit).quantize(unit) for units in floors]
