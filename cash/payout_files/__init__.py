"""Payout report files: Stripe's itemized payout reconciliation CSV, a
marketplace's per-line payout CSV, and any CSV with a saved mapping.

`read_payout_file` returns the file's payouts, each with its rows, checked, or
raises `PayoutFileError` naming the row and why; it writes nothing
(cash.services.payout_reports does).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from ..models import PayoutFormat
from .mappings import BUILT_IN, MARKETPLACE, STRIPE, ColumnMapping, read_type_values
from .reader import (
    ParsedPayout,
    ParsedRow,
    PayoutFileError,
    group_payouts,
    header_name,
    parse,
)

FORMATS = tuple(PayoutFormat.values)

# Columns that tell a format from the header alone.
_STRIPE_SIGNS = {"balancetransactionid", "reportingcategory", "automaticpayoutid"}
_MARKETPLACE_SIGNS = {"payoutid", "type", "amount"}


def detect_format(data: bytes) -> str | None:
    """`stripe` or `marketplace` from the header row (the first non-empty line),
    None when it could be anything (a custom mapping must be named)."""
    text = data[:65536].decode("utf-8-sig", errors="replace")
    for row in csv.reader(io.StringIO(text, newline="")):
        if not any(cell.strip() for cell in row):
            continue
        names = {header_name(cell) for cell in row}
        if _STRIPE_SIGNS <= names:
            return PayoutFormat.STRIPE
        if _MARKETPLACE_SIGNS <= names and names & {"ordernumber", "orderid", "order"}:
            return PayoutFormat.MARKETPLACE
        return None
    return None


def mapping_for(fmt: str, custom: Any = None) -> Any:
    """The built-in mapping of `fmt`, or `custom` (a PayoutMapping) for custom."""
    if fmt == PayoutFormat.CUSTOM:
        if custom is None:
            raise PayoutFileError(
                "a custom payout file needs a saved mapping: name one, or give the provider "
                "its mapping.",
                code="no_mapping",
                field="mapping",
            )
        return custom
    if fmt not in BUILT_IN:
        raise PayoutFileError(
            f"unknown format {fmt!r}; one of {', '.join(FORMATS)}.", field="format"
        )
    return BUILT_IN[fmt]


def read_payout_file(
    data: bytes,
    mapping: Any,
    *,
    currency: str = "",
    given_amount: Decimal | None = None,
) -> list[ParsedPayout]:
    return group_payouts(parse(data, mapping, currency=currency), given_amount=given_amount)


__all__ = [
    "FORMATS",
    "MARKETPLACE",
    "STRIPE",
    "ColumnMapping",
    "ParsedPayout",
    "ParsedRow",
    "PayoutFileError",
    "detect_format",
    "mapping_for",
    "read_payout_file",
    "read_type_values",
]
