"""Part (a) of bench.ledger: posting journals through the service and raw."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from bench.common import (
    django_backend_pid,
    in_turn,
    percentile_ms,
    print_table,
    ratios,
)
from bench.ledger.base import (
    CURRENCY,
    TARGET_POST_RATIO,
    Accounts,
    Block,
    Probe,
    all_latencies,
    cents,
    commit_raw,
    cpu_ratio,
    fmt_cpu,
    probing_django,
    raw_connection,
    timed,
    write_journals,
)
from bench.ledger.reads import estimated_entries

# ---------------------------------------------------------------- (a) posting


def five_entry_draft(key: str, n: int, accounts: Accounts, on: date) -> Any:
    """Dr clearing; Cr payable A, Cr payable B, Cr commission, Cr tax."""
    from ledger.models import JournalKind
    from ledger.posting import JournalDraft

    vendor_a, vendor_b = cents(1000 + n % 9000), cents(550 + (n * 37) % 4000)
    commission = cents(100 + n % 700)
    tax = cents(200 + (n * 13) % 900)
    payable_a, payable_b = accounts.pair(n)
    draft = JournalDraft(
        posting_key=key, kind=JournalKind.SALE, currency=CURRENCY, date=on, memo=f"Bench sale {n}"
    )
    draft.debit(accounts.clearing, vendor_a + vendor_b + commission + tax)
    draft.credit(payable_a, vendor_a)
    draft.credit(payable_b, vendor_b)
    draft.credit(accounts.commission, commission)
    draft.credit(accounts.tax, tax)
    return draft


class DraftSource:
    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        self.tag = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self.taken = 0
        self.today = datetime.now(UTC).date()

    def take(self, count: int, side: str) -> list[Any]:
        drafts = []
        for _ in range(count):
            n = self.taken
            self.taken += 1
            key = f"bench-post:{self.tag}:{side}:{n}"
            drafts.append(five_entry_draft(key, n, self.accounts, self.today))
        return drafts


def post_with_service(draft: Any) -> Callable[[], int]:
    from ledger.posting import PostedBy, post_one

    def call() -> int:
        if post_one(draft, posted_by=PostedBy("bench")) is None:
            raise RuntimeError(f"{draft.posting_key} was already posted")
        return 1

    return call


class RawPoster:
    """(a)'s baseline: one journal per transaction, written by hand."""

    def __init__(self, url: str) -> None:
        self.conn = raw_connection(url)

    def close(self) -> None:
        self.conn.close()

    def call(self, draft: Any) -> Callable[[], int]:
        def post() -> int:
            with self.conn.cursor() as cur:
                write_journals(cur, [draft], datetime.now(UTC))
            commit_raw(self.conn)
            return 1

        return post


@dataclass
class PostResult:
    service: list[Block] = field(default_factory=list)
    baseline: list[Block] = field(default_factory=list)
    service_probe: Probe = field(default_factory=Probe)
    baseline_probe: Probe = field(default_factory=Probe)
    probed: int = 0
    entries_before: int = 0

    def ratios(self) -> list[float]:
        return ratios(self.service, self.baseline)


def run_posting(args: argparse.Namespace, url: str, accounts: Accounts) -> PostResult:
    source = DraftSource(accounts)
    raw = RawPoster(url)
    result = PostResult(probed=args.probe, entries_before=estimated_entries())
    service_pid, raw_pid = django_backend_pid(), raw.conn.get_backend_pid()
    per_round = max(1, args.journals // args.rounds)

    # (name, makes a call of a draft, its blocks, its probe, its backend)
    sides: list[tuple[str, Callable[[Any], Callable[[], int]], list[Block], Probe, int]] = [
        ("service", post_with_service, result.service, result.service_probe, service_pid),
        ("raw", raw.call, result.baseline, result.baseline_probe, raw_pid),
    ]
    try:
        # Warm-up, then a probed pass with every statement timed: neither is timed.
        for name, make, _, probe, _ in sides:
            for draft in source.take(args.warmup, name):
                make(draft)()
            if name == "raw":
                raw.conn.probe = probe
                for draft in source.take(args.probe, name):
                    make(draft)()
                raw.conn.probe = None
            else:
                with probing_django(probe):
                    for draft in source.take(args.probe, name):
                        make(draft)()

        for round_number in range(args.rounds):
            calls = [
                ([make(d) for d in source.take(per_round, name)], blocks, pid)
                for name, make, blocks, _, pid in sides
            ]
            for side_calls, blocks, pid in in_turn(calls, round_number):
                blocks.append(timed(side_calls, pid))
            print(
                f"  (a) round {round_number + 1}/{args.rounds}: "
                + ", ".join(f"{name} {blocks[-1].rate:,.0f}/s" for name, _, blocks, _, _ in sides)
            )
    finally:
        raw.close()
    return result


def report_posting(result: PostResult) -> float:
    ratio = statistics.median(result.ratios())
    print()
    print(
        f"(a) Posting five-entry journals, one per transaction: "
        f"{sum(b.units for b in result.service):,} per side in {len(result.service)} "
        f"interleaved rounds; ledger_entry held ~{result.entries_before:,} rows"
    )
    rows = []
    sides = [
        ("post_one (service)", result.service),
        ("raw psycopg2 (baseline)", result.baseline),
    ]
    for label, blocks in sides:
        client, server = fmt_cpu(blocks)
        rows.append(
            (
                label,
                f"{statistics.median(b.rate for b in blocks):,.0f}",
                f"{percentile_ms(all_latencies(blocks), 0.50):.2f}",
                f"{percentile_ms(all_latencies(blocks), 0.99):.2f}",
                client,
                server,
                "1" if blocks is result.baseline else f"{ratio:.2f}",
                cpu_ratio(blocks, result.baseline),
            )
        )
    print_table(
        (
            "side",
            "journals/s",
            "p50 ms",
            "p99 ms",
            "client CPU ms/j",
            "db CPU ms/j",
            "ratio to baseline",
            "CPU ratio",
        ),
        rows,
        left=1,
    )
    print(
        f"ratio service/baseline: {ratio:.2f} (median of rounds: "
        f"{' '.join(f'{r:.2f}' for r in result.ratios())}); target >= {TARGET_POST_RATIO}: "
        f"{'met' if ratio >= TARGET_POST_RATIO else 'MISSED'}"
    )
    print(
        "journals/s: median over the rounds; ratio: median over the rounds of service/baseline "
        "in the same round; CPU ratio: baseline CPU / side CPU per journal, client + database"
    )
    print(f"statements per journal ({result.probed} probed journals per side, ms per journal):")
    print(f"  service:  {result.service_probe.summary(result.probed)}")
    print(f"  baseline: {result.baseline_probe.summary(result.probed)}")
    return ratio
