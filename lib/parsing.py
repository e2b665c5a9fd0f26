"""Turning caller input into exact values, or an InputError naming the field.

Generic: any app's services use these (refunds, ledger). An app that wants its
own error type re-raises (refunds.services.parsing turns them into RefundError).
"""

from decimal import Decimal, InvalidOperation

from .errors import DomainError
from .money import CurrencyError, exponent, is_in_minor_units


class InputError(DomainError):
    """Input that is not a valid value for its field."""


def _number_text(value: object, field: str, example: str) -> str:
    """The text of a number, in ASCII digits: Python's Decimal and int also read
    other scripts' digits ("٥" is 5) and underscores ("1_000"), which no caller
    means and no person reading the record would take for that number."""
    text = str(value).strip()
    if not text.isascii() or "_" in text:
        raise InputError(
            field, f"{value!r} is not a number: write it with the digits 0-9, e.g. {example}."
        )
    return text


def parse_currency(value: object, field: str) -> str:
    code = str(value or "").strip().upper()
    try:
        exponent(code)
    except CurrencyError:
        raise InputError(field, f"{value!r} is not a supported ISO 4217 currency code.") from None
    return code


def _decimal(value: object, field: str, what: str, example: str) -> Decimal:
    """`value` as a Decimal: a Decimal, or text (or an int) that reads as one; never a float."""
    if isinstance(value, float) or isinstance(value, bool):
        raise InputError(field, f"Give {what} as strings or decimals, never floats.")
    try:
        return (
            Decimal(_number_text(value, field, example))
            if not isinstance(value, Decimal)
            else value
        )
    except (InvalidOperation, ValueError):
        raise InputError(field, f"{value!r} is not a number.") from None


def parse_amount(value: object, currency: str, field: str, *, allow_zero: bool = True) -> Decimal:
    """An amount in `currency`, exact in its minor unit, not negative."""
    amount = _decimal(value, field, "amounts", '"5.50"')
    if not amount.is_finite():
        raise InputError(field, "Amount must be a finite number.")
    if amount < 0:
        raise InputError(field, "Amount must not be negative.")
    if not allow_zero and amount == 0:
        raise InputError(field, "Amount must be greater than zero.")
    if amount >= Decimal("1e15"):
        raise InputError(field, "Amount is too large.")
    if not is_in_minor_units(amount, currency):
        raise InputError(
            field, f"{amount} has more decimals than {currency} allows ({exponent(currency)})."
        )
    return amount


def parse_rate(value: object, field: str) -> Decimal:
    """A fraction between 0 and 1 with at most 4 decimals ("0.1000" = 10%)."""
    rate = _decimal(value, field, "rates", '"0.1000"')
    if not rate.is_finite() or rate < 0 or rate > 1:
        raise InputError(field, "Rate must be between 0 and 1 (0.1 means 10%).")
    if rate != rate.quantize(Decimal("0.0001")):
        raise InputError(field, "Rate allows at most 4 decimals.")
    return rate


def parse_quantity(value: object, field: str) -> int:
    if isinstance(value, bool):
        raise InputError(field, "Quantity must be a whole number.")
    try:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError
        quantity = int(_number_text(value, field, '"2"')) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise InputError(field, f"{value!r} is not a whole number.") from None
    if quantity <= 0:
        raise InputError(field, "Quantity must be at least 1.")
    if quantity > 1_000_000_000:
        raise InputError(field, "Quantity is too large.")
    return quantity


def parse_text(value: object, field: str, *, required: bool, max_length: int) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise InputError(field, "This field is required.", code="required")
    if len(text) > max_length:
        raise InputError(field, f"At most {max_length} characters.")
    return text
