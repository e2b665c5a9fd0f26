"""CSV cells that a spreadsheet opens safely.

Spreadsheet apps run a cell starting with one of FORMULA_STARTS as a formula;
names and descriptions come from orders, i.e. from outside, so text cells are
prefixed with a quote (OWASP's "CSV injection" advice). Amounts are written by
the exporters themselves and never pass through here.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """`value` as CSV text that no spreadsheet runs; None and "" are ""."""
    text = str(value or "")
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
