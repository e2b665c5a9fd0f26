"""What every statement parser returns, and how it refuses a file.

A parser reads bytes and returns `ParsedStatement`s (a file may hold several,
for one account or several) or raises `StatementFileError` naming where (line,
row or entry number) and why. It writes nothing: the import service decides
the account, checks the balances and stores the lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from lib.money import CURRENCY_EXPONENTS, CurrencyError, exponent, is_in_minor_units

from ..errors import FileRefused


class StatementFileError(FileRefused):
    """A statement file refused whole; `message` says where and why."""


@dataclass(slots=True)
class ParsedLine:
    booking_date: date
    amount: Decimal  # signed: credit positive, debit negative
    currency: str
    value_date: date | None = None
    counterparty: str = ""
    counterparty_account: str = ""
    remittance: str = ""
    bank_reference: str = ""  # AcctSvcrRef, FITID, the :61: bank reference, a CSV id
    entry_reference: str = ""  # CAMT NtryRef
    end_to_end_id: str = ""
    transaction_code: str = ""
    # The id the format offers as natural key, and where it came from (KeySource values).
    key_id: str = ""
    key_source: str = ""
    where: str = ""  # "entry 3", "line 14", "row 7": for refusals


@dataclass
class ParsedStatement:
    format: str
    currency: str
    iban: str = ""
    account_number: str = ""
    statement_ref: str = ""
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    opening_date: date | None = None
    closing_date: date | None = None
    lines: list[ParsedLine] = field(default_factory=list)
    where: str = ""  # "statement 2 (starting line 17)"

    @property
    def lines_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


# ---------------------------------------------------------------- small readers


def compact(text: str | None) -> str:
    """Whitespace runs to one space, trimmed."""
    return " ".join((text or "").split())


def account_id(text: str | None) -> str:
    """An IBAN or account number as stored and compared: upper case, no spaces."""
    return "".join(text.split()).upper() if text else ""


def read_currency(text: str | None, where: str) -> str:
    code = (text or "").strip().upper()
    try:
        exponent(code)
    except CurrencyError:
        raise StatementFileError(f"{where}: {text!r} is not a supported currency.") from None
    return code


PLAIN_AMOUNT = {
    places: re.compile(rf"-?[0-9]{{1,15}}(\.[0-9]{{1,{places}}})?" if places else r"-?[0-9]{1,15}")
    for places in (0, 2, 3)
}


def read_amount(
    text: str | None, currency: str, where: str, *, decimal_comma: bool = False
) -> Decimal:
    """A decimal amount exact in the currency's minor unit (signs allowed)."""
    if text and not decimal_comma:
        # The common case, "-1234.56", checked by one match instead of the steps below.
        plain = PLAIN_AMOUNT.get(CURRENCY_EXPONENTS.get(currency, -1))
        if plain is not None and plain.fullmatch(text):
            return Decimal(text)
    raw = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if decimal_comma:
        raw = raw.replace(".", "").replace(",", ".")
    if not raw or not raw.isascii() or "_" in raw:
        raise StatementFileError(f"{where}: {text!r} is not an amount.")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise StatementFileError(f"{where}: {text!r} is not an amount.") from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e15"):
        raise StatementFileError(f"{where}: {text!r} is not an amount we can store.")
    if not is_in_minor_units(amount, currency):
        raise StatementFileError(
            f"{where}: {text} has more decimals than {currency} allows ({exponent(currency)})."
        )
    return amount


def read_iso_date(text: str | None, where: str) -> date:
    """A date, or the date of an ISO date-time as written (no conversion)."""
    raw = (text or "").strip()[:10]
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise StatementFileError(f"{where}: {text!r} is not a date.") from None
