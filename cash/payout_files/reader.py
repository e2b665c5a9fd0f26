"""Reading a payout CSV with a mapping, and grouping its rows by payout.

The whole file is read and checked before anything is written: a bad row
refuses the file with its row number (the file's line number) and why. Each
payout of the file is then checked on its own: one currency, one payout date,
and, where the file states the payout's amount (its payout row or a payout
amount column) or the caller gives it, the rows' net amounts add up to it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lib.money import ZERO, display_money, is_in_minor_units

from ..errors import FileRefused
from ..models import AmountSource, RowType, UnknownTypes
from ..statements.base import StatementFileError, read_amount, read_currency
from ..statements.csvfile import filled_rows, mapped_rows
from .mappings import COLUMN_FIELDS, TypeValuesError, read_type_values

KEY_RECIPE = "p1"  # the hashed natural key's recipe (see _hash_key)


class PayoutFileError(FileRefused):
    """A payout file refused whole; `message` says where and why."""


@dataclass(slots=True)
class ParsedRow:
    row_number: int
    type: str
    provider_type: str
    transaction_date: date | None  # None: the payout date (filled in by group_payouts)
    available_on: date | None
    currency: str
    gross: Decimal
    fee: Decimal  # tax on the fee included
    fee_tax: Decimal
    net: Decimal
    payout_id: str
    payout_date: date | None
    payout_amount: Decimal | None
    gateway_reference: str = ""
    charge_reference: str = ""
    order_number: str = ""
    line_reference: str = ""
    description: str = ""
    key_id: str = ""
    natural_key: str = ""

    @property
    def where(self) -> str:
        return f"row {self.row_number}"


@dataclass
class ParsedPayout:
    payout_id: str
    currency: str
    arrival_date: date
    amount: Decimal
    amount_source: str
    rows: list[ParsedRow] = field(default_factory=list)

    @property
    def rows_net(self) -> Decimal:
        return sum((r.net for r in self.rows if r.type != RowType.PAYOUT), ZERO)

    @property
    def period(self) -> tuple[date, date]:
        dates = [r.transaction_date or self.arrival_date for r in self.rows]
        return min(dates), max(dates)


# ---------------------------------------------------------------- columns


def header_name(text: str) -> str:
    """A header as columns are compared: no case, spaces, underscores or hyphens."""
    return re.sub(r"[\s_\-]+", "", text.strip().lower())


def _columns(header: list[str], mapping: Any, header_line: int) -> dict[str, int]:
    """Each mapped field's column index; a required column the header lacks refuses the file."""
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(header_name(name), index)
    optional: frozenset[str] = getattr(mapping, "optional", frozenset())
    found: dict[str, int] = {}
    for name in COLUMN_FIELDS:
        wanted = getattr(mapping, name, "")
        if not wanted:
            continue
        for choice in wanted.split("|"):
            if header_name(choice) in positions:
                found[name] = positions[header_name(choice)]
                break
        else:
            if name not in optional:
                label = name.removesuffix("_column").replace("_", " ")
                raise PayoutFileError(
                    f"row {header_line}: the header has no column {wanted!r} "
                    f"(mapping {mapping.name!r}, {label}).",
                    code="missing_column",
                )
    return found


# ---------------------------------------------------------------- cells


def _date_reader(fmt: str) -> Any:
    if fmt == "%Y-%m-%d":
        # ISO dates, and the date of an ISO date-time as written (Stripe's
        # "2026-11-02 10:15:00"): the day the provider says, no conversion.
        return lambda text: date.fromisoformat(text[:10])
    return lambda text: datetime.strptime(text, fmt).date()


def _amount(text: str, currency: str, where: str, comma: bool) -> Decimal:
    try:
        return read_amount(text, currency, where, decimal_comma=comma)
    except StatementFileError as error:
        raise PayoutFileError(error.message) from None


SIGNS: dict[str, int] = {
    RowType.CHARGE: 1,
    RowType.REFUND: -1,
    RowType.FEE: -1,
    RowType.CHARGEBACK: -1,
    RowType.PAYOUT: -1,
}


