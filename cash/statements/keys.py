"""Natural keys of statement lines (recipe version 1, `cash.models.KEY_RECIPE`).

A line's key is the bank's own id where the format has one: CAMT `AcctSvcrRef`
(else `NtryRef`), OFX `FITID`, the MT940 `:61:` bank reference, a CSV's mapped
id column. Without one, or where the bank gives a placeholder (`NONREF`), the
key is a hash of the account, booking date, amount, currency, end-to-end id and
counterparty account, plus the line's occurrence among identical lines of the
file: real twins stay two lines, a re-import of the same file adds nothing.
Free text (remittance, names) is left out: banks rewrite it between exports.

An id the file gives to more than one line keeps the first line's key; the
others get `<id>#2`, `#3`... and are flagged `key_conflict` (a charge and its
fee under one FITID: both kept, shown). Keys are scoped to the account by the
unique (account, natural_key) constraint.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from .base import ParsedLine

PLACEHOLDER_IDS = frozenset({"", "NONREF", "NOTPROVIDED", "NONE", "N/A", "NA", "0"})

PREFIX = {
    "acct_svcr_ref": "ref",
    "ntry_ref": "ntry",
    "fitid": "fitid",
    "mt940_ref": "ref",
    "csv_id": "id",
}

TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._:+-]*")
NOT_ALNUM = re.compile(r"[^A-Z0-9]")
HAS_DIGIT = re.compile(r"[0-9]")


def is_real_id(value: str) -> bool:
    return value.strip().upper() not in PLACEHOLDER_IDS


def _hash_key(account: str, line: ParsedLine, occurrence: int) -> str:
    fields = "|".join(
        (
            account,
            line.booking_date.isoformat(),
            str(line.amount.normalize()),
            line.currency,
            line.end_to_end_id.strip().upper() if is_real_id(line.end_to_end_id) else "",
            line.counterparty_account.replace(" ", "").upper(),
        )
    )
    digest = hashlib.sha256(fields.encode()).hexdigest()[:40]
    return f"h1:{digest}:{occurrence}"


def assign_keys(account: str, lines: Iterable[ParsedLine]) -> list[tuple[str, str, bool]]:
    """(natural_key, key_source, key_conflict) for each line, in order."""
    seen_ids: dict[str, int] = {}
    seen_hashes: dict[str, int] = {}
    taken: set[str] = set()
    keys = []
    for line in lines:
        if line.key_id and is_real_id(line.key_id):
            base = f"{PREFIX[line.key_source]}:{line.key_id.strip()}"[:190]
            count = seen_ids[base] = seen_ids.get(base, 0) + 1
            key = base if count == 1 else f"{base}#{count}"
            while key in taken:  # a bank id that itself ends in "#2"
                count += 1
                key = f"{base}#{count}"
            keys.append((key, line.key_source, count > 1))
        else:
            probe = _hash_key(account, line, 0)
            occurrence = seen_hashes[probe] = seen_hashes.get(probe, 0) + 1
            keys.append((_hash_key(account, line, occurrence), "hash", False))
        taken.add(keys[-1][0])
    if any(count > 1 for count in seen_ids.values()):
        # The first line of a repeated id is in conflict too.
        repeated = {base for base, count in seen_ids.items() if count > 1}
        keys = [(k, s, c or k in repeated) for k, s, c in keys]
    return keys


def normalise_reference(text: str) -> str:
    """A reference as the reference tier compares it: upper case, letters and
    digits only ("po-2026/0042" and "PO 2026 0042" are the same)."""
    return NOT_ALNUM.sub("", text.upper())


def reference_keys(*texts: str) -> str:
    """The tokens of a line's references and remittance worth joining on:
    normalised, at least 4 characters and holding a digit (words like PAYOUT
    or SEPA are not references), space-separated, each once."""
    found: dict[str, None] = {}
    for text in texts:
        if not text or not HAS_DIGIT.search(text):
            continue
        for token in TOKEN.findall(text):
            if not HAS_DIGIT.search(token):
                continue  # nor does any part of it hold one
            # "PO-2026/0042" is a key as written ("PO20260042"), and so are its
            # parts when banks split it: "INV/2026/0042" or "PO-1/ACME GmbH".
            parts = token.split("/") if "/" in token else ()
            for piece in (token, *parts):
                # TOKEN is ASCII: a piece of letters and digits only needs no cleaning.
                key = piece.upper() if piece.isalnum() else NOT_ALNUM.sub("", piece.upper())
                if len(key) >= 4 and HAS_DIGIT.search(key):
                    found[key[:60]] = None
    return " ".join(found)
