"""The run and the command line of bench.portal."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from bench.common import (
    add_database_arguments,
    check_database_url,
    load_average,
    open_database,
    server_facts,
)
from bench.portal.ab import compare_before_after
from bench.portal.data import DEFAULT_DATABASE_URL, TARGET_P95_MS, make_world
from bench.portal.load import analyze, check_consistency, ensure_users, load
from bench.portal.measure import Run, make_pages, measure, report, report_median


def run(args: argparse.Namespace) -> int:
    url = args.database_url
    open_database(url, "bench.portal", recreate=args.recreate, quiet_static=True)
    logging.disable(logging.INFO)  # django-axes logs every force_login
    from refunds.models import Order, RefundCase, VendorLiability

    world = make_world(args.vendors)
    cases = RefundCase.objects.count()
    if cases == 0:
        if Order.objects.exists():
            raise SystemExit("orders without cases in the bench database: use --recreate")
        print(f"loading {args.cases:,} cases with COPY ...")
        seconds = load(world, args.cases)
        print(f"loaded in {seconds:.0f} s; ANALYZE ...")
        started = time.perf_counter()
        analyze()
        print(f"ANALYZE in {time.perf_counter() - started:.0f} s")
        cases = RefundCase.objects.count()
        problems = check_consistency(url)
        if problems:
            print("consistency after the load: FAILED: " + "; ".join(problems))
            return 1
        print("consistency after the load: every counter equals the sum of its rows")
    elif cases != args.cases:
        print(f"note: reusing {cases:,} cases (not --cases {args.cases:,}); --recreate to reload")
    else:
        print(f"reusing {cases:,} cases")
    from django.db import connection

    with connection.cursor() as cursor:
        # A migration may just have filled it (portal 0003's backfill): plans need statistics.
        cursor.execute("ANALYZE portal_refundday")
    # What the periodic fold (refunds.tasks.fold_refund_months) keeps: the
    # staff dashboard's daily sums of the days before today, per month. Idempotent: a reused
    # database only rewrites what changed.
    from refunds.services.refund_months import fold_refund_months

    started = time.perf_counter()
    months = fold_refund_months()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE refunds_refundmonth")
    print(
        f"folded {len(months)} months of daily sums (this one up to yesterday) in {time.perf_counter() - started:.1f} s"
    )
    vendor_cases = VendorLiability.objects.filter(vendor_id=world.vendor_ids[0]).count()
    owner, staff = ensure_users(world)
    facts = server_facts(url)
    runs = []
    for number in range(args.runs):
        pages = make_pages(args, world)
        before = load_average(digits=2, sep=", ")
        measure(args, url, pages, owner, staff)
        after = load_average(digits=2, sep=", ")
        print(f"\nrun {number + 1}/{args.runs}:")
        report(args, facts, pages, cases, vendor_cases, (before, after))
        runs.append(Run(pages, before, after))
    met = report_median(runs)
    if args.ab:
        searched = next(p for p in runs[0].pages if p.name == "case list, search SKU")
        compare_before_after(args, world, searched.urls)
    if args.check:
        problems = check_consistency(url)
        if problems:
            print("consistency: FAILED: " + "; ".join(problems))
            return 1
        print("consistency: every case, liability, order and line counter adds up")
    print(f"target p95 < {TARGET_P95_MS:.0f} ms on every page: {'met' if met else 'NOT met'}")
    return 0 if met else 2


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.portal",
        description="Vendor portal and staff dashboard latency on a million refund cases.",
    )
    parser.add_argument("--cases", type=int, default=1_000_000, help="refund cases to load")
    parser.add_argument("--vendors", type=int, default=30, help="vendors (at least 2)")
    parser.add_argument("--requests", type=int, default=100, help="timed GETs per portal page")
    parser.add_argument(
        "--staff-requests", type=int, default=20, help="timed GETs per staff dashboard variant"
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument(
        "--samples", type=int, default=50, help="distinct cases and SKUs searched and opened"
    )
    parser.add_argument("--seed", type=int, default=1, help="which cases and SKUs")
    parser.add_argument(
        "--runs", type=int, default=3, help="whole runs; the summary gives each page's median"
    )
    parser.add_argument(
        "--ab",
        type=int,
        default=0,
        metavar="N",
        help="then N alternations of the issue 14 reads before and after, in this process",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="run the consistency check after the timings too (a minute on 1M cases)",
    )
    add_database_arguments(parser, DEFAULT_DATABASE_URL)
    args = parser.parse_args(argv)
    counts = (args.cases, args.requests, args.staff_requests, args.rounds, args.samples, args.runs)
    if min(counts) < 1 or args.vendors < 2:
        parser.error("counts must be positive, and there must be at least 2 vendors")
    check_database_url(parser, args.database_url, what="loads a million cases")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(sys.argv[1:] if argv is None else argv))
