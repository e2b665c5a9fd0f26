"""What every report is: titled columns and rows, rendered alike by every channel."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lib.money import format_amount


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    # Money columns name the key of the currency they are in (a row's
    # transaction currency, or the report's reporting currency).
    currency_key: str = ""


@dataclass
class Report:
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    reporting_currency: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def cell(self, row: dict[str, Any], column: Column) -> str:
        value = row.get(column.key)
        if value is None:
            return ""
        if isinstance(value, Decimal):
            currency = row.get(column.currency_key) or self.reporting_currency
            return format_amount(value, currency)
        return str(value)

    def records(self) -> list[dict[str, str]]:
        """Each row as {column key: text}: the API's rows, amounts as strings."""
        return [{c.key: self.cell(row, c) for c in self.columns} for row in self.rows]

    def table(self) -> list[list[str]]:
        """Each row as its cells, in column order: the admin's table."""
        return [[self.cell(row, c) for c in self.columns] for row in self.rows]


def report_csv(report: Report) -> str:
    """The report as CSV: a header of column titles, then one line a row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.title for c in report.columns])
    writer.writerows(report.table())
    return out.getvalue()
