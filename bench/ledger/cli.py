"""The run and the command line of bench.ledger."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg2
import psycopg2.extensions

from bench.common import (
    SERVER_SETTINGS,
    add_database_arguments,
    check_database_url,
    load_average,
    open_database,
    server_facts,
)
from bench.ledger.base import DEFAULT_DATABASE_URL, bench_accounts
from bench.ledger.drain import report_drain, run_drain
from bench.ledger.posting import report_posting, run_posting
from bench.ledger.reads import estimated_entries, fill, report_reads, run_reads

# ---------------------------------------------------------------- the run


def check_balances() -> list[str]:
    """Every maintained balance equals the sum of its account's entries."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT count(*) FROM (
                SELECT account_id, currency, sum(debit) AS debit, sum(credit) AS credit
                FROM ledger_entry GROUP BY 1, 2
            ) s FULL JOIN ledger_accountbalance b USING (account_id, currency)
            WHERE coalesce(s.debit, 0) <> coalesce(b.debit, 0)
               OR coalesce(s.credit, 0) <> coalesce(b.credit, 0)
            """
        )
        bad = cur.fetchone()[0]
    return [f"{bad} balances differ from their entries"] if bad else []


def run(args: argparse.Namespace) -> int:
    import django

    url = args.database_url
    open_database(
        url,
        "bench.ledger",
        recreate=args.recreate,
        eager_refusal="Celery runs tasks eagerly: outbox consumers would run on emit.",
    )
    facts = server_facts(url, (*SERVER_SETTINGS, "autovacuum"))
    started = datetime.now(UTC)
    print(
        f"bench.ledger, {started:%Y-%m-%d %H:%M} UTC; PostgreSQL {facts['server_version']} "
        f"(synchronous_commit={facts['synchronous_commit']}, fsync={facts['fsync']}, "
        f"shared_buffers={facts['shared_buffers']}, autovacuum={facts['autovacuum']}); "
        f"Python {platform.python_version()}, "
        f"Django {django.get_version()}, psycopg2 {psycopg2.__version__.split()[0]}; "
        f"{os.cpu_count()} CPUs, load average {load_average()}"
    )
    accounts = bench_accounts()
    reports: list[Callable[[], Any]] = []
    if "c" in args.only:
        fill(args, url, accounts)
        entries = estimated_entries()
        reads = run_reads(args, url, accounts)
        reports.append(lambda: report_reads(reads, entries))
        reports[-1]()
    if "a" in args.only:
        posting = run_posting(args, url, accounts)
        reports.append(lambda: report_posting(posting))
        reports[-1]()
    if "b" in args.only:
        drains = [
            run_drain(
                args, url, accounts, size, events=args.events if n == 0 else args.sweep_events
            )
            for n, size in enumerate(args.batch_sizes)
        ]
        reports.append(lambda: report_drain(drains))
        reports[-1]()
    print()
    print(
        f"=== summary ({(datetime.now(UTC) - started).total_seconds() / 60:.1f} min, load "
        f"average now {load_average()}) ==="
    )
    for report in reports:
        report()
    if args.check:
        started_check = time.perf_counter()
        problems = check_balances()
        took = time.perf_counter() - started_check
        if problems:
            print("consistency: FAILED: " + "; ".join(problems))
            return 1
        print(f"consistency: every balance row equals the sum of its entries ({took:.0f} s)")
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    def int_list(text: str) -> list[int]:
        return [int(n) for n in text.split(",")]

    parser = argparse.ArgumentParser(
        prog="python -m bench.ledger",
        description="Post journals, drain the outbox and read balances; compare with raw SQL.",
    )
    parser.add_argument(
        "--only",
        type=lambda s: set(s.replace(" ", "").split(",")),
        default={"a", "b", "c"},
        help="parts to run, comma-separated: a (posting), b (outbox drain), c (balance reads)",
    )
    group = parser.add_argument_group("(a) posting")
    group.add_argument("--journals", type=int, default=3000, help="timed journals per side")
    group.add_argument("--rounds", type=int, default=5, help="interleaved rounds, (a) and (c)")
    group.add_argument("--warmup", type=int, default=100, help="untimed journals per side")
    group.add_argument(
        "--probe", type=int, default=100, help="untimed journals per side with statements timed"
    )
    group = parser.add_argument_group("(b) outbox drain")
    group.add_argument(
        "--events", type=int, default=100_000, help="backlog for the first batch size"
    )
    group.add_argument(
        "--sweep-events",
        type=int,
        default=20_000,
        help="backlog for the other batch sizes",
    )
    group.add_argument(
        "--batch-sizes", type=int_list, default=[500, 1000, 2000], help="drain batch sizes"
    )
    group.add_argument(
        "--slice", type=int, default=5_000, help="events per side before the other side's turn"
    )
    group = parser.add_argument_group("(c) balance reads")
    group.add_argument(
        "--entries", type=int, default=10_000_000, help="fill ledger_entry up to this many rows"
    )
    group.add_argument(
        "--chunk-entries", type=int, default=200_000, help="entries per fill transaction"
    )
    group.add_argument(
        "--reuse", action="store_true", help="use ledger_entry as it is: no count, no fill"
    )
    group.add_argument(
        "--fill-checked",
        action="store_true",
        help="keep the ledger's triggers on while filling (about 5x slower)",
    )
    group.add_argument("--reads", type=int, default=2000, help="timed reads per side and account")
    group.add_argument("--sums", type=int, default=3, help="timed sums of an account's entries")
    add_database_arguments(parser, DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="skip the final check of every balance against its entries",
    )
    args = parser.parse_args(argv)
    if not args.only or not args.only <= {"a", "b", "c"}:
        parser.error("--only takes a, b and c, comma-separated")
    counts = [args.journals, args.rounds, args.events, args.sweep_events, args.entries, args.reads]
    counts.append(args.slice)
    if min(counts + args.batch_sizes) < 1 or min(args.warmup, args.probe, args.sums) < 0:
        parser.error("counts must be positive")
    check_database_url(parser, args.database_url, what="writes millions of rows")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(sys.argv[1:] if argv is None else argv))
