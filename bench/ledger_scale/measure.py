"""What bench.ledger_scale times on the filled ledger, each beside a raw
baseline of the same read in the same run: balance reads, trial balances
(today's and at month ends) and a vendor's statement CSV."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bench.common import django_backend_pid, in_turn, print_table
from bench.ledger.base import Block, ProbedConnection, raw_connection, timed
from bench.ledger.reads import ReadResult, read_account
from bench.ledger_scale.fill import CURRENCY, VENDOR_PREFIX, Layout, month_end

TARGET_BALANCE_P99_MS = 2.0
TARGET_TRIAL_BALANCE_S = 1.0

Totals = list[tuple[int, Decimal, Decimal]]

# ---------------------------------------------------------------- balances


def run_balance_reads(args: argparse.Namespace, url: str, layout: Layout) -> list[ReadResult]:
    """bench.ledger (c)'s interleaved account_balance against the raw read by
    key, on a clearing account (in a quarter of all journals), a vendor's
    payable and the statement vendor's."""
    raw = raw_connection(url, autocommit=True)
    try:
        return [
            read_account(args, raw, label, account_id)
            for label, account_id in (
                ("gateway clearing", layout.clearings[0]),
                ("vendor payable", layout.payables[len(layout.payables) // 2]),
                ("statement vendor's payable", layout.payables[0]),
            )
        ]
    finally:
        raw.close()


# ---------------------------------------------------------------- trial balances


@dataclass
class TrialResult:
    label: str
    as_of: date | None
    accounts: int = 0
    side: str = ""  # which statement the selector chose at a past date
    service: list[Block] = field(default_factory=list)
    baseline: list[Block] = field(default_factory=list)
    entries_sum_s: float | None = None  # the old way: every entry up to the date, summed

    def median_s(self, blocks: list[Block]) -> float:
        return statistics.median(b.wall_ns for b in blocks) / 1e9


def trial_dates(layout: Layout) -> list[tuple[str, date | None]]:
    """Today's; the month end a close of the month before last reads (a month
    and a bit of days after it); the month end in the middle (as many days on
    each side: the most the selector reads)."""
    recent = layout.statement_month - timedelta(days=1)
    middle = month_end((layout.first_day + timedelta(days=layout.days // 2)).replace(day=1))
    return [("today", None), ("recent month end", recent), ("middle month end", middle)]


def raw_trial_balance(raw: ProbedConnection, as_of: date | None) -> tuple[Totals, str]:
    """The statements ledger.selectors.trial_balance sends, on a raw
    connection, rows fetched and nothing built: the accounts, then the totals
    (at a past date, the days' span, then the side with fewer days)."""
    from ledger.selectors import _BALANCE_LESS_DAYS_AFTER, _DAYS_UP_TO

    with raw.cursor() as cur:
        cur.execute("SELECT id, code, name, kind FROM ledger_account")
        cur.fetchall()
        if as_of is None:
            cur.execute(
                "SELECT account_id, debit, credit FROM ledger_accountbalance WHERE currency = %s",
                [CURRENCY],
            )
            return cur.fetchall(), "balances"
        cur.execute(
            "SELECT min(date), max(date) FROM ledger_accountday WHERE currency = %s", [CURRENCY]
        )
        first, last = cur.fetchone()
        if as_of - first <= last - as_of:
            cur.execute(_DAYS_UP_TO, [CURRENCY, as_of])
            side = "days up to the date"
        else:
            cur.execute(_BALANCE_LESS_DAYS_AFTER, [CURRENCY, as_of, CURRENCY])
            side = "balances less the days after"
        return cur.fetchall(), side


def summed_entries(as_of: date) -> Totals:
    """The trial balance at `as_of` as it was read before the daily totals:
    every entry of a journal dated up to the date."""
    from django.db.models import Sum

    from ledger.models import Entry

    return list(
        Entry.objects.filter(currency=CURRENCY, journal__date__lte=as_of)
        .values("account_id")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
        .values_list("account_id", "debit", "credit")
    )


def nonzero(rows: Totals) -> Totals:
    return sorted((pk, dr, cr) for pk, dr, cr in rows if dr or cr)


def run_trial_balances(args: argparse.Namespace, url: str, layout: Layout) -> list[TrialResult]:
    from ledger.selectors import trial_balance

    raw = raw_connection(url, autocommit=True)
    raw_pid, service_pid = raw.get_backend_pid(), django_backend_pid()
    results = []
    try:
        for label, as_of in trial_dates(layout):
            result = TrialResult(label, as_of)
            rows = trial_balance(CURRENCY, as_of).rows
            read = sorted((r.account_id, r.debit, r.credit) for r in rows)
            raw_rows, result.side = raw_trial_balance(raw, as_of)
            if read != nonzero(raw_rows):
                raise RuntimeError(f"trial balance {label}: the service and the raw read disagree")
            result.accounts = len(read)
            if as_of is not None and args.entry_sums:
                started = time.perf_counter()
                if nonzero(summed_entries(as_of)) != read:
                    raise RuntimeError(f"trial balance {label}: differs from the entries' sums")
                result.entries_sum_s = time.perf_counter() - started

            def service(as_of: date | None = as_of) -> int:
                trial_balance(CURRENCY, as_of)
                return 1

            def baseline(as_of: date | None = as_of) -> int:
                raw_trial_balance(raw, as_of)
                return 1

            sides: list[tuple[Callable[[], int], int, list[Block]]] = [
                (service, service_pid, result.service),
                (baseline, raw_pid, result.baseline),
            ]
            for call, _, _ in sides:  # warm-up
                call()
            for round_number in range(args.rounds):
                for call, pid, blocks in in_turn(sides, round_number):
                    blocks.append(timed([call], pid))
            results.append(result)
            print(
                f"  trial balance {label}: service {result.median_s(result.service):.3f} s, "
                f"raw {result.median_s(result.baseline):.3f} s",
                flush=True,
            )
    finally:
        raw.close()
    return results


def report_trial_balances(results: list[TrialResult]) -> bool:
    print()
    print("Trial balance in EUR, median wall of the rounds (service and raw interleaved)")
    rows = []
    met = True
    for r in results:
        service, baseline = r.median_s(r.service), r.median_s(r.baseline)
        if r.as_of is not None:
            met = met and service < TARGET_TRIAL_BALANCE_S
        rows.append(
            (
                r.label,
                str(r.as_of or "-"),
                r.side,
                f"{r.accounts:,}",
                f"{service:.3f}",
                f"{baseline:.3f}",
                f"{baseline / service:.2f}",
                f"{r.entries_sum_s:.1f}" if r.entries_sum_s is not None else "-",
            )
        )
    print_table(
        (
            "trial balance",
            "as of",
            "read from",
            "accounts",
            "service s",
            "raw SQL s",
            "ratio raw/service",
            "summing entries s",
        ),
        rows,
        left=3,
    )
    worst = max((r.median_s(r.service) for r in results if r.as_of is not None), default=0.0)
    print(
        f"target trial balance at a past date under {TARGET_TRIAL_BALANCE_S:g} s: "
        f"worst median {worst:.3f} s {'met' if met else 'MISSED'}"
    )
    return met


# ---------------------------------------------------------------- the statement


def statement_of(layout: Layout) -> tuple[Any, Any]:
    """The statement vendor's statement of the statement month (its due
    statements made if missing), and a user of the vendor to download it."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from ledger.models import SettlementStatement
    from ledger.settlements import generate_due_statements
    from vendors.models import Vendor, VendorMembership

    vendor = Vendor.objects.get(code=f"{VENDOR_PREFIX}00000")
    found = SettlementStatement.objects.filter(
        vendor=vendor, currency=CURRENCY, period_start=layout.statement_month
    ).first()
    if found is None:
        started = time.perf_counter()
        result = generate_due_statements(
            layout.last_day + timedelta(days=1), vendor_ids=[vendor.pk], cutoff=timezone.now()
        )
        if result.failures:
            raise RuntimeError(f"statements: {result.failures}")
        print(
            f"  {len(result.statements)} statements of {vendor.code} generated in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        found = SettlementStatement.objects.get(
            vendor=vendor, currency=CURRENCY, period_start=layout.statement_month
        )
    user, _ = get_user_model().objects.get_or_create(username=vendor.code)
    VendorMembership.objects.get_or_create(user=user, vendor=vendor, defaults={"role": "owner"})
    return found, user
