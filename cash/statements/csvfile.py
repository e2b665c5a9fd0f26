"""A bank's CSV export, read with a saved column mapping (cash.models.CsvMapping).

Columns are found by their header text (case and surrounding spaces ignored);
a mapped column missing from the header refuses the file before any row is
read. Row numbers in refusals are the file's line numbers. With a running
balance column, the opening balance is the first row's balance less its
amount, the closing the last row's, and every row's balance must follow from
the one before (files listed newest first are read in reverse for that).
Without one, the statement has no balances to check.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from .base import ParsedLine, ParsedStatement, StatementFileError, account_id, compact, read_amount

MAPPED = (
    "booking_date",
    "value_date",
    "amount",
    "debit",
    "credit",
    "currency",
    "counterparty",
    "counterparty_account",
    "remittance",
    "reference",
    "end_to_end",
    "balance",
)


def _date_reader(fmt: str) -> Any:
    if fmt == "%Y-%m-%d":
        return date.fromisoformat
    return lambda text: datetime.strptime(text, fmt).date()


def mapped_rows(
    data: bytes, mapping: Any, error: Callable[[str], Exception] = StatementFileError
) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV file a saved mapping describes (its encoding, a BOM
    allowed in UTF-8, and its delimiter), each with its line number; a file that
    does not read raises `error` (the payout reports' reader has its own)."""
    encoding = (
        "utf-8-sig"
        if mapping.encoding.lower().replace("_", "-") in ("utf-8", "utf8")
        else mapping.encoding
    )
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as decoding:
        raise error(f"the file is not {mapping.encoding} text ({decoding}).") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as bad:
        raise error(f"row {reader.line_num}: {bad}.") from None


def filled_rows(
    rows: Iterator[tuple[int, list[str]]],
    width: int,
    error: Callable[[str], Exception] = StatementFileError,
) -> Iterator[tuple[int, list[str]]]:
    """The rows after the header that are not blank, with their line numbers; a
    row whose width is not the header's raises `error`."""
    for line, row in rows:
        if not "".join(row).strip():  # blank: every cell empty or white space
            continue
        if len(row) != width:
            raise error(f"row {line}: {len(row)} columns, the header has {width}.")
        yield line, row


def parse(data: bytes, mapping: Any, currency: str) -> list[ParsedStatement]:
    rows = mapped_rows(data, mapping)
    for _ in range(mapping.skip_rows):
        next(rows, None)
    header_at = next(rows, None)
    if header_at is None:
        raise StatementFileError("the file is empty: no header row.")
    header_line, header = header_at
    positions = {name.strip().lower(): index for index, name in enumerate(header)}
    columns: dict[str, int] = {}
    for name in MAPPED:
        wanted = getattr(mapping, f"{name}_column", "")
        if not wanted:
            continue
        if wanted.strip().lower() not in positions:
            raise StatementFileError(
                f"row {header_line}: the header has no column {wanted!r} (mapping "
                f"{mapping.name!r}, {name.replace('_', ' ')})."
            )
        columns[name] = positions[wanted.strip().lower()]
    read_date = _date_reader(mapping.date_format)
    comma = mapping.decimal_comma
    statement = ParsedStatement(format="csv", currency=currency, where="the file")
    balances: list[Decimal] = []
    width = len(header)
    # Every mapped cell of a row in one call, in MAPPED's order; an unmapped
    # one reads the empty cell appended to each row.
    cells = itemgetter(*(columns.get(name, width) for name in MAPPED))
    has_amount, has_balance = "amount" in columns, "balance" in columns
    append = statement.lines.append

    for line, row in filled_rows(rows, width):
        row.append("")
        (
            booking_text,
            value_text,
            amount_text,
            debit,
            credit,
            row_currency,
            counterparty,
            counterparty_account,
            remittance,
            reference,
            end_to_end,
            balance_text,
        ) = map(str.strip, cells(row))
        where = f"row {line}"
        row_currency = row_currency.upper() or currency
        if row_currency != currency:
            raise StatementFileError(
                f"{where}: the row is in {row_currency}, the account in {currency}."
            )
        try:
            booked = read_date(booking_text)
            valued = read_date(value_text) if value_text else None
        except ValueError:
            raise StatementFileError(
                f"{where}: a date does not read as {mapping.date_format!r}."
            ) from None
        if has_amount:
            amount = read_amount(amount_text, currency, f"{where} amount", decimal_comma=comma)
        else:
            if bool(debit) == bool(credit):
                raise StatementFileError(f"{where}: give either a debit or a credit.")
            amount = (
                -abs(read_amount(debit, currency, f"{where} debit", decimal_comma=comma))
                if debit
                else abs(read_amount(credit, currency, f"{where} credit", decimal_comma=comma))
            )
        if has_balance:
            balances.append(
                read_amount(balance_text, currency, f"{where} balance", decimal_comma=comma)
            )
        append(
            ParsedLine(
                booking_date=booked,
                value_date=valued,
                amount=amount,
                currency=currency,
                counterparty=compact(counterparty)[:140],
                counterparty_account=account_id(counterparty_account)[:40],
                remittance=compact(remittance)[:2000],
                bank_reference=reference[:140],
                end_to_end_id=end_to_end[:140],
                key_id=reference,
                key_source="csv_id" if reference else "",
                where=where,
            )
        )
    if not statement.lines:
        raise StatementFileError("the file has a header and no rows.")
    if balances:
        _running_balances(statement, balances)
    dates = [line.booking_date for line in statement.lines]
    statement.opening_date, statement.closing_date = min(dates), max(dates)
    return [statement]


def _running_balances(statement: ParsedStatement, balances: list[Decimal]) -> None:
    lines = statement.lines
    order = list(range(len(lines)))
    if len(lines) > 1 and lines[0].booking_date > lines[-1].booking_date:
        order.reverse()  # newest first
    previous = balances[order[0]] - lines[order[0]].amount
    statement.opening_balance = previous
    for index in order:
        if previous + lines[index].amount != balances[index]:
            raise StatementFileError(
                f"{lines[index].where}: the balance {balances[index]} does not follow from "
                f"the one before ({previous}) and the amount {lines[index].amount}."
            )
        previous = balances[index]
    statement.closing_balance = previous
