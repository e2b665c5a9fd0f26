"""Timing the portal and staff pages of bench.portal, and the report."""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import psycopg2

from bench.common import (
    SETTINGS_MODULE,
    percentile_ms,
    print_table,
)
from bench.portal.data import TARGET_P95_MS, World

# ---------------------------------------------------------------- measuring


@dataclass
class Page:
    name: str
    client: str  # "vendor" or "staff"
    urls: list[str]
    wall_ns: list[int] = field(default_factory=list)
    raw_ns: list[int] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    sql: dict[str, list[str]] = field(default_factory=dict)
    turn: int = 0

    def next_url(self) -> str:
        url = self.urls[self.turn % len(self.urls)]
        self.turn += 1
        return url


def make_pages(args: argparse.Namespace, world: World) -> list[Page]:
    from django.db import connection

    rng = random.Random(args.seed)
    vendor_id = world.vendor_ids[0]
    with connection.cursor() as cursor:

        def of_random_cases(sql: str) -> list[Any]:
            # Random cases of the vendor: TABLESAMPLE would be biased to old pages; ids are dense.
            cases = [rng.randint(1, args.cases) for _ in range(40 * args.samples)]
            cursor.execute(sql, [vendor_id, cases])
            return [row[0] for row in cursor.fetchall()]

        case_ids = of_random_cases(
            "SELECT c.case_id FROM refunds_vendorliability l "
            "JOIN refunds_refundcase c ON c.id = l.case_id "
            "WHERE l.vendor_id = %s AND l.case_id = ANY(%s)"
        )
        skus = of_random_cases(
            "SELECT DISTINCT ol.sku FROM refunds_refundline rl "
            "JOIN refunds_orderline ol ON ol.id = rl.order_line_id "
            "WHERE rl.vendor_id = %s AND rl.case_id = ANY(%s)"
        )
    rng.shuffle(case_ids)
    rng.shuffle(skus)
    if not case_ids or not skus:
        raise SystemExit("the measured vendor has no cases: was the load interrupted?")
    case_ids, skus = case_ids[: args.samples], skus[: args.samples]

    from portal.views import MAX_PAGE

    def cases(**query: Any) -> str:
        return "/portal/cases/" + (f"?{urlencode(query)}" if query else "")

    return [
        Page("case list", "vendor", [cases()]),
        Page("case list, status=disputed", "vendor", [cases(status="disputed")]),
        Page("case list, search case ID", "vendor", [cases(q=c) for c in case_ids]),
        Page("case list, search SKU", "vendor", [cases(q=s) for s in skus]),
        Page("case list, sort -amount", "vendor", [cases(sort="-amount")]),
        Page(f"case list, page {MAX_PAGE} (deepest)", "vendor", [cases(page=MAX_PAGE)]),
        Page("case page", "vendor", [f"/portal/cases/{c}/" for c in case_ids]),
        Page("vendor dashboard", "vendor", ["/portal/"]),
        Page("staff dashboard, 30 d", "staff", ["/staff/"]),
        Page("staff dashboard, 90 d by reason", "staff", ["/staff/?days=90&by=reason"]),
        Page("staff dashboard, 365 d by SKU", "staff", ["/staff/?days=365&by=sku"]),
    ]


def measure(args: argparse.Namespace, url: str, pages: list[Page], owner: Any, staff: Any):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients = {"vendor": Client(HTTP_HOST="127.0.0.1"), "staff": Client(HTTP_HOST="127.0.0.1")}
    clients["vendor"].force_login(owner)
    clients["staff"].force_login(staff)
    clients["vendor"].get("/portal/")  # the session learns the vendor (one write)

    def get(page: Page, path: str) -> None:
        response = clients[page.client].get(path)
        if response.status_code != 200:
            raise SystemExit(f"{page.name}: GET {path} answered {response.status_code}")

    # Untimed: every URL once with its SQL captured, for the count and the baseline.
    for page in pages:
        for path in page.urls:
            with CaptureQueriesContext(connection) as captured:
                get(page, path)
            page.sql[path] = [q["sql"] for q in captured.captured_queries]
            page.statements.append(len(captured.captured_queries))
    raw = psycopg2.connect(url)
    raw.autocommit = True
    cursor = raw.cursor()

    def replay(statements: list[str]) -> None:
        for statement in statements:
            cursor.execute(statement)
            if cursor.description is not None:
                cursor.fetchall()

    clock = time.perf_counter_ns
    for number in range(args.rounds):
        for page in pages[number % len(pages) :] + pages[: number % len(pages)]:
            count = args.staff_requests if page.client == "staff" else args.requests
            share = count // args.rounds + (1 if number < count % args.rounds else 0)
            for _ in range(share):
                path = page.next_url()
                before = clock()
                get(page, path)
                page.wall_ns.append(clock() - before)
                before = clock()
                replay(page.sql[path])
                page.raw_ns.append(clock() - before)
        print(f"round {number + 1}/{args.rounds} done, load {os.getloadavg()[0]:.2f}", flush=True)
    cursor.close()
    raw.close()


