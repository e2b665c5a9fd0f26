"""Benchmark: a settlement statement of 100,000 entries as streamed CSV.

    .venv/bin/python -m bench.statements [--entries 100000] [--rounds 5] [--keep]

Builds one vendor's month of ledger activity on PostgreSQL: `--entries`
journals of two entries each (sales, refunds with their cases, payouts), so
the vendor's payable account has that many entries in the month. Journals and
entries go in by COPY, balanced and with their declared entry counts, and the
ledger's deferred triggers check every one of them at commit. Then it makes
the month's statement, and times:

- the CSV download: the portal's view (`StreamingHttpResponse` over
  `ledger.settlements.exports.statement_csv`), consumed to the last byte;
- a baseline: psycopg2 `COPY (<the same query>) TO STDOUT WITH CSV` of the
  same rows, i.e. the database alone producing them as CSV;

and prints seconds (best and median of `--rounds`), rows per second and the
ratio CSV / baseline, plus how long generating the statement and its PDF took.

It uses its own database, `splitledger_settlebench` on 127.0.0.1:5432 (user
postgres; `--database-url` to change it, but the name must contain "bench"),
creates it afresh and drops it at the end unless `--keep` is given. It touches
no other database (it connects to `postgres` only to create or drop its own).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg2

from bench.common import (
    backend_cpu_ns,
    database_name,
    django_backend_pid,
    drop_database,
    load_average,
    prepare_database,
    setup_django,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/splitledger_settlebench"
TARGET_SECONDS = 2.0
MONTH = date(2026, 1, 1)
VENDOR = "bench-statements"
ORDERS = 2000
CASES = 2000
PAYOUTS = 200


# ---------------------------------------------------------------- fixtures


def copy_rows(cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(copy_text(value) for value in row) + "\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def copy_text(value: object) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def build_month(entries: int) -> int:
    """One vendor's month with `entries` payable entries; returns the vendor id."""
    from django.db import connection, transaction
    from django.db.models import Max

    from ledger.models import Account, AccountBalance, AccountRole, Journal, Payout
    from ledger.posting import ensure_payable_accounts
    from refunds.models import Channel, Order, RefundCase
    from vendors.models import Vendor

    vendor = Vendor.objects.create(code=VENDOR, name="Bench statements", payout_frequency="monthly")
    payable = ensure_payable_accounts([vendor.pk])[vendor.pk]
    clearing = Account.objects.get(role=AccountRole.GATEWAY_CLEARING, payment_method="card").pk
    bank = Account.objects.filter(role=AccountRole.BANK).order_by("code").first().pk
    channel, _ = Channel.objects.get_or_create(source="bench", subsource="")
    noon = datetime.combine(MONTH, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    with transaction.atomic():
        orders = Order.objects.bulk_create(
            Order(
                number=f"BENCH-ST-{n:06d}",
                channel=channel,
                currency="EUR",
                placed_at=noon,
                net_amount=Decimal("100.00"),
                total_amount=Decimal("100.00"),
                captured_amount=Decimal("100.00"),
                refunded_amount=Decimal("10.00"),
            )
            for n in range(ORDERS)
        )
        cases = RefundCase.objects.bulk_create(
            RefundCase(
                case_id=f"RFND-20260115-{case_suffix(n)}",
                order=orders[n % ORDERS],
                currency="EUR",
                total_refund_amount=Decimal("10.00"),
                initiated_at=noon,
            )
            for n in range(CASES)
        )
        payouts = Payout.objects.bulk_create(
            Payout(
                vendor=vendor,
                currency="EUR",
                amount=Decimal("50.00"),
                reference=f"PO-BENCH-{n:04d}",
                paid_on=MONTH,
            )
            for n in range(PAYOUTS)
        )
    first_id = (Journal.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    journals, lines = [], []
    credit_total = debit_total = Decimal(0)
    counter: dict[int, list[Decimal]] = {clearing: [Decimal(0)] * 2, bank: [Decimal(0)] * 2}
    for n in range(entries):
        journal_id = first_id + n
        day = MONTH + timedelta(days=n % 31)
        order_id = case_id = payout_id = None
        if n % 20 == 0:
            kind, case = "refund", cases[(n // 20) % CASES]
            case_id, order_id = case.pk, case.order_id
            memo, amount, payable_credit, other = (
                f"Refund {case.case_id}",
                Decimal("5.00"),
                False,
                clearing,
            )
        elif n % 50 == 1:
            kind, payout = "payout", payouts[(n // 50) % PAYOUTS]
            payout_id, memo = payout.pk, f"Payout {payout.reference}"
            amount, payable_credit, other = Decimal("50.00"), False, bank
        else:
            kind, order = "sale", orders[n % ORDERS]
            order_id, memo = order.pk, f"Sale {order.number}"
            amount, payable_credit, other = Decimal("10.00") + n % 7, True, clearing
        key = f"bench:{journal_id}"
        journals.append(
            (
                journal_id,
                key,
                kind,
                "EUR",
                day,
                memo,
                order_id,
                case_id,
                payout_id,
                2,
                noon,
                "bench",
            )
        )
        if payable_credit:
            lines.append((journal_id, day, payable, "EUR", 0, amount, kind))
            lines.append((journal_id, day, other, "EUR", amount, 0, kind))
            credit_total += amount
            counter[other][0] += amount
        else:
            lines.append((journal_id, day, payable, "EUR", amount, 0, kind))
            lines.append((journal_id, day, other, "EUR", 0, amount, kind))
            debit_total += amount
            counter[other][1] += amount
    with transaction.atomic(), connection.cursor() as cursor:
        copy_rows(
            cursor.cursor,
            "ledger_journal",
            [
                "id",
                "posting_key",
                "kind",
                "currency",
                "date",
                "memo",
                "order_id",
                "case_id",
                "payout_id",
                "entry_count",
                "created_at",
                "posted_by_process",
            ],
            journals,
        )
        copy_rows(
            cursor.cursor,
            "ledger_entry",
            ["journal_id", "date", "account_id", "currency", "debit", "credit", "label"],
            lines,
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('ledger_journal', 'id'), %s)",
            [first_id + entries],
        )
        # The balances posting maintains, as it would have left them.
        for account_id, (debit, credit) in [
            (payable, [debit_total, credit_total]),
            *counter.items(),
        ]:
            AccountBalance.objects.update_or_create(
                account_id=account_id, currency="EUR", defaults={"debit": debit, "credit": credit}
            )
    with connection.cursor() as cursor:
        # As autovacuum would after a month of postings: plans need statistics.
        cursor.execute("ANALYZE")
    return vendor.pk


ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def case_suffix(n: int) -> str:
    digits = []
    for _ in range(6):
        n, digit = divmod(n, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(digits)


# ---------------------------------------------------------------- measuring


@dataclass
class Timing:
    """Wall seconds, and the CPU seconds of this process and of the database
    backend serving it: on a busy machine wall time waits for CPUs, CPU time
    does not."""

    wall: list[float] = field(default_factory=list)
    client_cpu: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)
    size: int = 0

    @property
    def cpu(self) -> list[float]:
        """Client plus database CPU per round (empty if the backend's is unknown)."""
        if len(self.server_cpu) != len(self.client_cpu):
            return []
        return [c + s for c, s in zip(self.client_cpu, self.server_cpu, strict=True)]

    def line(self, label: str, rows: int) -> str:
        wall = statistics.median(self.wall)
        text = (
            f"  {label:<22}best {min(self.wall):.3f} s  median {wall:.3f} s  "
            f"{rows / wall:,.0f} rows/s  ({self.size / 1e6:.1f} MB)"
        )
        if self.cpu:
            cpu = statistics.median(self.cpu)
            text += (
                f"\n  {'':<22}CPU: client {statistics.median(self.client_cpu):.3f} s + database "
                f"{statistics.median(self.server_cpu):.3f} s = {cpu:.3f} s"
            )
        return text


def timed(action: Callable[[], int], rounds: int, pid: Callable[[], int | None]) -> Timing:
    timing = Timing()
    for _ in range(rounds):
        server = backend_cpu_ns(pid())
        client = time.process_time()
        started = time.perf_counter()
        timing.size = action()
        timing.wall.append(time.perf_counter() - started)
        timing.client_cpu.append(time.process_time() - client)
        after = backend_cpu_ns(pid())
        if server is not None and after is not None:
            timing.server_cpu.append((after - server) / 1e9)
    return timing


def csv_through_view(statement_id: int, user) -> Callable[[], int]:
    from django.test import RequestFactory

    from portal.settlement_views import statement_csv_download

    def download() -> int:
        request = RequestFactory().get(f"/portal/statements/{statement_id}/csv/")
        request.user = user
        request.session = {}
        response = statement_csv_download(request, statement_id=statement_id)
        assert response.status_code == 200, response.status_code
        # Not closed: closing ends the request, which closes the database
        # connection whose CPU time is being read.
        return sum(len(chunk) for chunk in response.streaming_content)

    return download


def csv_by_copy(url: str, statement) -> tuple[Callable[[], int], int]:
    from ledger.settlements import LINE_FIELDS, statement_entries

    query, params = statement_entries(statement).values_list(*LINE_FIELDS).query.sql_with_params()
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        copy = cur.mogrify(f"COPY ({query}) TO STDOUT WITH CSV HEADER", params).decode()

    def download() -> int:
        sink = io.BytesIO()
        with conn.cursor() as cur:
            cur.copy_expert(copy, sink)
        conn.rollback()
        return sink.tell()

    return download, conn.get_backend_pid()


def run(args: argparse.Namespace) -> int:
    url = args.database_url
    if "bench" not in database_name(url):
        raise SystemExit("The benchmark database's name must contain 'bench'.")
    if not args.reuse:
        prepare_database(url, recreate=True)
    try:
        setup_django(url, "bench.statements")
        return measure(args, url)
    finally:
        if not args.keep:
            drop_database(url)


def measure(args: argparse.Namespace, url: str) -> int:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from ledger.models import SettlementStatement
    from ledger.settlements import generate_due_statements
    from ledger.settlements.exports import statement_pdf
    from vendors.models import VendorMembership

    kept = SettlementStatement.objects.filter(vendor__code=VENDOR, period_start=MONTH).first()
    if args.reuse and kept is not None:
        # A kept database: the month, its statement and the user are there.
        statement, generated = kept, float("nan")
        user = get_user_model().objects.get(username=VENDOR)
        print(f"reusing {statement.entry_count:,} entries in {database_name(url)}")
    else:
        started = time.perf_counter()
        vendor_id = build_month(args.entries)
        loaded = time.perf_counter() - started
        print(f"loaded {args.entries:,} journals ({2 * args.entries:,} entries) in {loaded:.1f} s")
        started = time.perf_counter()
        result = generate_due_statements(
            MONTH + timedelta(days=40), vendor_ids=[vendor_id], cutoff=timezone.now()
        )
        generated = time.perf_counter() - started
        [statement] = [s for s in result.statements if s.period_start == MONTH]
        assert statement.entry_count == args.entries, statement.entry_count
        user = get_user_model().objects.create_user(VENDOR)
        VendorMembership.objects.create(user=user, vendor_id=vendor_id, role="owner")

    view_timing, copy_timing = time_csv(url, statement, user, args.rounds)
    pdf_timing = timed(lambda: len(statement_pdf(statement)), 1, django_backend_pid)

    load = load_average(sep=" / ")
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"load average during the run: {load}")
    if generated == generated:  # not NaN: made in this run
        print(f"statement generated (one vendor, one month) in {generated * 1000:.0f} ms")
    met = report_csv(statement, view_timing, copy_timing)
    print(f"PDF (first 1,000 lines) {pdf_timing.wall[0]:.2f} s, {pdf_timing.size / 1e3:.0f} kB")
    print(f"target: CSV under {TARGET_SECONDS:.0f} s (median wall): {'met' if met else 'NOT met'}")
    return 0 if met else 1


def time_csv(url: str, statement, user, rounds: int) -> tuple[Timing, Timing]:
    """The statement's CSV through the portal's view and, as the baseline, by
    COPY TO of the same query: `rounds` downloads each, interleaved."""
    copy, copy_pid = csv_by_copy(url, statement)
    view = csv_through_view(statement.pk, user)
    view_timing, copy_timing = Timing(), Timing()
    for _ in range(rounds):  # interleaved: both sides see the same load
        merge(view_timing, timed(view, 1, django_backend_pid))
        merge(copy_timing, timed(copy, 1, lambda: copy_pid))
    return view_timing, copy_timing


def report_csv(statement, view_timing: Timing, copy_timing: Timing) -> bool:
    """Print the two sides and their ratio; True if the view met TARGET_SECONDS."""
    rows = statement.entry_count + 3  # header, opening and closing rows
    print(f"CSV of {statement.entry_count:,} entries, {len(view_timing.wall)} rounds each:")
    print(view_timing.line("view, streamed", rows))
    print(copy_timing.line("baseline COPY TO", rows))
    median = statistics.median(view_timing.wall)
    ratio = median / statistics.median(copy_timing.wall)
    print(f"  ratio view / baseline {ratio:.1f}x (median wall)")
    if view_timing.cpu and copy_timing.cpu:
        cpu_ratio = statistics.median(view_timing.cpu) / statistics.median(copy_timing.cpu)
        print(f"  ratio view / baseline {cpu_ratio:.1f}x (median CPU, client + database)")
    return median < TARGET_SECONDS


def merge(total: Timing, one: Timing) -> None:
    total.wall += one.wall
    total.client_cpu += one.client_cpu
    total.server_cpu += one.server_cpu
    total.size = one.size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.statements",
        description="Time a 100,000-entry settlement statement as streamed CSV against COPY.",
    )
    parser.add_argument("--entries", type=int, default=100_000, help="payable entries")
    parser.add_argument("--rounds", type=int, default=5, help="timed downloads per side")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="use a database kept by --keep (implies --keep)"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    args.keep = args.keep or args.reuse
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
