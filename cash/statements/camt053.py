"""CAMT.053 (ISO 20022 bank-to-customer statement), any version 001.02 to 001.13.

Read with defusedxml's streaming parser: a document type declaration is refused
outright (a statement never has one), so no entity is ever expanded (billion
laughs) and no external reference is ever fetched (XXE). Entries are handled as
they end and then dropped, so memory stays flat however long the statement.

One line per booked entry (`Sts` BOOK; pending and informational entries are
not booked and move no balance). Key: `AcctSvcrRef`, else `NtryRef`. The
opening balance is `OPBD` (or `PRCD`), the closing `CLBD`.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from .base import (
    ParsedLine,
    ParsedStatement,
    StatementFileError,
    account_id,
    compact,
    read_amount,
    read_currency,
    read_iso_date,
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element | None, *path: str) -> Element | None:
    """The first descendant along `path` of local names, namespaces ignored."""
    for name in path:
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _children(element: Element | None, name: str) -> list[Element]:
    return [] if element is None else [c for c in element if _local(c.tag) == name]


def _text(element: Element | None, *path: str) -> str:
    found = _child(element, *path) if path else element
    return compact(found.text) if found is not None and found.text else ""


def _date(element: Element | None, where: str) -> str:
    """`<Dt>` or `<DtTm>` inside a date-and-date-time choice."""
    return _text(element, "Dt") or _text(element, "DtTm")


def _signed(element: Element, currency: str, where: str) -> Decimal:
    amount_el = _child(element, "Amt")
    amount = read_amount(amount_el.text if amount_el is not None else None, currency, where)
    indicator = _text(element, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementFileError(f"{where}: CdtDbtInd must be CRDT or DBIT, not {indicator!r}.")
    if amount < 0:
        raise StatementFileError(f"{where}: Amt must not be negative; CdtDbtInd gives the sign.")
    return amount if indicator == "CRDT" else -amount


def _party(details: Element | None, role: str) -> tuple[str, str]:
    parties = _child(details, "RltdPties")
    party = _child(parties, role)
    name = _text(party, "Nm") or _text(party, "Pty", "Nm")
    acct = _child(parties, f"{role}Acct", "Id")
    number = _text(acct, "IBAN") or _text(acct, "Othr", "Id")
    return name, account_id(number)


def _remittance(details: Element) -> list[str]:
    texts = []
    info = _child(details, "RmtInf")
    for unstructured in _children(info, "Ustrd"):
        texts.append(_text(unstructured))
    for structured in _children(info, "Strd"):
        ref = _text(structured, "CdtrRefInf", "Ref")
        if ref:
            texts.append(ref)
        texts.extend(_text(x) for x in _children(structured, "AddtlRmtInf"))
    texts.append(_text(details, "AddtlTxInf"))
    return [t for t in texts if t]


def _entry(entry: Element, currency: str, where: str) -> ParsedLine | None:
    status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
    if status and status != "BOOK":
        return None
    amount_el = _child(entry, "Amt")
    line_currency = read_currency(amount_el.get("Ccy") if amount_el is not None else "", where)
    if line_currency != currency:
        raise StatementFileError(
            f"{where}: the entry is in {line_currency}, the statement in {currency}."
        )
    amount = _signed(entry, currency, where)
    booked = _date(_child(entry, "BookgDt"), where)
    if not booked:
        raise StatementFileError(f"{where}: the entry has no booking date (BookgDt).")
    value = _date(_child(entry, "ValDt"), where)
    all_details = _children(_child(entry, "NtryDtls"), "TxDtls") or [
        tx
        for batch in _children(_child(entry, "NtryDtls"), "Btch")
        for tx in _children(batch, "TxDtls")
    ]
    first = all_details[0] if all_details else None
    # The other party: the creditor of a debit, the debtor of a credit.
    name, number = _party(first, "Cdtr" if amount < 0 else "Dbtr")
    remittance = [t for tx in all_details for t in _remittance(tx)]
    remittance.append(_text(entry, "AddtlNtryInf"))
    code = _child(entry, "BkTxCd")
    domain = _child(code, "Domn")
    transaction_code = (
        "/".join(
            x
            for x in (
                _text(domain, "Cd"),
                _text(domain, "Fmly", "Cd"),
                _text(domain, "Fmly", "SubFmlyCd"),
            )
            if x
        )
        if domain is not None
        else _text(code, "Prtry", "Cd")
    )
    if _text(entry, "RvslInd").lower() in ("true", "1"):
        transaction_code = f"{transaction_code} reversal".strip()
    acct_svcr_ref = _text(entry, "AcctSvcrRef")
    ntry_ref = _text(entry, "NtryRef")
    return ParsedLine(
        booking_date=read_iso_date(booked, f"{where} BookgDt"),
        value_date=read_iso_date(value, f"{where} ValDt") if value else None,
        amount=amount,
        currency=currency,
        counterparty=name[:140],
        counterparty_account=number[:40],
        remittance=" ".join(t for t in remittance if t)[:2000],
        bank_reference=acct_svcr_ref[:140],
        entry_reference=ntry_ref[:140],
        end_to_end_id=_text(first, "Refs", "EndToEndId")[:140],
        transaction_code=transaction_code[:40],
        key_id=acct_svcr_ref or ntry_ref,
        key_source="acct_svcr_ref" if acct_svcr_ref else ("ntry_ref" if ntry_ref else ""),
        where=where,
    )


class _Statement:
    """What one <Stmt> has said so far."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.parsed = ParsedStatement(format="camt053", currency="", where=f"statement {number}")
        self.balances: list[Element] = []
        self.entries = 0