@dataclass
class Run:
    pages: list[Page]
    load_before: str
    load_after: str


def report_median(runs: list[Run]) -> bool:
    """Each page's median over the runs of its p50, p95, raw p50, raw p95 and
    p50/raw; the target is judged on the median p95."""
    print()
    print(f"median of {len(runs)} run(s); load average 1/5/15 min per run:")
    for number, run in enumerate(runs, 1):
        print(f"  run {number}: before {run.load_before}, after {run.load_after}")
    rows, met = [], True
    for index, page in enumerate(runs[0].pages):
        timed = [run.pages[index] for run in runs]

        def median(values: list[float]) -> float:
            return statistics.median(values)

        p95 = median([percentile_ms(p.wall_ns, 0.95) for p in timed])
        ok = p95 < TARGET_P95_MS
        met &= ok
        rows.append(
            (
                page.name,
                f"{median([percentile_ms(p.wall_ns, 0.5) for p in timed]):.1f}",
                f"{p95:.1f}",
                " / ".join(f"{percentile_ms(p.wall_ns, 0.95):.0f}" for p in timed),
                f"{median([percentile_ms(p.raw_ns, 0.5) for p in timed]):.1f}",
                f"{median([percentile_ms(p.raw_ns, 0.95) for p in timed]):.1f}",
                f"{median([percentile_ms(p.wall_ns, 0.5) / percentile_ms(p.raw_ns, 0.5) for p in timed]):.1f}x",
                "met" if ok else "MISSED",
            )
        )
    print_table(
        (
            "page",
            "p50 ms",
            "p95 ms",
            "p95 per run",
            "raw p50",
            "raw p95",
            "p50/raw",
            f"p95<{TARGET_P95_MS:.0f}",
        ),
        rows,
        left=1,
    )
    return met


def report(args, facts, pages: list[Page], cases: int, vendor_cases: int, loads) -> bool:
    import django

    print()
    print(
        f"bench.portal, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {cases:,} refund cases, "
        f"the measured vendor's {vendor_cases:,}; Django test client in process "
        f"({SETTINGS_MODULE}, DEBUG off); {args.rounds} interleaved rounds"
    )
    print(
        f"PostgreSQL {facts['server_version']} (shared_buffers={facts['shared_buffers']}); "
        f"Python {platform.python_version()}, Django {django.get_version()}; "
        f"{os.cpu_count()} CPUs; load average 1/5/15 min before: {loads[0]}, after: {loads[1]}"
    )
    print()
    rows, met = [], True
    for page in pages:
        p95 = percentile_ms(page.wall_ns, 0.95)
        ok = p95 < TARGET_P95_MS
        met &= ok
        rows.append(
            (
                page.name,
                f"{len(page.wall_ns)}",
                f"{percentile_ms(page.wall_ns, 0.50):.1f}",
                f"{p95:.1f}",
                f"{percentile_ms(page.wall_ns, 0.99):.1f}",
                f"{statistics.mean(page.statements):g}",
                f"{percentile_ms(page.raw_ns, 0.50):.1f}",
                f"{percentile_ms(page.raw_ns, 0.95):.1f}",
                f"{percentile_ms(page.wall_ns, 0.5) / percentile_ms(page.raw_ns, 0.5):.1f}x",
                "met" if ok else "MISSED",
            )
        )
    print_table(
        (
            "page",
            "requests",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "SQL/req",
            "raw p50",
            "raw p95",
            "p50/raw",
            f"p95<{TARGET_P95_MS:.0f}",
        ),
        rows,
        left=1,
    )
    print()
    print("raw: the same SQL statements the page sent, replayed on a psycopg2 cursor (autocommit).")
    return met
