"""MT940 (SWIFT customer statement), as banks send it, read with mt-940.

The library merges every statement of a file into one list and keeps only the
last statement's balances, so the file is split here at each `:20:` first and
each statement parsed alone: its own `:25:` account, `:60F:`/`:60M:` opening
and `:62F:`/`:62M:` closing balance. Header lines before the first `:20:` and
trailers (`-`, `-XXX`) are ignored.

A `:61:` line gives the value date and, optionally, the booking (entry) date;
the key is its bank reference (after `//`), never the statement's `:20:`,
which banks reuse; without one, the hash. The `:86:` text is the remittance.
"""

from __future__ import annotations

import decimal
import logging
import re
from datetime import date
from typing import Any

from mt940 import models as mt940_models

from .base import (
    ParsedLine,
    ParsedStatement,
    StatementFileError,
    account_id,
    compact,
    read_amount,
    read_currency,
)

START = re.compile(r"^:20:", re.MULTILINE)
IBAN_IN_TEXT = re.compile(r"\b([A-Z]{2}\d{2}[A-Z0-9]{11,30})\b")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _chunks(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each statement in the file."""
    starts = [m.start() for m in START.finditer(text)]
    chunks = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        chunks.append((text.count("\n", 0, start) + 1, text[start:end]))
    return chunks


def _line_of(chunk: str, first_line: int, value: Any) -> int:
    if isinstance(value, str) and value and (at := chunk.find(value)) >= 0:
        return first_line + chunk.count("\n", 0, at)
    return first_line


def _plain(day: Any) -> date:
    """mt-940's Date as a plain date."""
    return date(day.year, day.month, day.day)


def _balance(data: dict[str, Any], *names: str) -> Any:
    for name in names:
        if data.get(name) is not None:
            return data[name]
    return None


def _statement(number: int, first_line: int, chunk: str) -> ParsedStatement:
    where = f"statement {number} (line {first_line})"
    parser = mt940_models.Transactions()
    logging.getLogger("mt940").setLevel(logging.CRITICAL)  # it logs every failed tag match
    try:
        transactions = parser.parse(chunk)
    except RuntimeError as error:
        value = error.args[2] if len(error.args) > 2 else None
        line = _line_of(chunk, first_line, value)
        raise StatementFileError(
            f"line {line}: {compact(str(value))[:60]!r} is not a valid MT940 field."
        ) from None
    except (decimal.InvalidOperation, ValueError, KeyError, AttributeError) as error:
        raise StatementFileError(f"{where}: not a readable MT940 statement ({error}).") from None
    data = parser.data
    opening = _balance(data, "final_opening_balance", "intermediate_opening_balance")
    closing = _balance(data, "final_closing_balance", "intermediate_closing_balance")
    if opening is None or closing is None:
        raise StatementFileError(
            f"{where}: an opening (:60F:) and closing (:62F:) balance are needed."
        )
    currency = read_currency(opening.amount.currency, f"{where} :60F:")
    if closing.amount.currency != currency:
        raise StatementFileError(
            f"{where}: the closing balance is in {closing.amount.currency}, the opening in {currency}."
        )
    identification = str(data.get("account_identification") or "")
    parsed = ParsedStatement(
        format="mt940",
        currency=currency,
        account_number=account_id(identification),
        iban=account_id(identification)
        if IBAN_IN_TEXT.fullmatch(account_id(identification))
        else "",
        statement_ref="/".join(
            str(x) for x in (data.get("transaction_reference"), data.get("statement_number")) if x
        )[:140],
        opening_balance=read_amount(str(opening.amount.amount), currency, f"{where} :60F:"),
        closing_balance=read_amount(str(closing.amount.amount), currency, f"{where} :62F:"),
        opening_date=_plain(opening.date),
        closing_date=_plain(closing.date),
        where=where,
    )
    for index, transaction in enumerate(transactions, start=1):
        t = transaction.data
        line_where = f"{where}, :61: number {index}"
        amount = t["amount"]
        if amount.currency != currency:
            raise StatementFileError(f"{line_where}: in {amount.currency}, not {currency}.")
        bank_reference = str(t.get("bank_reference") or "").strip()
        details = compact(
            " ".join(
                str(t.get(name) or "")
                for name in ("transaction_details", "posting_text", "purpose", "additional_purpose")
            )
        )
        counterparty_account = account_id(
            str(t.get("applicant_iban") or t.get("gvc_applicant_iban") or "")
        )
        parsed.lines.append(
            ParsedLine(
                booking_date=_plain(t.get("entry_date") or t["date"]),
                value_date=_plain(t["date"]),
                amount=read_amount(str(amount.amount), currency, line_where),
                currency=currency,
                counterparty=compact(str(t.get("applicant_name") or ""))[:140],
                counterparty_account=counterparty_account[:40],
                remittance=" ".join(
                    x
                    for x in (str(t.get("customer_reference") or ""), details)
                    if x and x != "NONREF"
                )[:2000],
                bank_reference=bank_reference[:140],
                end_to_end_id=compact(str(t.get("end_to_end_reference") or ""))[:140],
                transaction_code=" ".join(
                    x for x in (str(t.get("id") or ""), str(t.get("transaction_code") or "")) if x
                )[:40],
                key_id=bank_reference,
                key_source="mt940_ref" if bank_reference else "",
                where=line_where,
            )
        )
    return parsed


def parse(data: bytes) -> list[ParsedStatement]:
    text = _decode(data).replace("\r\n", "\n").replace("\r", "\n")
    chunks = _chunks(text)
    if not chunks:
        raise StatementFileError("the file holds no MT940 statement (no :20: field).")
    return [_statement(number, line, chunk) for number, (line, chunk) in enumerate(chunks, 1)]