def _balance(
    statement: ParsedStatement, balance: Element, where: str
) -> tuple[str, Decimal, str] | None:
    kind = _text(balance, "Tp", "CdOrPrtry", "Cd")
    if kind not in ("OPBD", "PRCD", "CLBD"):
        return None
    amount_el = _child(balance, "Amt")
    currency = read_currency(amount_el.get("Ccy") if amount_el is not None else "", where)
    if statement.currency and currency != statement.currency:
        raise StatementFileError(
            f"{where}: the {kind} balance is in {currency}, the statement in {statement.currency}."
        )
    statement.currency = statement.currency or currency
    return kind, _signed(balance, currency, where), _date(_child(balance, "Dt"), where)


def parse(data: bytes) -> list[ParsedStatement]:
    statements: list[ParsedStatement] = []
    current: _Statement | None = None
    path: list[Element] = []
    root_checked = False
    stream: IO[bytes] = io.BytesIO(data)
    try:
        for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=True):
            name = _local(element.tag)
            if event == "start":
                if not root_checked:
                    root_checked = True
                    namespace = element.tag[1:].split("}")[0] if "}" in element.tag else ""
                    if name != "Document" or "camt.053" not in namespace:
                        raise StatementFileError(
                            f"this is not a CAMT.053 statement (root {name!r} in "
                            f"namespace {namespace or 'none'!r})."
                        )
                parent_name = _local(path[-1].tag) if path else ""
                path.append(element)
                if name == "Stmt" and parent_name == "BkToCstmrStmt":
                    current = _Statement(len(statements) + 1)
                continue
            path.pop()
            if current is None:
                continue
            holder = path[-1] if path else None
            parent = _local(holder.tag) if holder is not None else ""
            where = current.parsed.where
            if name == "Acct" and parent == "Stmt":
                current.parsed.iban = account_id(_text(element, "Id", "IBAN"))
                current.parsed.account_number = account_id(_text(element, "Id", "Othr", "Id"))
                if ccy := _text(element, "Ccy"):
                    current.parsed.currency = read_currency(ccy, f"{where} Acct/Ccy")
            elif name == "Id" and parent == "Stmt":
                current.parsed.statement_ref = _text(element)[:140]
            elif name == "Bal" and parent == "Stmt":
                found = _balance(current.parsed, element, f"{where} balance")
                if found:
                    kind, amount, on = found
                    day = read_iso_date(on, f"{where} {kind} date") if on else None
                    if kind == "CLBD":
                        current.parsed.closing_balance, current.parsed.closing_date = amount, day
                    elif current.parsed.opening_balance is None or kind == "OPBD":
                        current.parsed.opening_balance, current.parsed.opening_date = amount, day
            elif name == "Ntry" and parent == "Stmt":
                current.entries += 1
                entry_where = f"{where}, entry {current.entries}"
                if not current.parsed.currency:
                    amount_el = _child(element, "Amt")
                    current.parsed.currency = read_currency(
                        amount_el.get("Ccy") if amount_el is not None else "", entry_where
                    )
                line = _entry(element, current.parsed.currency, entry_where)
                if line is not None:
                    current.parsed.lines.append(line)
                # Dropped once read: a million entries never sit in memory as a tree.
                if holder is not None:
                    holder.remove(element)
            elif name == "Stmt":
                if not current.parsed.currency:
                    raise StatementFileError(f"{where}: no currency (Acct/Ccy or a balance).")
                statements.append(current.parsed)
                current = None
                if holder is not None:
                    holder.remove(element)
    except DefusedXmlException as error:
        raise StatementFileError(
            f"refused: the XML declares a DTD or entities ({type(error).__name__}); "
            "bank statements never do.",
            code="hostile_xml",
        ) from None
    except ParseError as error:
        row, column = getattr(error, "position", (0, 0))
        raise StatementFileError(f"line {row}, column {column}: not well-formed XML.") from None
    if not statements:
        raise StatementFileError("the file holds no statement (BkToCstmrStmt/Stmt).")
    return statements
