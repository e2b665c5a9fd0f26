"""Names every refunds admin module shares."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from functools import reduce
from typing import Any

from django.db.models import Q
from django.utils.text import smart_split, unescape_string_literal

CASE_ID_PREFIX = "RFND-"
# A bulk action works case by case, each in its own transaction; more than this
# in one request would outlive the request timeout.
MAX_BULK_CASES = 500
# Past this many refusals in one action, the rest are summed up in one message.
MAX_REPORTED_REFUSALS = 20


def search_terms(search_term: str) -> list[str]:
    """The admin's own splitting: words, or "quoted phrases"."""
    terms = []
    for bit in smart_split(search_term or ""):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        bit = bit.strip()
        if bit:
            terms.append(bit)
    return terms


def any_of(conditions: Iterable[Any]) -> Q | None:
    conditions = list(conditions)
    return reduce(operator.or_, conditions) if conditions else None
