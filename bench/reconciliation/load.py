"""Putting the world's ledger side in place (not timed) and reading the answers back.

Vendors and the bank account go in through the ORM; payouts by COPY straight
into ledger_payout (the benchmark matches payouts, it does not post them, so
no journals). `reset` empties the cash tables and the payouts between sizes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection

from .data import IBAN, MAPPING, World, day


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE cash_suggestionitem, cash_suggestion, cash_allocation, "
            "cash_reconciliationrun, cash_openitem, cash_bankstatementline, cash_bankstatement, "
            "cash_bankaccount, cash_csvmapping, ledger_payout RESTART IDENTITY CASCADE"
        )


def prepare(world: World) -> int:
    """Vendors, the bank account (opted in to amount matching) and the payouts;
    returns the bank account's id."""
    from cash.models import BankAccount, CsvMapping
    from ledger.models import Account, AccountRole
    from vendors.models import Vendor

    existing = set(Vendor.objects.values_list("code", flat=True))
    Vendor.objects.bulk_create(
        [
            Vendor(code=f"V{i:04d}", name=world.vendor_name(i), currency="EUR")
            for i in range(1000)
            if f"V{i:04d}" not in existing
        ]
    )
    vendor_ids = dict(Vendor.objects.values_list("code", "id"))
    mapping = CsvMapping.objects.create(**MAPPING)
    account = BankAccount.objects.create(
        name="Bench EUR",
        iban=IBAN,
        currency="EUR",
        ledger_account=Account.objects.get(role=AccountRole.BANK),
        csv_mapping=mapping,
        auto_match_amounts=True,
        match_window_days=5,
    )
    now = datetime.now(UTC).isoformat()
    buffer = io.StringIO()
    for p in world.payouts:
        buffer.write(
            f"{vendor_ids[f'V{p.vendor:04d}']}\tEUR\t{Decimal(p.cents).scaleb(-2)}\t"
            f"{p.reference}\t{day(p.day).isoformat()}\t{now}\t0\n"
        )
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM ledger_payout")
        before = cursor.fetchone()[0]
        cursor.cursor.copy_expert(
            "COPY ledger_payout (vendor_id, currency, amount, reference, paid_on, created_at, "
            "receivable_offset) "
            "FROM STDIN",
            buffer,
        )
        cursor.execute("ANALYZE ledger_payout")
        # COPY assigns ids in the order of the rows.
        cursor.execute("SELECT id FROM ledger_payout WHERE id > %s ORDER BY id", [before])
        world.payout_ids = [row[0] for row in cursor.fetchall()]
    return account.pk


@dataclass
class Verdict:
    true_pairs: int = 0
    auto_pairs: int = 0
    correct_auto: int = 0
    wrong_auto: list[tuple[str, str]] = field(default_factory=list)
    missed_with_suggestion: int = 0
    missed_without_suggestion: int = 0
    suggested_lines: int = 0
    by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind: (pairs, matched)

    @property
    def precision(self) -> float:
        return self.correct_auto / self.auto_pairs if self.auto_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_auto / self.true_pairs if self.true_pairs else 1.0


def evaluate(world: World) -> Verdict:
    """Every automatic match against the known answers; what was missed, and
    whether a person was at least shown the right item."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.natural_key, p.reference, i.source_id FROM cash_allocation a "
            "JOIN cash_bankstatementline l ON l.id = a.line_id "
            "JOIN cash_openitem i ON i.id = a.item_id "
            "JOIN ledger_payout p ON p.id = i.source_id "
            "WHERE a.reversed_at IS NULL AND a.method IN ('reference', 'amount', 'group')"
        )
        allocated = cursor.fetchall()
        cursor.execute(
            "SELECT DISTINCT l.natural_key, p.reference, i.source_id FROM cash_suggestion s "
            "JOIN cash_suggestionitem si ON si.suggestion_id = s.id "
            "JOIN cash_bankstatementline l ON l.id = s.line_id "
            "JOIN cash_openitem i ON i.id = si.item_id JOIN ledger_payout p ON p.id = i.source_id "
            "WHERE s.status = 'pending'"
        )
        suggested = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM cash_bankstatementline WHERE status = 'suggested'")
        suggested_lines = cursor.fetchone()[0]
    ids = world.payout_ids
    truth = {f"id:{line.bank_id}": {ids[index] for index in line.payouts} for line in world.lines}
    kind_of = {f"id:{line.bank_id}": line.kind for line in world.lines}
    verdict = Verdict(suggested_lines=suggested_lines)
    verdict.true_pairs = sum(len(items) for items in truth.values())
    matched_pairs = set()
    for key, reference, payout_id in allocated:
        verdict.auto_pairs += 1
        if payout_id in truth.get(key, set()):
            verdict.correct_auto += 1
            matched_pairs.add((key, payout_id))
        else:
            verdict.wrong_auto.append((key, reference))
    shown = {(key, payout_id) for key, _, payout_id in suggested}
    per_kind: dict[str, list[int]] = {}
    for key, items in truth.items():
        counts = per_kind.setdefault(kind_of[key], [0, 0])
        for payout_id in items:
            counts[0] += 1
            if (key, payout_id) in matched_pairs:
                counts[1] += 1
            elif (key, payout_id) in shown:
                verdict.missed_with_suggestion += 1
            else:
                verdict.missed_without_suggestion += 1
    verdict.by_kind = {kind: (c[0], c[1]) for kind, c in sorted(per_kind.items())}
    return verdict
