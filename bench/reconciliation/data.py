"""The benchmark's world: vendor payouts and a bank statement with known answers.

Every statement line is generated from the payouts it pays (or from none), so
the right answer for each line is known:

| kind | share of lines | what the line looks like | the right outcome |
| --- | --- | --- | --- |
| `ref` | the rest | the payout's reference somewhere in the remittance | matched by reference |
| `ref_twin` | 0.5 % | two payouts of one amount on one day, each line with its reference | each matched to its own |
| `noref` | 2 % | the amount only, booked 0-3 days after the payout | matched by amount (the account opts in) |
| `noref_twin` | 0.02 % | two payouts of one amount on one day, two lines of that amount that day, no reference | suggested (four pairs), never matched |
| `batch` | 0.02 % | one debit for three payouts sharing a batch reference | matched as a group |
| `fee` | 0.08 % | a bank fee of a few euros, no payout | unmatched |

and for each batch two more payouts that no line pays yet (`open`), so there
are exactly as many lines as payouts. Amounts are 10.00 to 20,000.00 EUR.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

START = date(2026, 1, 1)
DAYS = 365
VENDORS = 1000
IBAN = "DE89370400440532013000"

SHARES = {"ref_twin": 0.005, "noref": 0.02, "noref_twin": 0.0002, "batch": 0.0002}


@dataclass
class Payout:
    vendor: int  # index into the vendors
    cents: int
    day: int
    reference: str


@dataclass
class Line:
    bank_id: str
    day: int
    cents: int  # signed
    counterparty: str
    remittance: str
    kind: str
    payouts: list[int] = field(default_factory=list)  # indexes into World.payouts


@dataclass
class World:
    n: int
    payouts: list[Payout] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    payout_ids: list[int] = field(default_factory=list)  # ledger_payout ids, once loaded

    def vendor_name(self, index: int) -> str:
        return f"Vendor {index:04d}"


def generate(n: int, seed: int = 1, *, scattered_ids: bool = False) -> World:
    """A world of about `n` payouts and exactly as many statement lines.

    Ids follow time, as a ledger and a bank assign them: payouts are numbered
    in the order they were paid, the bank's ids in the order it booked the
    lines. With `scattered_ids` both follow the order the world was made in
    instead (random against the dates: the generator before 2026-12-06's
    evening), which makes the database insert the lines' keys and the
    allocations' items at random places in their indexes."""
    rng = random.Random(seed)
    world = World(n=n)
    counts = {kind: max(1, round(n * share)) for kind, share in SHARES.items()}
    counts["ref_twin"] += counts["ref_twin"] % 2
    counts["noref_twin"] += counts["noref_twin"] % 2
    counts["fee"] = 4 * counts["batch"]
    # Lines: batch 1 each, fee 1 each; payouts: batch 3 + 2 open each; so the rest
    # are one line per payout and lines == payouts.
    singles = (
        n
        - counts["batch"]
        - counts["fee"]
        - counts["ref_twin"]
        - counts["noref"]
        - counts["noref_twin"]
    )
    if singles < 0:
        raise ValueError(f"n={n} is too small for the mix")
    counts["ref"] = singles

    def payout(cents: int, day: int, reference: str = "") -> int:
        index = len(world.payouts)
        world.payouts.append(
            Payout(rng.randrange(VENDORS), cents, day, reference or f"PO-{index + 1:08d}")
        )
        return index

    def bank_day(day: int) -> int:
        return min(day + rng.choice((0, 0, 1, 1, 2, 3)), DAYS + 5)

    def add_line(kind: str, day: int, cents: int, remittance: str, payouts: list[int]) -> None:
        vendor = world.vendor_name(world.payouts[payouts[0]].vendor) if payouts else "Bank"
        world.lines.append(
            Line(f"B{len(world.lines) + 1:010d}", day, cents, vendor, remittance, kind, payouts)
        )

    def amount() -> int:
        return rng.randrange(1000, 2_000_001)

    forms = ("Payout {ref} {name}", "{ref}", "SEPA {ref} payout", "Auszahlung {ref}/{name}")
    for _ in range(counts["ref"]):
        p = payout(amount(), rng.randrange(DAYS))
        po = world.payouts[p]
        text = rng.choice(forms).format(ref=po.reference, name=world.vendor_name(po.vendor))
        add_line("ref", bank_day(po.day), -po.cents, text, [p])
    for _ in range(counts["ref_twin"] // 2):
        cents, day = amount(), rng.randrange(DAYS)
        pair = [payout(cents, day), payout(cents, day)]
        booked = bank_day(day)
        for p in reversed(pair):  # the bank lists them the other way round
            add_line("ref_twin", booked, -cents, f"Payout {world.payouts[p].reference}", [p])
    for _ in range(counts["noref"]):
        p = payout(amount(), rng.randrange(DAYS))
        add_line(
            "noref", bank_day(world.payouts[p].day), -world.payouts[p].cents, "SEPA transfer", [p]
        )
    for _ in range(counts["noref_twin"] // 2):
        cents, day = amount(), rng.randrange(DAYS)
        pair = [payout(cents, day), payout(cents, day)]
        booked = bank_day(day)
        for p in pair:
            add_line("noref_twin", booked, -cents, "SEPA transfer", [p])
    for g in range(counts["batch"]):
        day, vendor_ref = rng.randrange(DAYS), f"BATCH-{g + 1:06d}"
        members = [payout(amount() // 3, day, vendor_ref) for _ in range(3)]
        total = sum(world.payouts[p].cents for p in members)
        add_line("batch", bank_day(day), -total, f"Sammler {vendor_ref}", members)
        for _ in range(2):
            payout(amount(), rng.randrange(DAYS))  # paid later: no line yet
    for _ in range(counts["fee"]):
        add_line("fee", rng.randrange(DAYS), -rng.randrange(50, 1000), "Account fee", [])
    if scattered_ids:
        world.lines.sort(key=lambda line: (line.day, line.bank_id))
        return world
    order = sorted(range(len(world.payouts)), key=lambda index: world.payouts[index].day)
    renumbered = {old: new for new, old in enumerate(order)}
    world.payouts = [world.payouts[index] for index in order]
    for line in world.lines:
        line.payouts = [renumbered[index] for index in line.payouts]
    world.lines.sort(key=lambda line: (line.day, line.bank_id))
    for number, line in enumerate(world.lines, start=1):
        line.bank_id = f"B{number:010d}"
    return world


def day(index: int) -> date:
    return START + timedelta(days=index)


def write_csv(world: World, path: Path, opening_cents: int = 10_000_000_000) -> None:
    """The bank's CSV export: id, booking and value date, amount, counterparty,
    remittance and the running balance after each line."""
    balance = opening_cents
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "booked", "value", "amount", "counterparty", "text", "balance"])
        for line in world.lines:
            balance += line.cents
            on = day(line.day).isoformat()
            writer.writerow(
                [
                    line.bank_id,
                    on,
                    on,
                    str(Decimal(line.cents).scaleb(-2)),
                    line.counterparty,
                    line.remittance,
                    str(Decimal(balance).scaleb(-2)),
                ]
            )


MAPPING = {
    "name": "Bench bank CSV",
    "booking_date_column": "booked",
    "value_date_column": "value",
    "amount_column": "amount",
    "counterparty_column": "counterparty",
    "remittance_column": "text",
    "reference_column": "id",
    "balance_column": "balance",
}