def parse(data: bytes, mapping: Any, *, currency: str = "") -> list[ParsedRow]:
    """Every row of the file, checked, with its natural key; or PayoutFileError.

    `currency` is the rows' currency when the mapping has no currency column
    (else the mapping's own default).
    """
    try:
        words = read_type_values(mapping.type_values)
    except TypeValuesError as error:
        raise PayoutFileError(
            f"mapping {mapping.name!r}, type values: {error}",
            code="invalid_mapping",
            field="mapping",
        ) from None
    rows = mapped_rows(data, mapping, PayoutFileError)
    for _ in range(mapping.skip_rows):
        next(rows, None)
    header_at = next(rows, None)
    while header_at is not None and not any(cell.strip() for cell in header_at[1]):
        header_at = next(rows, None)
    if header_at is None:
        raise PayoutFileError("the file is empty: no header row.", code="empty_file")
    header_line, header = header_at
    columns = _columns(header, mapping, header_line)
    default_currency = currency or mapping.currency
    if "currency_column" not in columns and not default_currency:
        raise PayoutFileError(
            "the file has no currency column: name the currency.",
            code="no_currency",
            field="currency",
        )
    read_date = _date_reader(mapping.date_format)
    comma = mapping.decimal_comma
    width = len(header)
    parsed: list[ParsedRow] = []

    for line, row in filled_rows(rows, width, PayoutFileError):
        where = f"row {line}"

        def cell(name: str, row: list[str] = row) -> str:
            index = columns.get(name)
            return row[index].strip() if index is not None else ""

        def day(name: str, where: str = where) -> date | None:
            text = cell(name)
            if not text:
                return None
            try:
                return read_date(text)
            except ValueError:
                label = name.removesuffix("_column").replace("_", " ")
                raise PayoutFileError(
                    f"{where}: {label} {text!r} does not read as {mapping.date_format!r}."
                ) from None

        said = cell("type_column")
        if "type_column" in columns:
            kind = words.get(said.lower())
            if kind is None:
                if mapping.unknown_types != UnknownTypes.ADJUSTMENT:
                    raise PayoutFileError(
                        f"{where}: type {said!r} is not mapped to a row type (mapping "
                        f"{mapping.name!r}).",
                        code="unknown_type",
                    )
                kind = RowType.ADJUSTMENT
        else:
            kind = ""  # from the amount's sign, below
        try:
            row_currency = read_currency(cell("currency_column") or default_currency, where)
        except StatementFileError as error:
            raise PayoutFileError(error.message) from None
        if not cell("gross_column"):
            raise PayoutFileError(f"{where}: the amount is empty.")
        gross = _amount(cell("gross_column"), row_currency, f"{where} amount", comma)
        fee = fee_tax = ZERO
        if cell("fee_column"):
            fee = _amount(cell("fee_column"), row_currency, f"{where} fee", comma)
        if cell("fee_tax_column"):
            fee_tax = _amount(cell("fee_tax_column"), row_currency, f"{where} tax on fee", comma)
        if mapping.fees_negative:
            fee, fee_tax = -fee, -fee_tax
        if not kind:
            kind = RowType.CHARGE if gross >= 0 else RowType.REFUND
        if mapping.unsigned_amounts:
            if kind not in SIGNS:
                raise PayoutFileError(
                    f"{where}: a row of type {kind} needs a signed amount (the mapping reads "
                    "amounts without sign).",
                    code="unsigned_amount",
                )
            gross = SIGNS[kind] * abs(gross)
        fee += fee_tax
        net = gross - fee
        if cell("net_column"):
            stated = _amount(cell("net_column"), row_currency, f"{where} net", comma)
            if mapping.unsigned_amounts:
                stated = (1 if net >= 0 else -1) * abs(stated)
            if stated != net:
                raise PayoutFileError(
                    f"{where}: net {stated} is not the amount {gross} less the fee {fee}.",
                    code="net_differs",
                )
        payout_id = cell("payout_id_column")
        if not payout_id:
            raise PayoutFileError(f"{where}: no payout id.", code="no_payout")
        payout_amount = None
        if cell("payout_amount_column"):
            payout_amount = _amount(
                cell("payout_amount_column"), row_currency, f"{where} payout amount", comma
            )
        parsed.append(
            ParsedRow(
                row_number=line,
                type=kind,
                provider_type=said[:60],
                transaction_date=day("date_column"),
                available_on=day("available_on_column"),
                currency=row_currency,
                gross=gross,
                fee=fee,
                fee_tax=fee_tax,
                net=net,
                payout_id=payout_id[:100],
                payout_date=day("payout_date_column"),
                payout_amount=payout_amount,
                gateway_reference=cell("reference_column")[:140],
                charge_reference=cell("charge_reference_column")[:140],
                order_number=cell("order_column")[:64],
                line_reference=cell("line_column")[:140],
                description=" ".join(cell("description_column").split())[:500],
                key_id=cell("id_column"),
            )
        )
    if not parsed:
        raise PayoutFileError("the file has a header and no rows.", code="empty_file")
    _assign_keys(parsed)
    return parsed


# ---------------------------------------------------------------- keys


def _hash_key(row: ParsedRow, occurrence: int) -> str:
    fields = "|".join(
        (
            row.payout_id,
            row.type,
            row.transaction_date.isoformat() if row.transaction_date else "",
            row.currency,
            str(row.gross.normalize()),
            str(row.fee.normalize()),
            row.gateway_reference,
            row.order_number,
            row.line_reference,
        )
    )
    digest = hashlib.sha256(fields.encode()).hexdigest()[:40]
    return f"h{KEY_RECIPE}:{digest}:{occurrence}"


