"""The raw baseline: the same matching in plain Python, no database.

Reads the same CSV with the csv module and the payouts with one query, then
matches as simply as it can be done right: a dict from each payout's
normalised reference (and PAYOUT-<id>) to the payouts carrying it, looked up
with each line's tokens (one candidate each way: matched); then the rest
sorted by (amount, date) on both sides and merged, a pair matched when it is
the only one of its amount within the window on both sides. No groups, no
suggestions, nothing written: the floor the engine is compared with.
"""

from __future__ import annotations

import csv
import re
import time
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._:+-]*")
NOT_ALNUM = re.compile(r"[^A-Z0-9]")
PUNCTUATION = str.maketrans("", "", "/._:+-")  # what a token holds besides letters and digits
WINDOW = 5


def _keys(text: str) -> set[str]:
    keys = set()
    for token in TOKEN.findall(text):
        key = token.upper().translate(PUNCTUATION)
        # Letters and digits only, so it holds a digit unless it is all letters.
        if len(key) >= 4 and not key.isalpha():
            keys.add(key)
    return keys


def run(path: Path, cursor: Any) -> dict[str, Any]:
    started = time.perf_counter()
    lines = []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for bank_id, booked, _value, amount, _party, text, _balance in reader:
            lines.append(
                (bank_id, date.fromisoformat(booked), int(Decimal(amount).scaleb(2)), text)
            )
    cursor.execute("SELECT id, -(amount * 100)::bigint, paid_on, reference FROM ledger_payout")
    payouts = cursor.fetchall()
    loaded = time.perf_counter()

    by_key: dict[str, list[int]] = defaultdict(list)
    for index, (pid, _cents, _day, reference) in enumerate(payouts):
        for key in {NOT_ALNUM.sub("", reference.upper()), f"PAYOUT{pid}"}:
            by_key[key].append(index)
    line_keys = [_keys(text) for *_, text in lines]
    key_lines = Counter(key for keys in line_keys for key in keys)
    matched: dict[int, int] = {}  # line index -> payout index
    taken: set[int] = set()
    for li, keys in enumerate(line_keys):
        found = {
            p for k in keys if key_lines[k] == 1 and len(by_key.get(k, ())) == 1 for p in by_key[k]
        }
        if len(found) == 1:
            (p,) = found
            if payouts[p][1] == lines[li][2] and p not in taken:
                matched[li] = p
                taken.add(p)
    # Sort-merge on (amount, date) over what is left.
    rest_lines = sorted(
        (lines[i][2], lines[i][1], i) for i in range(len(lines)) if i not in matched
    )
    rest_items = sorted((c, d, p) for p, (_, c, d, _) in enumerate(payouts) if p not in taken)
    i = j = 0
    while i < len(rest_lines) and j < len(rest_items):
        amount = rest_lines[i][0]
        if rest_items[j][0] < amount:
            j += 1
            continue
        if rest_items[j][0] > amount:
            i += 1
            continue
        i_end, j_end = i, j
        while i_end < len(rest_lines) and rest_lines[i_end][0] == amount:
            i_end += 1
        while j_end < len(rest_items) and rest_items[j_end][0] == amount:
            j_end += 1
        candidates = defaultdict(list)
        claims: dict[int, int] = defaultdict(int)
        for _, booked, li in rest_lines[i:i_end]:
            for _, day, p in rest_items[j:j_end]:
                if 0 <= (booked - day).days <= WINDOW:
                    candidates[li].append(p)
                    claims[p] += 1
        for li, ps in candidates.items():
            if len(ps) == 1 and claims[ps[0]] == 1:
                matched[li] = ps[0]
        i, j = i_end, j_end
    finished = time.perf_counter()
    return {
        "load": loaded - started,
        "match": finished - loaded,
        "total": finished - started,
        "pairs": {lines[li][0]: payouts[p][0] for li, p in matched.items()},
    }
