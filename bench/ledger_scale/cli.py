"""The run and the command line of bench.ledger_scale."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime

import psycopg2

from bench.common import (
    add_database_arguments,
    check_database_url,
    load_average,
    open_database,
    percentile_ms,
    server_facts,
)
from bench.ledger.base import all_latencies
from bench.ledger.reads import ReadResult, estimated_entries, report_reads
from bench.ledger_scale.fill import (
    VENDOR_PREFIX,
    database_size,
    date_range,
    fill,
    ledger_is_empty,
    make_layout,
    today_utc,
)
from bench.ledger_scale.measure import (
    TARGET_BALANCE_P99_MS,
    report_trial_balances,
    run_balance_reads,
    run_trial_balances,
    statement_of,
)
from bench.statements import report_csv, time_csv

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/splitledger_scalebench"


def filled_range() -> tuple[date, date] | None:
    """First and last day of the daily totals, if any."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT min(date), max(date) FROM ledger_accountday")
        first, last = cur.fetchone()
    return (first, last) if first is not None else None


def run(args: argparse.Namespace) -> int:
    import django

    url = args.database_url
    open_database(url, "bench.ledger_scale", recreate=args.recreate)
    facts = server_facts(url)
    started = datetime.now(UTC)
    print(
        f"bench.ledger_scale, {started:%Y-%m-%d %H:%M} UTC; PostgreSQL {facts['server_version']} "
        f"(synchronous_commit={facts['synchronous_commit']}, fsync={facts['fsync']}, "
        f"shared_buffers={facts['shared_buffers']}); Python {platform.python_version()}, "
        f"Django {django.get_version()}, psycopg2 {psycopg2.__version__.split()[0]}; "
        f"{os.cpu_count()} CPUs, load average {load_average()}"
    )
    from vendors.models import Vendor

    took = None
    if ledger_is_empty(url):
        layout = make_layout(args, *date_range(args.days, today_utc()))
        took = fill(args, url, layout)
    else:
        span = filled_range()
        if span is None or not Vendor.objects.filter(code=f"{VENDOR_PREFIX}00000").exists():
            print("The ledger holds entries this benchmark did not write: use --recreate.")
            return 2
        args.vendors = Vendor.objects.filter(code__startswith=VENDOR_PREFIX).count()
        layout = make_layout(args, *span)
        print(
            f"reusing the ledger filled before: {layout.first_day} to {layout.last_day}, "
            f"{args.vendors:,} vendors"
        )
    entries = estimated_entries()
    sizes = database_size(url)
    fill_line = (
        f"filled in {took['total'] / 60:.1f} min (COPY {took['copy'] / 60:.1f} min, balances "
        f"{took['balances']:.0f} s, daily totals {took['days']:.0f} s, analyze {took['analyze']:.0f} s)"
        if took
        else "filled by an earlier run"
    )
    size_line = ", ".join(f"{name} {size / 2**20:,.0f} MiB" for name, size in sizes.items())
    print(f"ledger_entry: ~{entries:,} entries; {fill_line}; {size_line}", flush=True)

    reads = run_balance_reads(args, url, layout)
    trials = run_trial_balances(args, url, layout)
    statement, user = statement_of(layout)
    view, copy = time_csv(url, statement, user, args.rounds)

    print()
    print(
        f"=== bench.ledger_scale summary ({(datetime.now(UTC) - started).total_seconds() / 60:.1f} "
        f"min, load average now {load_average()}) ==="
    )
    print(f"ledger_entry ~{entries:,} entries; {fill_line}")
    print(f"sizes (indexes included): {size_line}")
    report_reads(reads, entries, target_ms=TARGET_BALANCE_P99_MS)
    worst99 = max(_p99(r) for r in reads)
    trial_met = report_trial_balances(trials)
    print()
    print(f"Statement CSV of {statement.vendor.code}, {statement.period_start:%Y-%m}")
    csv_met = report_csv(statement, view, copy)
    print(f"target: CSV under 2 s (median wall): {'met' if csv_met else 'NOT met'}")
    met = worst99 < TARGET_BALANCE_P99_MS and trial_met and csv_met
    print(f"all targets {'met' if met else 'NOT met'}")
    return 0 if met else 1


def _p99(result: ReadResult) -> float:
    return percentile_ms(all_latencies(result.orm), 0.99)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ledger_scale",
        description="Fill a ledger of many entries by COPY, then time balance reads, trial "
        "balances and a statement CSV against raw SQL.",
    )
    group = parser.add_argument_group("the fill (into an empty ledger only)")
    group.add_argument("--entries", type=int, default=100_000_000, help="entries to write")
    group.add_argument("--vendors", type=int, default=2000, help="vendors (payable, receivable)")
    group.add_argument("--days", type=int, default=730, help="days the journals are dated over")
    group.add_argument(
        "--statement-entries",
        type=int,
        default=100_000,
        help="payable entries of one vendor in the last month (as many as the fill allows)",
    )
    group.add_argument(
        "--chunk-journals", type=int, default=100_000, help="journals per COPY transaction"
    )
    group = parser.add_argument_group("measuring")
    group.add_argument("--rounds", type=int, default=5, help="interleaved rounds of each read")
    group.add_argument("--reads", type=int, default=2000, help="timed balance reads per side")
    group.add_argument(
        "--sums", type=int, default=1, help="timed sums of an account's entries (for context)"
    )
    group.add_argument(
        "--no-entry-sums",
        dest="entry_sums",
        action="store_false",
        help="skip summing every entry up to each past date (the old trial balance, "
        "checked against the new one; minutes on 100 million entries)",
    )
    add_database_arguments(parser, DEFAULT_DATABASE_URL)
    args = parser.parse_args(argv)
    if min(args.entries, args.days, args.statement_entries, args.chunk_journals) < 1:
        parser.error("counts must be positive")
    if args.vendors < 2 or min(args.rounds, args.reads) < 1 or args.sums < 0:
        parser.error("--vendors needs at least 2, --rounds and --reads at least 1")
    check_database_url(parser, args.database_url, what="writes up to 100 million rows")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(sys.argv[1:] if argv is None else argv))