def _assign_keys(rows: list[ParsedRow]) -> None:
    """The provider's row id where the file has one (`id:<id>`); else a hash of
    the row's payout, type, date, amounts and references with its occurrence
    among identical rows (real twins stay two, a re-import adds nothing).

    An id the file gives twice refuses it: a provider's transaction is one row.
    """
    first: dict[str, int] = {}
    twins: Counter[str] = Counter()
    for row in rows:
        if row.key_id:
            key = f"id:{row.key_id}"[:200]
            if key in first:
                raise PayoutFileError(
                    f"{row.where}: id {row.key_id!r} is also row {first[key]}'s; a "
                    "transaction is one row.",
                    code="duplicate_id",
                )
            first[key] = row.row_number
            row.natural_key = key
        else:
            probe = _hash_key(row, 0)
            twins[probe] += 1
            row.natural_key = _hash_key(row, twins[probe])


# ---------------------------------------------------------------- payouts


def group_payouts(
    rows: list[ParsedRow], *, given_amount: Decimal | None = None
) -> list[ParsedPayout]:
    """The file's payouts in the order they first appear, each checked: one
    currency, one payout date, at most one payout row, and the rows' net adding
    up to the payout amount where one is stated (`given_amount`: for a file of
    one payout)."""
    grouped: dict[str, list[ParsedRow]] = {}
    for row in rows:
        grouped.setdefault(row.payout_id, []).append(row)
    if given_amount is not None and len(grouped) != 1:
        raise PayoutFileError(
            f"a payout amount was given, but the file holds {len(grouped)} payouts.",
            code="amount_for_several",
            field="payout_amount",
        )
    payouts = []
    for payout_id, members in grouped.items():
        payouts.append(_payout(payout_id, members, given_amount))
    return payouts


def _refuse_mixed(
    rows: list[ParsedRow], attribute: str, code: str, says: Callable[[ParsedRow, ParsedRow], str]
) -> None:
    """Refuse the file at the first row whose `attribute` differs from the first
    row's; `says(row, first)` tells how."""
    if not rows:
        return
    first = rows[0]
    row = next((r for r in rows if getattr(r, attribute) != getattr(first, attribute)), None)
    if row is not None:
        raise PayoutFileError(f"{row.where}: {says(row, first)}", code=code)


def _payout(payout_id: str, rows: list[ParsedRow], given: Decimal | None) -> ParsedPayout:
    first = rows[0]
    name = f"payout {payout_id}"
    _refuse_mixed(
        rows,
        "currency",
        "currency_mixed",
        lambda row, first: (
            f"{name} is in {first.currency} ({first.where}), this row in {row.currency}."
        ),
    )
    payout_rows = [r for r in rows if r.type == RowType.PAYOUT]
    if len(payout_rows) > 1:
        raise PayoutFileError(
            f"{payout_rows[1].where}: {name} has a second payout row ({payout_rows[0].where}).",
            code="two_payout_rows",
        )
    dated = [r for r in rows if r.payout_date is not None]
    _refuse_mixed(
        dated,
        "payout_date",
        "payout_date_mixed",
        lambda row, first: (
            f"{name} is dated {row.payout_date}, {first.where} says {first.payout_date}."
        ),
    )
    arrival = dated[0].payout_date if dated else None
    if arrival is None and payout_rows:
        arrival = payout_rows[0].transaction_date
    if arrival is None:
        raise PayoutFileError(
            f"{first.where}: {name} has no date: map a payout date column, or the file needs "
            "the payout's own row.",
            code="no_payout_date",
        )
    for row in rows:
        if row.transaction_date is None:
            row.transaction_date = arrival
    net = sum((r.net for r in rows if r.type != RowType.PAYOUT), ZERO)
    stated: list[tuple[Decimal, str, str]] = []  # (amount, source, where)
    if payout_rows:
        stated.append((-payout_rows[0].net, AmountSource.PAYOUT_ROW, payout_rows[0].where))
    with_amount = [r for r in rows if r.payout_amount is not None]
    _refuse_mixed(
        with_amount,
        "payout_amount",
        "payout_amount_mixed",
        lambda row, first: (
            f"{name}'s payout amount is {row.payout_amount} here and "
            f"{first.payout_amount} in {first.where}."
        ),
    )
    if with_amount and with_amount[0].payout_amount is not None:
        stated.append(
            (with_amount[0].payout_amount, AmountSource.PAYOUT_COLUMN, "the payout amount column")
        )
    currency = first.currency
    if given is not None:
        if not is_in_minor_units(given, currency):
            raise PayoutFileError(
                f"the payout amount given, {given}, has more decimals than {currency} allows.",
                code="invalid_amount",
                field="payout_amount",
            )
        stated.append((given, AmountSource.GIVEN, "the amount given"))
    for amount, _, said in stated:
        if amount != net:
            raise PayoutFileError(
                f"{name}: its rows add up to {display_money(net, currency)}, but "
                f"{said} says {display_money(amount, currency)} (a difference of "
                f"{display_money(amount - net, currency)}); the file is refused.",
                code="totals_differ",
            )
    source = stated[0][1] if stated else AmountSource.ROWS
    return ParsedPayout(
        payout_id=payout_id,
        currency=currency,
        arrival_date=arrival,
        amount=net,
        amount_source=source,
        rows=rows,
    )
