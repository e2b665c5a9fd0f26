"""Model fields every ledger model uses."""

from decimal import Decimal

from django.db import models

from lib.money import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    RATE_DIGITS,
    RATE_PLACES,
)


def amount_field(**kwargs) -> models.DecimalField:
    kwargs.setdefault("default", Decimal("0"))
    return models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs)


def rate_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, **kwargs)
