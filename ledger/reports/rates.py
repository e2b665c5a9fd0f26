"""The dated exchange-rates table: conversion to the reporting currency, and its CSV import."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction

from lib.errors import DomainError
from lib.money import CURRENCY_EXPONENTS, quantize

from ..models import ExchangeRate


def reporting_currency() -> str:
    return str(settings.REPORTING_CURRENCY).upper()


class MissingRate(DomainError):
    def __init__(self, currency: str, on: date) -> None:
        super().__init__(
            "exchange_rate",
            f"No exchange rate for {currency} to {reporting_currency()} on or before "
            f"{on:%Y-%m-%d}: import one (admin: Exchange rates, or "
            "manage.py import_exchange_rates).",
            code="missing_rate",
        )
        self.currency = currency
        self.on = on


class RateTable:
    """Rates to the reporting currency on or before a date, read once per currency."""

    def __init__(self, on: date) -> None:
        self.on = on
        self.target = reporting_currency()
        self._rates: dict[str, Decimal] = {self.target: Decimal(1)}

    def rate(self, currency: str) -> Decimal:
        if currency not in self._rates:
            found = (
                ExchangeRate.objects.filter(currency=currency, date__lte=self.on)
                .order_by("-date")
                .values_list("rate", flat=True)
                .first()
            )
            if found is None:
                raise MissingRate(currency, self.on)
            self._rates[currency] = found
        return self._rates[currency]

    def convert(self, amount: Decimal, currency: str) -> Decimal:
        """`amount` of `currency` in the reporting currency, to its minor unit."""
        return quantize(amount * self.rate(currency), self.target)


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


def import_rates_csv(text: str) -> ImportResult:
    """Rates from CSV with a header `date,currency,rate` (ISO date; 1 unit of
    currency = rate units of the reporting currency). A date and currency
    already in the table take the new rate. All or nothing: a bad line is a
    DomainError naming the line and the field."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"date", "currency", "rate"} - set(reader.fieldnames or [])
    if missing:
        raise DomainError("file", f"The header lacks {', '.join(sorted(missing))}.")
    parsed: dict[tuple[str, date], Decimal] = {}
    for number, row in enumerate(reader, start=2):
        try:
            day = date.fromisoformat((row["date"] or "").strip())
        except ValueError:
            raise DomainError(
                "date", f"Line {number}: {row['date']!r} is not a date (YYYY-MM-DD)."
            ) from None
        currency = (row["currency"] or "").strip().upper()
        if currency not in CURRENCY_EXPONENTS:
            raise DomainError(
                "currency", f"Line {number}: {currency!r} is not a supported currency."
            )
        try:
            rate = Decimal((row["rate"] or "").strip())
        except InvalidOperation:
            raise DomainError("rate", f"Line {number}: {row['rate']!r} is not a number.") from None
        if not rate.is_finite() or rate <= 0 or rate >= Decimal(10) ** 10:
            raise DomainError(
                "rate", f"Line {number}: the rate must be positive (and below 10^10)."
            )
        parsed[(currency, day)] = rate.quantize(Decimal("0.0000000001"))
    created = updated = 0
    with transaction.atomic():
        for (currency, day), rate in parsed.items():
            _, made = ExchangeRate.objects.update_or_create(
                currency=currency, date=day, defaults={"rate": rate}
            )
            created += made
            updated += not made
    return ImportResult(created, updated)
