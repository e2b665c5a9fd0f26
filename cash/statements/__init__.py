"""Statement file parsers, one module per format, and format detection.

Each parser takes the file's bytes and returns `ParsedStatement`s or raises
`StatementFileError`; none writes anything (cash.services.imports does).
"""

from __future__ import annotations

import re
from typing import Any

from . import camt053, csvfile, mt940, ofx
from .base import ParsedLine, ParsedStatement, StatementFileError

FORMATS = ("camt053", "ofx", "mt940", "csv")
MT940_START = re.compile(rb"(^|\n)\s*:20:")


def detect_format(data: bytes) -> str:
    """The format from the content: XML of the camt.053 namespace, an OFX
    header or root, MT940's :20: and :60F: fields; anything else is read as CSV."""
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    upper = head[:4096].upper()
    if upper.startswith(b"OFXHEADER") or b"<OFX>" in upper or b"<?OFX" in upper:
        return "ofx"
    if head.startswith(b"<"):
        if b"camt.053" in head[:4096]:
            return "camt053"
        raise StatementFileError(
            "an XML file that is not a CAMT.053 statement (no camt.053 namespace).",
            code="unknown_format",
        )
    if MT940_START.search(head) and (b":60F:" in head or b":60M:" in head):
        return "mt940"
    return "csv"


def parse(
    data: bytes, fmt: str, *, mapping: Any = None, currency: str = ""
) -> list[ParsedStatement]:
    if fmt == "camt053":
        return camt053.parse(data)
    if fmt == "ofx":
        return ofx.parse(data)
    if fmt == "mt940":
        return mt940.parse(data)
    if fmt == "csv":
        if mapping is None:
            raise StatementFileError(
                "a CSV file needs a column mapping: name one, or give the account one.",
                code="no_mapping",
                field="mapping",
            )
        return csvfile.parse(data, mapping, currency)
    raise StatementFileError(
        f"unknown format {fmt!r}; one of {', '.join(FORMATS)}.", field="format"
    )


__all__ = [
    "FORMATS",
    "ParsedLine",
    "ParsedStatement",
    "StatementFileError",
    "detect_format",
    "parse",
]
