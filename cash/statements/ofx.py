"""OFX 1.x (SGML) and 2.x (XML) bank and card statements.

ofxtools reads the header and tokenises the body with its own regular
expressions (no XML parser, so no entity is ever expanded); a file that
declares a DTD or entities is refused before that all the same. Its strict
conversion to typed models is not used: real banks break the spec's length
limits (a BANKID longer than nine characters) in files that are otherwise
fine, so the elements are read as text here and checked by our own readers.

OFX gives only the closing (ledger) balance, `LEDGERBAL`, so the opening is
left empty and the balance check has nothing to compare. Key: `FITID`.
"""

from __future__ import annotations

import io
import re
import warnings
from datetime import date
from xml.etree.ElementTree import Element

from ofxtools.header import OFXHeaderError
from ofxtools.Parser import OFXTree, ParseError

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

HOSTILE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
OFX_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})")


def _text(element: Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    return compact(found.text) if found is not None and found.text else ""


def _date(text: str, where: str) -> date:
    match = OFX_DATE.match(text.strip())
    if not match:
        raise StatementFileError(f"{where}: {text!r} is not an OFX date (YYYYMMDD...).")
    return read_iso_date("-".join(match.groups()), where)


def _statement(response: Element, number: int) -> ParsedStatement:
    where = f"statement {number}"
    currency = read_currency(_text(response, "CURDEF"), f"{where} CURDEF")
    account = response.find("BANKACCTFROM")
    if account is None:
        account = response.find("CCACCTFROM")
    parsed = ParsedStatement(
        format="ofx",
        currency=currency,
        account_number=account_id(_text(account, "ACCTID")),
        where=where,
    )
    transactions = response.find("BANKTRANLIST")
    if transactions is not None:
        if start := _text(transactions, "DTSTART"):
            parsed.opening_date = _date(start, f"{where} DTSTART")
        if end := _text(transactions, "DTEND"):
            parsed.closing_date = _date(end, f"{where} DTEND")
        for index, trn in enumerate(transactions.findall("STMTTRN"), start=1):
            line_where = f"{where}, transaction {index}"
            fitid = _text(trn, "FITID")
            if fitid:
                line_where += f" (FITID {fitid})"
            line_currency = _text(trn, "CURRENCY/CURSYM") or currency
            if line_currency != currency:
                raise StatementFileError(
                    f"{line_where}: the transaction is in {line_currency}, the statement in "
                    f"{currency}."
                )
            posted = _text(trn, "DTPOSTED")
            if not posted:
                raise StatementFileError(f"{line_where}: DTPOSTED is missing.")
            user_date = _text(trn, "DTUSER")
            name = _text(trn, "NAME") or _text(trn, "PAYEE/NAME")
            memo = _text(trn, "MEMO")
            parsed.lines.append(
                ParsedLine(
                    booking_date=_date(posted, f"{line_where} DTPOSTED"),
                    value_date=_date(user_date, f"{line_where} DTUSER") if user_date else None,
                    amount=read_amount(_text(trn, "TRNAMT"), currency, f"{line_where} TRNAMT"),
                    currency=currency,
                    counterparty=name[:140],
                    remittance=" ".join(
                        x for x in (memo, _text(trn, "CHECKNUM"), _text(trn, "REFNUM")) if x
                    )[:2000],
                    bank_reference=fitid[:140],
                    transaction_code=_text(trn, "TRNTYPE")[:40],
                    key_id=fitid,
                    key_source="fitid" if fitid else "",
                    where=line_where,
                )
            )
    ledger = response.find("LEDGERBAL")
    if ledger is not None:
        parsed.closing_balance = read_amount(
            _text(ledger, "BALAMT"), currency, f"{where} LEDGERBAL"
        )
        if parsed.closing_date is None and (as_of := _text(ledger, "DTASOF")):
            parsed.closing_date = _date(as_of, f"{where} LEDGERBAL DTASOF")
    return parsed


def parse(data: bytes) -> list[ParsedStatement]:
    if HOSTILE.search(data):
        raise StatementFileError(
            "refused: the file declares a DTD or entities; OFX statements never do.",
            code="hostile_xml",
        )
    tree = OFXTree()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # private tags (INTU.BID) are fine
            tree.parse(io.BytesIO(data))
    except (OFXHeaderError, ParseError, ValueError, UnicodeDecodeError) as error:
        raise StatementFileError(f"not a readable OFX file: {error}") from None
    root = tree.getroot()
    if root is None:
        raise StatementFileError("not a readable OFX file: empty.")
    responses = root.findall(".//STMTRS") + root.findall(".//CCSTMTRS")
    if not responses:
        raise StatementFileError("the OFX file holds no bank or card statement (STMTRS).")
    statements = []
    for number, response in enumerate(responses, start=1):
        parsed = _statement(response, number)
        parsed.statement_ref = f"{parsed.opening_date}..{parsed.closing_date}"
        statements.append(parsed)
    # ofxtools nests whatever follows an empty SGML element inside it: a
    # transaction or balance read that way would be lost without a word.
    for tag, found in (
        (b"<STMTTRN>", sum(len(s.lines) for s in statements)),
        (b"<LEDGERBAL>", sum(s.closing_balance is not None for s in statements)),
    ):
        written = data.upper().count(tag)
        if written != found:
            raise StatementFileError(
                f"the file has {written} {tag.decode()} elements but {found} could be read "
                "(an empty element, such as <MEMO> with no text, breaks SGML nesting)."
            )
    return statements
