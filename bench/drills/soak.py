"""The soak: a mixed load on the private stack for `--minutes`, then latency per
endpoint, the error count and each process's memory at the start and the end.

    python -m bench.drills.soak                  # 10 minutes
    python -m bench.drills.soak --minutes 3

The mix, all at once, each kind in its own threads (closed loops with
`--think` seconds between requests):

- integrators (API key, Idempotency-Key on every POST): an order, a refund
  case on it, then approve and complete (6 in 10), approve only (2 in 10),
  reject (1 in 10) or leave it pending; a read of the case and of the list;
- vendor users in the portal (a session per vendor owner): dashboard, case
  list, a case of theirs, inbox, statements, receivables, payouts;
- staff: the dashboard (session), the tax report, accrued refunds, vendor and
  customer aging, the trial balance, the journal and Xero credit-note CSV
  exports (API key);
- every `--recon-every` seconds a reconciliation run: payouts to a few
  vendors (record_payout), a bank statement CSV paying them, then
  `manage.py import_bank_statement` and `manage.py reconcile` as the
  operators run them (timed as a whole, with the lines matched).

At the end it waits for the outbox to drain and runs `check_ledger`. Exit
status 1 on any error or finding. docs/drills.md shows a run.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import requests

from bench.common import load_average, print_table
from bench.drills.client import ApiClient, Totals, session_login, timed_get
from bench.drills.figures import Recorder
from bench.drills.outcome import drill_main, drill_stack, print_check, print_memory, say, verdict
from bench.drills.seed import (
    STAFF_PASSWORD,
    STAFF_USERNAME,
    VENDOR_PASSWORD,
    case_body,
    order_body,
    seed,
)
from bench.drills.stack import DrillError, Stack, close_django_connections

BANK_ACCOUNT = "Drill EUR"
IBAN = "DE02120300000000202051"


@dataclass
class Shared:
    """What the threads learn from each other: the cases opened, per vendor."""

    stop: threading.Event = field(default_factory=threading.Event)
    cases_by_vendor: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    orders: int = 0

    def add_case(self, case_id: str, vendors: Sequence[str]) -> None:
        with self.lock:
            for vendor in vendors:
                self.cases_by_vendor.setdefault(vendor, []).append(case_id)

    def some_case(self, vendor: str, rng: random.Random) -> str | None:
        with self.lock:
            cases = self.cases_by_vendor.get(vendor)
            return rng.choice(cases[-200:]) if cases else None


def pause(shared: Shared, seconds: float) -> None:
    shared.stop.wait(seconds)


# ---------------------------------------------------------------- integrators


def integrator(
    number: int,
    base: str,
    key: str,
    vendors: list[str],
    shared: Shared,
    recorder: Recorder,
    totals: Totals,
    think: float,
    run: str,
) -> None:
    rng = random.Random(number)
    client = ApiClient(base, key, totals, recorder, max_seconds=60)
    index = number * 1_000_000
    while not shared.stop.is_set():
        index += 1
        order_number = f"SOAK-{run}-{index}"
        order = client.post(
            "/api/v1/orders/",
            order_body(order_number, index, vendors),
            f"{order_number}/order",
            "POST /api/v1/orders/",
        )
        if order is None:
            pause(shared, think)
            continue
        with shared.lock:
            shared.orders += 1
        pause(shared, think)
        case = client.post(
            "/api/v1/refund-cases/",
            case_body(order_number, order, "soak"),
            f"{order_number}/case",
            "POST /api/v1/refund-cases/",
        )
        if case is None:
            continue
        case_id = case["case_id"]
        shared.add_case(case_id, [line["vendor"] for line in order["lines"][:1]])
        path = f"/api/v1/refund-cases/{case_id}/"
        pause(shared, think)
        client.get(path, "GET /api/v1/refund-cases/{id}/")
        fate = rng.random()
        if fate < 0.8:
            pause(shared, think)
            client.post(
                path + "approve/",
                {"note": ""},
                f"{order_number}/approve",
                "POST /api/v1/refund-cases/{id}/approve/",
            )
            if fate < 0.6:
                pause(shared, think)
                client.post(
                    path + "complete/",
                    {"gateway_reference": f"re_{order_number}"},
                    f"{order_number}/complete",
                    "POST /api/v1/refund-cases/{id}/complete/",
                )
        elif fate < 0.9:
            pause(shared, think)
            client.post(
                path + "reject/",
                {"reason": "not eligible"},
                f"{order_number}/reject",
                "POST /api/v1/refund-cases/{id}/reject/",
            )
        if rng.random() < 0.3:
            pause(shared, think)
            client.get("/api/v1/refund-cases/?status=pending", "GET /api/v1/refund-cases/?status=")
        pause(shared, think)


# ---------------------------------------------------------------- portal


PORTAL_PAGES = (
    ("/portal/", "GET /portal/"),
    ("/portal/cases/", "GET /portal/cases/"),
    ("/portal/cases/?status=pending", "GET /portal/cases/?status="),
    ("/portal/inbox/", "GET /portal/inbox/"),
    ("/portal/statements/", "GET /portal/statements/"),
    ("/portal/receivables/", "GET /portal/receivables/"),
    ("/portal/payouts/", "GET /portal/payouts/"),
)


def portal_user(
    number: int,
    base: str,
    users: dict[str, str],
    shared: Shared,
    recorder: Recorder,
    think: float,
) -> None:
    rng = random.Random(1000 + number)
    sessions = {
        vendor: session_login(base, "/portal/login/", username, VENDOR_PASSWORD)
        for vendor, username in users.items()
    }
    vendors = sorted(sessions)
    while not shared.stop.is_set():
        vendor = rng.choice(vendors)
        session = sessions[vendor]
        path, label = rng.choice(PORTAL_PAGES)
        timed_get(session, base + path, label, recorder)
        pause(shared, think)
        case_id = shared.some_case(vendor, rng)
        if case_id is not None:
            timed_get(
                session, f"{base}/portal/cases/{case_id}/", "GET /portal/cases/{id}/", recorder
            )
        pause(shared, think)


# ---------------------------------------------------------------- staff


def staff_user(base: str, key: str, shared: Shared, recorder: Recorder, think: float) -> None:
    rng = random.Random(7)
    session = session_login(base, "/admin/login/", STAFF_USERNAME, STAFF_PASSWORD)
    api = requests.Session()
    api.headers.update({"Authorization": f"Token {key}"})
    today = date.today()
    month = today.replace(day=1)
    reads = [
        (session, "/staff/", "GET /staff/ (dashboard)"),
        (
            api,
            f"/api/v1/reports/tax/?date_from={month}&date_to={today}&convert=false",
            "GET /api/v1/reports/tax/",
        ),
        (
            api,
            f"/api/v1/reports/accrued-refunds/?at={today}&convert=false",
            "GET /api/v1/reports/accrued-refunds/",
        ),
        (
            api,
            f"/api/v1/reports/vendor-aging/?at={today}&convert=false",
            "GET /api/v1/reports/vendor-aging/",
        ),
        (
            api,
            f"/api/v1/reports/customer-aging/?at={today}&convert=false",
            "GET /api/v1/reports/customer-aging/",
        ),
        (api, "/api/v1/trial-balance/?currency=EUR", "GET /api/v1/trial-balance/"),
        (
            api,
            f"/api/v1/exports/journals/?date_from={month}&date_to={today}",
            "GET /api/v1/exports/journals/ (CSV)",
        ),
        (
            api,
            f"/api/v1/exports/xero-credit-notes/?date_from={month}&date_to={today}",
            "GET /api/v1/exports/xero-credit-notes/ (CSV)",
        ),
    ]
    while not shared.stop.is_set():
        who, path, label = rng.choice(reads)
        timed_get(who, base + path, label, recorder)
        pause(shared, think * 4)


# ---------------------------------------------------------------- reconciliation


def prepare_bank_account() -> None:
    from cash.models import BankAccount, CsvMapping
    from ledger.models import Account, AccountRole

    bank = Account.objects.filter(role=AccountRole.BANK).order_by("code").first()
    if bank is None:
        raise DrillError("no bank account in the chart after migrate")
    mapping = CsvMapping.objects.create(
        name="Drill bank CSV",
        booking_date_column="booked",
        value_date_column="value",
        amount_column="amount",
        counterparty_column="counterparty",
        remittance_column="text",
        reference_column="id",
    )
    BankAccount.objects.create(
        name=BANK_ACCOUNT,
        iban=IBAN,
        currency="EUR",
        ledger_account=bank,
        csv_mapping=mapping,
    )


def reconciliation_run(
    stack: Stack,
    directory: Path,
    number: int,
    vendors: list[str],
    payouts: int,
    recorder: Recorder,
) -> tuple[int, int, str]:
    """Payouts, a statement paying them, import and reconcile; returns
    (payouts, lines matched now in all, reconcile's summary)."""
    from django.db import OperationalError

    from ledger.posting import PostedBy, record_payout
    from vendors.models import Vendor

    today = date.today()
    rows = []
    by_code = {v.code: v for v in Vendor.objects.filter(code__in=vendors)}
    for index in range(payouts):
        code = vendors[index % len(vendors)]
        amount = Decimal(10 + (number * 7 + index * 3) % 90) + Decimal("0.25")
        reference = f"PO-SOAK-{number:03d}-{index:03d}"
        for attempt in (1, 2, 3):
            before = time.perf_counter_ns()
            try:
                record_payout(
                    vendor=by_code[code],
                    amount=amount,
                    currency="EUR",
                    paid_on=today,
                    reference=reference,
                    advance=True,
                    posted_by=PostedBy("drill"),
                )
            except OperationalError as error:
                # Counted as an error of the run, and tried again as an operator would.
                recorder.record(
                    "record_payout", time.perf_counter_ns() - before, None, False, str(error)
                )
                close_django_connections()
                if attempt == 3:
                    raise
            else:
                recorder.record("record_payout", time.perf_counter_ns() - before, None, True)
                break
        rows.append((f"B{number:03d}{index:04d}", -amount, code, f"Payout {reference}"))
    close_django_connections()
    path = directory / f"statement-{number:03d}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "booked", "value", "amount", "counterparty", "text"])
        for bank_id, amount, counterparty, text in rows:
            writer.writerow([bank_id, today, today, f"{amount:.2f}", counterparty, text])
    imported = stack.manage("import_bank_statement", str(path), "--account", BANK_ACCOUNT)
    if imported.returncode:
        raise RuntimeError(f"import_bank_statement: {imported.stdout}{imported.stderr}")
    reconciled = stack.manage("reconcile", "--account", BANK_ACCOUNT)
    if reconciled.returncode:
        raise RuntimeError(f"reconcile: {reconciled.stdout}{reconciled.stderr}")
    # "run N: ... matched M lines (...), ..." then "lines now: matched T, ...".
    output = reconciled.stdout.strip().splitlines()
    summary = "; ".join(output)
    matched = 0
    if output and "matched " in output[-1]:
        matched = int(output[-1].split("matched ", 1)[1].split()[0].rstrip(","))
    return payouts, matched, summary


def reconciler(
    stack: Stack,
    vendors: list[str],
    shared: Shared,
    recorder: Recorder,
    every: float,
    payouts: int,
    runs: list[str],
) -> None:
    number = 0
    paid_in_all = 0
    pause(shared, min(30.0, every))
    while not shared.stop.is_set():
        number += 1
        before = time.perf_counter_ns()
        try:
            paid, matched, summary = reconciliation_run(
                stack, stack.directory, number, vendors, payouts, recorder
            )
        except Exception as error:  # reported as an error of the run
            recorder.record(
                "reconciliation run", time.perf_counter_ns() - before, None, False, str(error)
            )
            close_django_connections()
        else:
            # Every line of every statement so far pays one payout by its reference.
            paid_in_all += paid
            ok = matched == paid_in_all
            recorder.record(
                "reconciliation run",
                time.perf_counter_ns() - before,
                None,
                ok,
                f"{matched} lines matched of {paid_in_all}",
            )
            runs.append(f"run {number}: {paid} payouts; {summary}")
        pause(shared, every)


# ---------------------------------------------------------------- the run


@dataclass
class SoakRun:
    """What a soak saw, for its report."""

    recorder: Recorder
    totals: Totals
    shared: Shared
    elapsed: float
    loads: list[float]
    memory_start: dict
    memory_end: dict
    series: list[tuple[float, dict]]
    recon_runs: list[str]
    backlog: dict
    drain_seconds: float
    ledger: subprocess.CompletedProcess
    crashes: list[str]


def run(args: argparse.Namespace) -> int:
    run_tag = datetime.now(UTC).strftime("%H%M%S")
    recorder = Recorder()
    totals = Totals()
    shared = Shared()
    recon_runs: list[str] = []
    with drill_stack("splitledger_soak", args) as stack:
        seeded = seed(args.vendors, vendor_users=True)
        prepare_bank_account()
        close_django_connections()
        base = f"http://127.0.0.1:{stack.web_port}"
        threads: list[threading.Thread] = []

        def spawn(target: Callable, *arguments: object) -> None:
            thread = threading.Thread(target=guarded, args=(target, *arguments), daemon=True)
            threads.append(thread)

        crashes: list[str] = []

        def guarded(target: Callable, *arguments: object) -> None:
            try:
                target(*arguments)
            except Exception as error:
                crashes.append(f"{target.__name__}: {type(error).__name__}: {error}")
                say(f"a {target.__name__} thread stopped: {error}")

        for number in range(args.integrators):
            spawn(
                integrator,
                number,
                base,
                seeded.key,
                seeded.vendors,
                shared,
                recorder,
                totals,
                args.think,
                run_tag,
            )
        users = sorted(seeded.vendor_users.items())
        for number in range(args.portal_users):
            mine = dict(users[number :: args.portal_users])
            spawn(portal_user, number, base, mine, shared, recorder, args.think)
        for _ in range(args.staff):
            spawn(staff_user, base, seeded.key, shared, recorder, args.think)
        spawn(
            reconciler,
            stack,
            seeded.vendors,
            shared,
            recorder,
            args.recon_every,
            args.payouts,
            recon_runs,
        )
        say(
            f"soak: {args.minutes:g} minutes; {args.integrators} integrators, "
            f"{args.portal_users} portal users ({len(users)} vendor logins), {args.staff} staff, "
            f"a reconciliation run every {args.recon_every:g} s; think {args.think:g} s"
        )
        loads = [os.getloadavg()[0]]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        deadline = started + args.minutes * 60
        memory_start: dict = {}
        series: list[tuple[float, dict]] = []
        next_report = started + 30
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= next_report:
                snapshot = stack.memory()
                if not memory_start:
                    memory_start = snapshot
                series.append((time.monotonic() - started, snapshot))
                loads.append(os.getloadavg()[0])
                say(
                    f"{(time.monotonic() - started) / 60:4.1f} min: "
                    f"{recorder.total_requests:,} requests, {recorder.total_errors} errors, "
                    f"{shared.orders:,} orders; RSS MiB gunicorn workers "
                    f"{sum(snapshot.get('gunicorn worker', [])) / 1024:.0f}, celery pool "
                    f"{sum(snapshot.get('celery worker (pool)', [])) / 1024:.0f}, postgres backends "
                    f"{sum(snapshot.get('postgres backend', [])) / 1024:.0f}; load {loads[-1]:.1f}"
                )
                next_report += 60
        memory_end = stack.memory()
        shared.stop.set()
        for thread in threads:
            thread.join(timeout=120)
        elapsed = time.monotonic() - started
        loads.append(os.getloadavg()[0])
        say("load stopped; waiting for the outbox to drain")
        from bench.drills.faults import wait_for_outbox

        drain_seconds, backlog = wait_for_outbox(args.drain_timeout, stack, say)
        close_django_connections()
        ledger = stack.manage("check_ledger")
    return report(
        args,
        SoakRun(
            recorder=recorder,
            totals=totals,
            shared=shared,
            elapsed=elapsed,
            loads=loads,
            memory_start=memory_start,
            memory_end=memory_end,
            series=series,
            recon_runs=recon_runs,
            backlog=backlog,
            drain_seconds=drain_seconds,
            ledger=ledger,
            crashes=crashes,
        ),
    )


def report(args: argparse.Namespace, seen: SoakRun) -> int:
    print()
    print(
        f"bench.drills.soak, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {seen.elapsed / 60:.1f} minutes; "
        f"{args.integrators} integrators, {args.portal_users} portal users, {args.staff} staff, "
        f"reconciliation every {args.recon_every:g} s; gunicorn {args.web_workers} gthread "
        f"workers of 4 threads, Celery prefork {args.celery_concurrency}; {os.cpu_count()} CPUs"
    )
    print(
        f"load average (1 min), min / median / max over the run: {min(seen.loads):.1f} / "
        f"{sorted(seen.loads)[len(seen.loads) // 2]:.1f} / {max(seen.loads):.1f}; now {load_average()}"
    )
    print()
    print_table(
        ("endpoint", "requests", "p50 ms", "p99 ms", "max ms", "errors", "resets"),
        seen.recorder.rows(),
        left=1,
    )
    print()
    rate = seen.recorder.total_requests / seen.elapsed if seen.elapsed else 0
    print(
        f"requests: {seen.recorder.total_requests:,} ({rate:.1f}/s); errors: {seen.recorder.total_errors}; "
        f"orders written: {seen.shared.orders:,}; integrator retries: {seen.totals.retries}; "
        f"connection resets sent again: {seen.recorder.total_resets}"
    )
    for sample in seen.recorder.error_samples[:10]:
        print(f"  error: {sample[:240]}")
    for run_line in seen.recon_runs:
        print(f"  reconciliation {run_line}")
    print()
    print_memory("memory (RSS MiB), 30 s in and at the end:", seen.memory_start, seen.memory_end)
    if seen.series:
        print()
        print("RSS MiB per minute (total per role):")
        roles = ("gunicorn worker", "celery worker (pool)", "celery beat", "postgres backend")
        print_table(
            ("minute", *roles),
            [
                (
                    f"{seconds / 60:.1f}",
                    *(f"{sum(snapshot.get(role, [])) / 1024:.0f}" for role in roles),
                )
                for seconds, snapshot in seen.series
            ],
            left=0,
        )
    print()
    print(
        f"outbox backlog: {seen.backlog or '0 (empty)'}, {seen.drain_seconds:.0f} s after the load"
    )
    ledger_clean = print_check("check_ledger: ", seen.ledger)
    failures = list(seen.crashes)
    if seen.recorder.total_errors:
        failures.append(f"{seen.recorder.total_errors} errors")
    if seen.backlog:
        failures.append(f"outbox not empty: {seen.backlog}")
    if not ledger_clean:
        failures.append("check_ledger found problems")
    return verdict(failures)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.drills.soak",
        description="A mixed load on a private stack for some minutes: p50/p99 per endpoint, "
        "errors and memory per process.",
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--integrators", type=int, default=2, help="API writer threads")
    parser.add_argument("--portal-users", type=int, default=2, help="portal reader threads")
    parser.add_argument("--staff", type=int, default=1, help="staff report threads")
    parser.add_argument("--think", type=float, default=0.05, help="seconds between requests")
    parser.add_argument(
        "--recon-every", type=float, default=120, help="seconds between reconciliation runs"
    )
    parser.add_argument("--payouts", type=int, default=20, help="payouts per reconciliation run")
    parser.add_argument("--vendors", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the stack's directory")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.recon_every <= 0:
        parser.error("--minutes and --recon-every must be positive")
    if min(args.integrators, args.portal_users, args.staff, args.payouts) < 0:
        parser.error("thread and payout counts cannot be negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return drill_main(parse_args, run, argv)


if __name__ == "__main__":
    sys.exit(main())
