"""Benchmark: posting journals, draining the outbox and reading balances, against raw SQL.

    .venv/bin/python -m bench.ledger [--only a,b,c] [--reuse] [--recreate] [...]

Three parts, each beside a raw psycopg2 baseline that writes (or reads) the same
rows in the same run, on its own connection, interleaved with the measured side:

(a) post: journals of five entries (Dr gateway clearing; Cr two vendor payables,
    commission income, output tax) posted one per transaction with
    `ledger.posting.post_one`, against hand-written transactions: INSERT journal
    RETURNING id, INSERT the five entries (one statement), the balance upsert
    posting uses, COMMIT. The ledger's deferred triggers run at both COMMITs.
    Target: ratio >= 0.5.
(b) drain: a backlog of 100,000 `order.paid` outbox messages for the ledger
    consumer, drained by `refunds.outbox.drain("ledger")` in batches of 500,
    1000 and 2000, against execute_values writing the same journals, entries
    and balance upserts and deleting the same number of outbox rows, batch by
    batch (a baseline that writes only: no claim, no reads). Target: ratio >= 0.3.
(c) read: `ledger.selectors.account_balance` with ledger_entry holding at least
    10,000,000 rows, against a raw SELECT of the balance row by its key, and the
    sum of the account's entries for context. Target: under 1 ms.

It uses its own database (default `splitledger_ledgerbench` on 127.0.0.1:5432,
user postgres; `--database-url` or DATABASE_URL to change it, but the name must
contain "bench"), creates it if missing and migrates it; `--recreate` drops and
creates it first. Nothing is deleted otherwise: the 10 million entries of (c)
stay for the next run, which only tops them up (or, with --reuse, uses the
table as it is). See docs/bench_ledger.md.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import psycopg2
import psycopg2.extensions
from psycopg2.extras import execute_values

from bench.common import (
    SERVER_SETTINGS,
    add_database_arguments,
    backend_cpu_ns,
    check_database_url,
    django_backend_pid,
    load_average,
    open_database,
    percentile_ms,
    print_table,
    ratios,
    server_facts,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/splitledger_ledgerbench"
CURRENCY = "EUR"
VENDOR_COUNT = 50
VENDOR_PREFIX = "lbench-v"
# The baseline of (b) drains its own copy of the backlog, kept apart from the
# ledger consumer's by this consumer name, and writes its journals under keys
# with this prefix (the service's are `sale:<order id>`).
RAW_CONSUMER = "bench-raw-ledger"
RAW_KEY_PREFIX = "bench-raw:"
FILL_KEY_PREFIX = "bench-fill:"
FILL_ENTRIES_PER_JOURNAL = 5

TARGET_POST_RATIO = 0.5
TARGET_DRAIN_RATIO = 0.3
TARGET_READ_MS = 1.0


# ---------------------------------------------------------------- the database


def raw_connection(url: str, *, autocommit: bool = False) -> ProbedConnection:
    conn = psycopg2.connect(
        url,
        options="-c timezone=UTC",
        connection_factory=ProbedConnection,
        cursor_factory=ProbedCursor,
    )
    conn.autocommit = autocommit
    return conn


# ---------------------------------------------------------------- measuring


TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)', re.IGNORECASE)


def statement_label(query: str) -> str:
    """`SELECT ledger_journal`, `INSERT ledger_entry`, `SAVEPOINT`, `COMMIT`, ..."""
    kind = query.lstrip().split(None, 1)[0].upper()
    if kind in ("SELECT", "INSERT", "UPDATE", "DELETE") and (match := TABLE.search(query)):
        return f"{kind} {match.group(1)}"
    return kind


@dataclass
class Probe:
    """Statements sent and the time spent in them, per label."""

    counts: Counter[str] = field(default_factory=Counter)
    nanoseconds: Counter[str] = field(default_factory=Counter)

    @contextmanager
    def statement(self, query: str | bytes) -> Iterator[None]:
        label = statement_label(query.decode() if isinstance(query, bytes) else query)
        started = time.perf_counter_ns()
        try:
            yield
        finally:
            self.counts[label] += 1
            self.nanoseconds[label] += time.perf_counter_ns() - started

    def merge(self, other: Probe) -> None:
        self.counts.update(other.counts)
        self.nanoseconds.update(other.nanoseconds)

    def total_ns(self) -> int:
        return self.nanoseconds.total()

    def summary(self, per: int) -> str:
        """`SELECT ledger_journal 1 (0.41 ms), INSERT ...` per unit of work."""
        return ", ".join(
            f"{label} {self.counts[label] / per:g} ({self.nanoseconds[label] / per / 1e6:.2f} ms)"
            for label in self.counts
        )


class ProbedConnection(psycopg2.extensions.connection):
    """A baseline's connection; statements go through `probe` when it is set."""

    probe: Probe | None = None


class ProbedCursor(psycopg2.extensions.cursor):
    """The baseline's cursor: every statement through the connection's probe."""

    def execute(self, query: Any, vars: Any = None) -> None:
        probe = getattr(self.connection, "probe", None)
        if probe is None:
            super().execute(query, vars)
            return
        with probe.statement(query):
            super().execute(query, vars)


def commit_raw(conn: Any) -> None:
    probe = getattr(conn, "probe", None)
    if probe is None:
        conn.commit()
        return
    with probe.statement("COMMIT"):
        conn.commit()


@contextmanager
def probing_django(probe: Probe) -> Iterator[None]:
    """Route Django's statements (SAVEPOINT, RELEASE included) and COMMIT through `probe`."""
    from django.db import connections

    conn = connections["default"]
    commit = conn.commit

    def wrapper(execute: Any, query: str, params: Any, many: bool, context: Any) -> Any:
        with probe.statement(query):
            return execute(query, params, many, context)

    def probed_commit() -> None:
        with probe.statement("COMMIT"):
            commit()

    conn.commit = probed_commit
    try:
        with conn.execute_wrapper(wrapper):
            yield
    finally:
        del conn.commit


@dataclass
class Block:
    """One timed run of a side: wall and CPU time, and per-call latencies."""

    units: int
    wall_ns: int
    client_cpu_ns: int
    server_cpu_ns: int | None
    latencies_ns: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.units / (self.wall_ns / 1e9)


def timed(
    calls: Sequence[Callable[[], int]], server_pid: int | None, *, latencies: bool = True
) -> Block:
    """Run `calls` back to back; each returns how many units of work it did."""
    gc.collect()
    clock = time.perf_counter_ns
    server = backend_cpu_ns(server_pid)
    cpu = time.thread_time_ns()
    lat: list[int] = []
    units = 0
    started = clock()
    for call in calls:
        before = clock()
        units += call()
        if latencies:
            lat.append(clock() - before)
    wall = clock() - started
    cpu = time.thread_time_ns() - cpu
    after = backend_cpu_ns(server_pid)
    server_ns = after - server if server is not None and after is not None else None
    return Block(units, wall, cpu, server_ns, lat)


def all_latencies(blocks: Sequence[Block]) -> list[int]:
    return [value for block in blocks for value in block.latencies_ns]


def cpu_per_unit_ms(blocks: Sequence[Block]) -> tuple[float, float | None]:
    """Client CPU and database backend CPU per unit of work, in milliseconds."""
    units = sum(b.units for b in blocks)
    client = sum(b.client_cpu_ns for b in blocks) / units / 1e6
    if any(b.server_cpu_ns is None for b in blocks):
        return client, None
    return client, sum(b.server_cpu_ns or 0 for b in blocks) / units / 1e6


def cpu_ratio(side: Sequence[Block], baseline: Sequence[Block]) -> str:
    """Baseline CPU over the side's CPU per unit (client + database): what the
    wall-time ratio tends to when neither side waits for a busy machine."""
    side_cpu, baseline_cpu = cpu_per_unit_ms(side), cpu_per_unit_ms(baseline)
    if side_cpu[1] is None or baseline_cpu[1] is None:
        return "?"
    return f"{(baseline_cpu[0] + baseline_cpu[1]) / (side_cpu[0] + side_cpu[1]):.2f}"


def fmt_cpu(blocks: Sequence[Block], *, micro: bool = False) -> tuple[str, str]:
    """Client and database CPU per unit of work, as ms (3 decimals) or µs."""
    client, server = cpu_per_unit_ms(blocks)

    def cell(value: float | None) -> str:
        if value is None:
            return "?"
        return f"{value * 1000:.0f}" if micro else f"{value:.3f}"

    return cell(client), cell(server)


# ---------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class Accounts:
    clearing: int  # gateway clearing, card: in every journal here (the hot balance row)
    commission: int
    tax: int
    vendors: tuple[int, ...]
    payables: tuple[int, ...]  # payable account of each vendor, same order

    def pair(self, n: int) -> tuple[int, int]:
        """Two different payables for journal `n` (spread over all vendors)."""
        count = len(self.payables)
        first = n % count
        second = (first + 1 + n % (count - 1)) % count
        return self.payables[first], self.payables[second]


def bench_accounts() -> Accounts:
    from ledger.models import AccountRole
    from ledger.posting import Chart, ensure_payable_accounts
    from vendors.models import Vendor

    vendors = [
        Vendor.objects.get_or_create(
            code=f"{VENDOR_PREFIX}{n:02d}",
            defaults={"name": f"Ledger bench vendor {n}", "commission_rate": Decimal("0.1000")},
        )[0].pk
        for n in range(VENDOR_COUNT)
    ]
    payable = ensure_payable_accounts(vendors)
    chart = Chart()
    return Accounts(
        clearing=chart.clearing_for("card"),
        commission=chart.role(AccountRole.COMMISSION_INCOME),
        tax=chart.role(AccountRole.OUTPUT_TAX),
        vendors=tuple(vendors),
        payables=tuple(payable[v] for v in vendors),
    )


def cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


# ---------------------------------------------------------------- raw writing

INSERT_JOURNALS = """
    INSERT INTO ledger_journal (
        posting_key, kind, currency, date, memo, order_id, case_id, payout_id, reverses_id,
        entry_count, created_at
    ) VALUES %s RETURNING id
"""
INSERT_ENTRIES = (
    "INSERT INTO ledger_entry (journal_id, account_id, currency, debit, credit) VALUES %s"
)
# The statement ledger.posting._add_to_balances sends.
UPSERT_BALANCES = """
    INSERT INTO ledger_accountbalance (account_id, currency, debit, credit) VALUES %s
    ON CONFLICT (account_id, currency) DO UPDATE SET
    debit = ledger_accountbalance.debit + excluded.debit,
    credit = ledger_accountbalance.credit + excluded.credit
"""
DELETE_MESSAGES = "DELETE FROM refunds_outboxmessage WHERE id = ANY(%s)"


def write_journals(cur: Any, drafts: Sequence[Any], now: datetime) -> None:
    """The rows post_journals writes for `drafts`, in the plainest statements:
    one INSERT for all the journals (no ON CONFLICT: the keys are new), one per
    5,000 entries, one upsert per 1,000 balance rows, summed and in account
    order as posting does."""
    ids = execute_values(
        cur,
        INSERT_JOURNALS,
        [
            (
                d.posting_key, d.kind, d.currency, d.date, d.memo[:300], d.order_id, d.case_id,
                d.payout_id, d.reverses_id, len(d.lines), now,
            )
            for d in drafts
        ],
        page_size=len(drafts),
        fetch=True,
    )  # fmt: skip
    entries = []
    deltas: dict[tuple[int, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for (journal_id,), draft in zip(ids, drafts, strict=True):
        for account_id, debit, credit in draft.lines:
            entries.append((journal_id, account_id, draft.currency, debit, credit))
            delta = deltas[(account_id, draft.currency)]
            delta[0] += debit
            delta[1] += credit
    execute_values(cur, INSERT_ENTRIES, entries, page_size=5000)
    rows = [(a, c, d, cr) for (a, c), (d, cr) in sorted(deltas.items())]
    for start in range(0, len(rows), 1000):
        execute_values(cur, UPSERT_BALANCES, rows[start : start + 1000], page_size=1000)


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
    from ledger.posting import post_one

    def call() -> int:
        if post_one(draft) is None:
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
            # Rotate who goes first, so drift in the machine's load hits every side.
            shift = round_number % len(calls)
            for side_calls, blocks, pid in calls[shift:] + calls[:shift]:
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


# ---------------------------------------------------------------- (b) the outbox drain


@dataclass(frozen=True)
class Backlog:
    order_ids: tuple[int, int]  # first and last order id
    raw_messages: list[int]  # the baseline's message ids, in order


CREATE_BACKLOG = """
WITH spec AS (
    SELECT g,
           %(prefix)s || lpad(g::text, 7, '0') AS number,
           1 + g %% 3 AS q1, 10.00 + g %% 50 AS p1,
           1 + g %% 2 AS q2, 5.50 + g %% 20 AS p2,
           (%(vendors)s::bigint[])[1 + g %% %(n)s] AS v1,
           (%(vendors)s::bigint[])[1 + (g %% %(n)s + 1 + g %% (%(n)s - 1)) %% %(n)s] AS v2
    FROM generate_series(1, %(count)s) AS g
), a AS (
    SELECT spec.*,
           q1 * p1 AS n1, round(q1 * p1 * 0.20, 2) AS t1, round(q1 * p1 * 0.10, 2) AS c1,
           q2 * p2 AS n2, round(q2 * p2 * 0.07, 2) AS t2, round(q2 * p2 * 0.15, 2) AS c2
    FROM spec
), o AS (
    INSERT INTO refunds_order (
        number, channel_id, currency, customer_name, customer_email, customer_address,
        placed_at, shipping_amount, net_amount, tax_amount, total_amount, captured_amount,
        refunded_amount, refunded_shipping, created_at
    )
    SELECT number, %(channel)s, %(currency)s, '', '', '', %(now)s, 0, n1 + n2, t1 + t2,
           n1 + n2 + t1 + t2, n1 + n2 + t1 + t2, 0, 0, %(now)s
    FROM a ORDER BY g
    RETURNING id, number
), ol AS (
    INSERT INTO refunds_orderline (
        order_id, vendor_id, sku, description, quantity, unit_price, tax_rate,
        commission_rate, net_amount, tax_amount, commission_amount, refunded_quantity,
        refunded_net, refunded_tax, commission_base_refunded, commission_reversed
    )
    SELECT o.id, l.vendor_id, l.sku, '', l.q, l.p, l.rate, l.crate, l.net, l.tax, l.comm,
           0, 0, 0, 0, 0
    FROM o JOIN a USING (number)
    CROSS JOIN LATERAL (VALUES
        (a.v1, 'LBENCH-1', a.q1, a.p1, 0.20, 0.10, a.n1, a.t1, a.c1),
        (a.v2, 'LBENCH-2', a.q2, a.p2, 0.07, 0.15, a.n2, a.t2, a.c2)
    ) AS l (vendor_id, sku, q, p, rate, crate, net, tax, comm)
), pay AS (
    INSERT INTO refunds_payment (order_id, method, amount, reference, captured_at)
    SELECT o.id, 'card', a.n1 + a.n2 + a.t1 + a.t2, '', %(now)s FROM o JOIN a USING (number)
)
INSERT INTO refunds_outboxmessage (
    consumer, topic, order_id, created_at, available_at, attempts, last_error
)
SELECT c.consumer, 'order.paid', o.id, %(now)s, %(now)s, 0, ''
FROM o CROSS JOIN (VALUES (1, 'ledger'), (2, %(raw)s)) AS c (n, consumer)
ORDER BY o.id, c.n
RETURNING id, consumer, order_id
"""


def create_backlog(count: int, accounts: Accounts) -> Backlog:
    """`count` paid orders (two lines of two vendors, one card payment, no
    shipping: five-entry sale journals), each with one `order.paid` message for
    the ledger consumer and one for the baseline. Written in one statement: the
    fixture should not set off what create_order sets off."""
    from django.db import connection, transaction

    from refunds.models import Channel

    channel, _ = Channel.objects.get_or_create(source="ledger-bench", subsource="")
    now = datetime.now(UTC)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            CREATE_BACKLOG,
            {
                "prefix": f"LB-{now:%Y%m%d%H%M%S%f}-",
                "vendors": list(accounts.vendors),
                "n": len(accounts.vendors),
                "count": count,
                "channel": channel.pk,
                "currency": CURRENCY,
                "now": now,
                "raw": RAW_CONSUMER,
            },
        )
        rows = cur.fetchall()
    order_ids = [order_id for _, _, order_id in rows]
    return Backlog(
        order_ids=(min(order_ids), max(order_ids)),
        raw_messages=sorted(m for m, consumer, _ in rows if consumer == RAW_CONSUMER),
    )


class Related:
    """What sale_journal reads from a prefetched relation."""

    def __init__(self) -> None:
        self.items: list[SimpleNamespace] = []

    def all(self) -> list[SimpleNamespace]:
        return self.items


def baseline_drafts(backlog: Backlog) -> list[tuple[int, Any]]:
    """(message id, draft) for the baseline's messages, with the drafts the
    ledger consumer builds for them (its own pure rule, `sale_journal`, on the
    same rows read by hand), under the baseline's posting keys."""
    from django.db import connection

    from ledger.posting import Chart, sale_journal

    low, high = backlog.order_ids
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, order_id FROM refunds_outboxmessage WHERE id = ANY(%s) ORDER BY id",
            [backlog.raw_messages],
        )
        messages = cur.fetchall()
        cur.execute(
            "SELECT id, number, currency, placed_at, shipping_amount FROM refunds_order "
            "WHERE id BETWEEN %s AND %s",
            [low, high],
        )
        orders = {
            row[0]: SimpleNamespace(
                pk=row[0],
                number=row[1],
                currency=row[2],
                placed_at=row[3],
                shipping_amount=row[4],
                lines=Related(),
                payments=Related(),
            )
            for row in cur.fetchall()
        }
        cur.execute(
            "SELECT order_id, vendor_id, net_amount, commission_amount, tax_amount "
            "FROM refunds_orderline WHERE order_id BETWEEN %s AND %s ORDER BY order_id, id",
            [low, high],
        )
        vendor_ids = set()
        for order_id, vendor_id, net, commission, tax in cur.fetchall():
            vendor_ids.add(vendor_id)
            orders[order_id].lines.items.append(
                SimpleNamespace(
                    vendor_id=vendor_id,
                    net_amount=net,
                    commission_amount=commission,
                    tax_amount=tax,
                )
            )
        cur.execute(
            "SELECT order_id, method, amount FROM refunds_payment "
            "WHERE order_id BETWEEN %s AND %s ORDER BY order_id, captured_at, id",
            [low, high],
        )
        for order_id, method, amount in cur.fetchall():
            orders[order_id].payments.items.append(SimpleNamespace(method=method, amount=amount))
    chart = Chart(vendor_ids)
    drafts = []
    for message_id, order_id in messages:
        draft = sale_journal(orders[order_id], chart)
        draft.posting_key = RAW_KEY_PREFIX + draft.posting_key
        drafts.append((message_id, draft))
    return drafts


class RawDrain:
    """(b)'s baseline: per batch, in one transaction, the journals, entries and
    balance upserts the consumer writes, and a DELETE of the batch's messages."""

    def __init__(self, url: str, drafts: list[tuple[int, Any]], batch_size: int) -> None:
        self.conn = raw_connection(url)
        self.batches = [drafts[i : i + batch_size] for i in range(0, len(drafts), batch_size)]
        self.next = 0

    def close(self) -> None:
        self.conn.close()

    def drain(self, max_batches: int) -> int:
        done = 0
        for batch in self.batches[self.next : self.next + max_batches]:
            with self.conn.cursor() as cur:
                write_journals(cur, [draft for _, draft in batch], datetime.now(UTC))
                cur.execute(DELETE_MESSAGES, [[message_id for message_id, _ in batch]])
            commit_raw(self.conn)
            done += len(batch)
        self.next += max_batches
        return done


@dataclass
class DrainResult:
    batch_size: int
    events: int
    service: list[Block] = field(default_factory=list)
    baseline: list[Block] = field(default_factory=list)
    service_probe: Probe = field(default_factory=Probe)
    baseline_probe: Probe = field(default_factory=Probe)
    slice: int = 0
    setup_seconds: float = 0.0

    def seconds(self, blocks: Sequence[Block]) -> float:
        return sum(b.wall_ns for b in blocks) / 1e9

    def rate(self, blocks: Sequence[Block]) -> float:
        return sum(b.units for b in blocks) / self.seconds(blocks)

    @property
    def ratio(self) -> float:
        return self.rate(self.service) / self.rate(self.baseline)


def run_drain(
    args: argparse.Namespace,
    url: str,
    accounts: Accounts,
    batch_size: int,
    *,
    events: int,
) -> DrainResult:
    from django.db import connection

    from refunds.models import OutboxMessage
    from refunds.outbox import drain

    leftover = drain("ledger")  # an interrupted run's backlog would be drained with ours
    if leftover:
        print(f"  (b) drained {leftover:,} messages left by an earlier run first (untimed)")
    started = time.perf_counter()
    backlog = create_backlog(events, accounts)
    drafts = baseline_drafts(backlog)
    with connection.cursor() as cur:
        # What autovacuum would have done by now (it may be off on a bench
        # server): the prefetch queries need statistics that know about the
        # rows just added in one statement, and earlier runs' deleted outbox
        # rows should not sit in the claim's index.
        cur.execute("VACUUM (ANALYZE) refunds_outboxmessage")
        cur.execute("ANALYZE refunds_order, refunds_orderline, refunds_payment")
    setup = time.perf_counter() - started
    print(
        f"  (b) batch {batch_size}: backlog of {events:,} orders, "
        f"{2 * events:,} messages, and the baseline's drafts ready in {setup:.0f} s"
    )
    batches_per_slice = max(1, args.slice // batch_size)
    result = DrainResult(
        batch_size, events, slice=batches_per_slice * batch_size, setup_seconds=setup
    )
    raw = RawDrain(url, drafts, batch_size)
    raw.conn.probe = result.baseline_probe
    service_pid, raw_pid = django_backend_pid(), raw.conn.get_backend_pid()

    def service_call() -> int:
        return drain("ledger", batch_size=batch_size, max_batches=batches_per_slice)

    def baseline_call() -> int:
        return raw.drain(batches_per_slice)

    sides = [
        (service_call, service_pid, result.service),
        (baseline_call, raw_pid, result.baseline),
    ]
    try:
        with probing_django(result.service_probe):
            turns = math.ceil(events / result.slice)
            for turn in range(turns):
                # Alternate who goes first, so drift in the machine's load hits both sides.
                for call, pid, blocks in sides[turn % 2 :] + sides[: turn % 2]:
                    blocks.append(timed([call], pid, latencies=False))
                if turn % 5 == 4 or turn == turns - 1:
                    print(
                        f"  (b) batch {batch_size}: "
                        f"{sum(b.units for b in result.service):,}/{events:,} drained, last slice "
                        f"{result.service[-1].rate:,.0f} events/s (baseline "
                        f"{result.baseline[-1].rate:,.0f}/s)",
                        flush=True,
                    )
    finally:
        raw.close()
    done = [sum(b.units for b in blocks) for _, _, blocks in sides]
    left = OutboxMessage.objects.filter(consumer="ledger").count()
    if done != [events, events] or left:
        raise RuntimeError(f"(b) the drain and baseline did {done} of {events}, {left} left")
    problems = check_drain(backlog)
    if problems:
        raise RuntimeError("(b) consistency: " + "; ".join(problems))
    print(
        f"  (b) batch {batch_size}: service {result.rate(result.service):,.0f} "
        f"events/s, baseline {result.rate(result.baseline):,.0f} events/s, ratio "
        f"{result.ratio:.2f}; same journals and entries on both sides"
    )
    return result


def check_drain(backlog: Backlog) -> list[str]:
    """Both sides posted one journal per order, with the same entries."""
    from django.db import connection

    low, high = backlog.order_ids
    count = high - low + 1
    problems = []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FILTER (WHERE posting_key LIKE 'sale:%%'), "
            "count(*) FILTER (WHERE posting_key LIKE %s) "
            "FROM ledger_journal WHERE order_id BETWEEN %s AND %s",
            [RAW_KEY_PREFIX + "sale:%", low, high],
        )
        service, raw = cur.fetchone()
        if (service, raw) != (count, count):
            problems.append(f"{service} and {raw} journals for {count} orders")
        cur.execute(
            """
            SELECT count(*) FROM (
                SELECT j.order_id, j.date, j.memo, e.account_id, e.currency, e.debit, e.credit
                FROM ledger_journal j JOIN ledger_entry e ON e.journal_id = j.id
                WHERE j.order_id BETWEEN %s AND %s
                GROUP BY 1, 2, 3, 4, 5, 6, 7
                HAVING count(*) FILTER (WHERE j.posting_key LIKE 'sale:%%')
                    <> count(*) FILTER (WHERE j.posting_key LIKE %s)
            ) differing
            """,
            [low, high, RAW_KEY_PREFIX + "sale:%"],
        )
        if bad := cur.fetchone()[0]:
            problems.append(f"{bad} entries that only one side wrote")
        cur.execute(
            "SELECT count(*) FROM refunds_outboxmessage WHERE id = ANY(%s)", [backlog.raw_messages]
        )
        if left := cur.fetchone()[0]:
            problems.append(f"{left} of the baseline's messages left")
    return problems


def report_drain(results: Sequence[DrainResult]) -> float:
    print()
    first = results[0]
    print(
        "(b) Draining a backlog of order.paid messages with refunds.outbox.drain('ledger'), "
        f"in slices of --slice events alternating with the baseline's ({first.events:,} events "
        "at the first batch size)"
    )
    rows = []
    for r in results:
        service_client, service_db = fmt_cpu(r.service, micro=True)
        base_client, base_db = fmt_cpu(r.baseline, micro=True)
        slice_rates = [b.rate for b in r.service]
        rows.append(
            (
                f"{r.batch_size}",
                f"{r.events:,}",
                f"{r.seconds(r.service):.1f}",
                f"{r.rate(r.service):,.0f}",
                f"{min(slice_rates):,.0f}-{max(slice_rates):,.0f}",
                f"{r.seconds(r.baseline):.1f}",
                f"{r.rate(r.baseline):,.0f}",
                f"{r.ratio:.2f}",
                f"{service_client}/{service_db}",
                f"{base_client}/{base_db}",
                cpu_ratio(r.service, r.baseline),
            )
        )
    print_table(
        (
            "batch",
            "events",
            "drain s",
            "events/s",
            "slices events/s",
            "baseline s",
            "baseline events/s",
            "ratio",
            "drain CPU µs/ev client/db",
            "baseline CPU µs/ev client/db",
            "CPU ratio",
        ),
        rows,
        left=1,
    )
    print(
        "events/s: events over the summed wall time of the side's slices; slices: the slowest "
        "and fastest slice; ratio: drain events/s over baseline events/s; CPU ratio: baseline "
        "CPU / drain CPU per event, client + database"
    )
    worst = min(r.ratio for r in results)
    print(
        f"target ratio >= {TARGET_DRAIN_RATIO}: {'met' if worst >= TARGET_DRAIN_RATIO else 'MISSED'}"
        f" (lowest {worst:.2f}, at batch sizes {', '.join(str(r.batch_size) for r in results)})"
    )
    for r in results:
        batches = math.ceil(r.events / r.batch_size)
        wall = r.seconds(r.service) * 1e9
        in_statements = r.service_probe.total_ns()
        print(f"  batch {r.batch_size}: per batch, service: {r.service_probe.summary(batches)}")
        print(
            f"    service time in statements {in_statements / wall:.0%} (COMMIT "
            f"{r.service_probe.nanoseconds['COMMIT'] / wall:.0%}), in Python "
            f"{1 - in_statements / wall:.0%}; baseline per batch: "
            f"{r.baseline_probe.summary(batches)}"
        )
    return worst


# ---------------------------------------------------------------- (c) balance reads


FILL_CHUNK = """
WITH j AS (
    INSERT INTO ledger_journal (posting_key, kind, currency, date, memo, entry_count, created_at)
    SELECT %(prefix)s || g, 'sale', %(currency)s, DATE '2025-01-01' + g %% 365, '', 5, now()
    FROM generate_series(%(start)s, %(stop)s) AS g
    RETURNING id
), e AS (
    INSERT INTO ledger_entry (journal_id, account_id, currency, debit, credit)
    SELECT j.id, l.account_id, %(currency)s, l.debit, l.credit
    FROM j
    CROSS JOIN LATERAL (
        SELECT 10.00 + j.id %% 9000 / 100.0 AS a, 5.50 + j.id * 37 %% 4000 / 100.0 AS b,
               1.00 + j.id %% 700 / 100.0 AS c, 2.00 + j.id * 13 %% 900 / 100.0 AS t,
               (%(payables)s::bigint[])[1 + j.id %% %(n)s] AS pa,
               (%(payables)s::bigint[])[1 + (j.id %% %(n)s + 1 + j.id %% (%(n)s - 1)) %% %(n)s]
                   AS pb
    ) AS x
    CROSS JOIN LATERAL (VALUES
        (%(clearing)s::bigint, x.a + x.b + x.c + x.t, 0),
        (x.pa, 0, x.a),
        (x.pb, 0, x.b),
        (%(commission)s::bigint, 0, x.c),
        (%(tax)s::bigint, 0, x.t)
    ) AS l (account_id, debit, credit)
    ORDER BY j.id
)
SELECT min(id), max(id), count(*) FROM j
"""
# The invariants the ledger's deferred trigger checks row by row, checked for a
# whole chunk in one statement when the fill runs with triggers off.
CHECK_CHUNK = """
SELECT count(*) FROM (
    SELECT j.id FROM ledger_journal j LEFT JOIN ledger_entry e ON e.journal_id = j.id
    WHERE j.id BETWEEN %s AND %s
    GROUP BY j.id, j.entry_count
    HAVING count(e.id) <> j.entry_count
        OR coalesce(sum(e.debit), 0) <> coalesce(sum(e.credit), 0)
        OR bool_or(e.currency <> j.currency)
) bad
"""
RECOMPUTE_BALANCES = """
INSERT INTO ledger_accountbalance (account_id, currency, debit, credit)
SELECT account_id, currency, sum(debit), sum(credit) FROM ledger_entry GROUP BY 1, 2
ON CONFLICT (account_id, currency) DO UPDATE SET debit = excluded.debit, credit = excluded.credit
"""


def estimated_entries() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT max(id) FROM ledger_entry")
        return cur.fetchone()[0] or 0


def fill(args: argparse.Namespace, url: str, accounts: Accounts) -> None:
    """Top ledger_entry up to --entries rows with balanced five-entry journals,
    one transaction per chunk, then recompute the balances from the entries."""
    if args.reuse:
        print(f"  (c) --reuse: ledger_entry used as it is (~{estimated_entries():,} rows)")
        return
    conn = raw_connection(url)
    try:
        with conn.cursor() as cur:
            started = time.perf_counter()
            cur.execute("SELECT count(*) FROM ledger_entry")
            have = cur.fetchone()[0]
            conn.commit()
            print(f"  (c) ledger_entry holds {have:,} rows ({time.perf_counter() - started:.1f} s)")
            if have >= args.entries:
                return
            cur.execute("SELECT current_setting('is_superuser') = 'on'")
            unchecked = not args.fill_checked and cur.fetchone()[0]
            conn.commit()
            journals = math.ceil((args.entries - have) / FILL_ENTRIES_PER_JOURNAL)
            per_chunk = max(1, args.chunk_entries // FILL_ENTRIES_PER_JOURNAL)
            prefix = f"{FILL_KEY_PREFIX}{datetime.now(UTC):%Y%m%d%H%M%S}:"
            print(
                f"  (c) adding {journals:,} journals, {journals * FILL_ENTRIES_PER_JOURNAL:,} "
                f"entries, {per_chunk * FILL_ENTRIES_PER_JOURNAL:,} per transaction, "
                + (
                    "ledger triggers off and each chunk checked set-wise before COMMIT"
                    if unchecked
                    else "checked by the ledger's deferred triggers at COMMIT"
                )
            )
            params = {
                "prefix": prefix,
                "currency": CURRENCY,
                "payables": list(accounts.payables),
                "n": len(accounts.payables),
                "clearing": accounts.clearing,
                "commission": accounts.commission,
                "tax": accounts.tax,
            }
            started = time.perf_counter()
            done = 0
            while done < journals:
                count = min(per_chunk, journals - done)
                if unchecked:
                    # Skips the row-by-row deferred checks (and foreign-key
                    # triggers): CHECK_CHUNK checks the same, set-wise.
                    cur.execute("SET LOCAL session_replication_role = replica")
                cur.execute(FILL_CHUNK, {**params, "start": done + 1, "stop": done + count})
                low, high, inserted = cur.fetchone()
                if unchecked:
                    cur.execute(CHECK_CHUNK, [low, high])
                    if bad := cur.fetchone()[0]:
                        raise RuntimeError(f"fill: {bad} journals would not balance")
                conn.commit()
                done += inserted
                elapsed = time.perf_counter() - started
                rate = done * FILL_ENTRIES_PER_JOURNAL / elapsed
                left = (journals - done) * FILL_ENTRIES_PER_JOURNAL / rate
                print(
                    f"  (c) fill {have + done * FILL_ENTRIES_PER_JOURNAL:,} entries, "
                    f"{rate:,.0f} entries/s, {elapsed:.0f} s, about {left:.0f} s left",
                    flush=True,
                )
            started = time.perf_counter()
            cur.execute(RECOMPUTE_BALANCES)
            conn.commit()
            print(
                f"  (c) balances recomputed from the entries in {time.perf_counter() - started:.0f} s"
            )
            conn.autocommit = True
            cur.execute("ANALYZE ledger_journal, ledger_entry, ledger_accountbalance")
    finally:
        conn.close()


@dataclass
class ReadResult:
    label: str
    entries: int
    orm: list[Block] = field(default_factory=list)
    raw: list[Block] = field(default_factory=list)
    summed: list[Block] = field(default_factory=list)
    plan: str = ""


BALANCE_BY_KEY = (
    "SELECT debit, credit FROM ledger_accountbalance WHERE account_id = %s AND currency = %s"
)


def run_reads(args: argparse.Namespace, url: str, accounts: Accounts) -> list[ReadResult]:
    raw = raw_connection(url, autocommit=True)
    try:
        return [
            read_account(args, raw, label, account_id)
            for label, account_id in (
                ("gateway clearing (card)", accounts.clearing),
                ("vendor payable", accounts.payables[0]),
            )
        ]
    finally:
        raw.close()


def read_account(
    args: argparse.Namespace, raw: ProbedConnection, label: str, account_id: int
) -> ReadResult:
    """account_balance and the raw read, interleaved; then the sum of the entries."""
    from django.db import connection
    from django.db.models import Count, Sum

    from ledger.models import Entry
    from ledger.selectors import _BALANCE_SQL, account_balance

    raw_pid, service_pid = raw.get_backend_pid(), django_backend_pid()
    expected = account_balance(account_id, CURRENCY)
    with raw.cursor() as cur:
        cur.execute(BALANCE_BY_KEY, [account_id, CURRENCY])
        debit, credit = cur.fetchone()
    if debit - credit != expected:
        raise RuntimeError(f"{label}: account_balance and the raw read disagree")
    result = ReadResult(label, 0)
    # The statement account_balance sends on PostgreSQL.
    with connection.cursor() as cur:
        cur.execute("EXPLAIN " + _BALANCE_SQL, [account_id, CURRENCY])
        plan = [line for (line,) in cur.fetchall()]
    scans = [line.strip(" ->") for line in plan if "Scan" in line]
    result.plan = re.sub(r"\s*\(cost=.*", "", scans[0] if scans else plan[0])

    def orm_call() -> int:
        account_balance(account_id, CURRENCY)
        return 1

    def raw_call() -> int:
        with raw.cursor() as cur:
            cur.execute(BALANCE_BY_KEY, [account_id, CURRENCY])
            cur.fetchone()
        return 1

    def sum_call() -> int:
        totals = Entry.objects.filter(account_id=account_id, currency=CURRENCY).aggregate(
            debit=Sum("debit"), credit=Sum("credit"), entries=Count("id")
        )
        if totals["debit"] - totals["credit"] != expected:
            raise RuntimeError(f"{label}: the entries do not sum to the balance")
        result.entries = totals["entries"]
        return 1

    sides = [(orm_call, service_pid, result.orm), (raw_call, raw_pid, result.raw)]
    for _ in range(50):  # warm-up
        for call, _, _ in sides:
            call()
    per_round = max(1, args.reads // args.rounds)
    for round_number in range(args.rounds):
        shift = round_number % len(sides)  # rotate who goes first
        for call, pid, blocks in sides[shift:] + sides[:shift]:
            blocks.append(timed([call] * per_round, pid))
    for _ in range(args.sums):
        result.summed.append(timed([sum_call], service_pid))
    return result


def report_reads(results: Sequence[ReadResult], entries: int) -> float:
    print()
    print(f"(c) Reading one account's balance with ledger_entry holding ~{entries:,} rows")
    rows = []
    for r in results:
        reads = [
            ("account_balance (service)", r.orm),
            ("raw SELECT by key (baseline)", r.raw),
            ("sum of entries (ORM aggregate)", r.summed),
        ]
        for label, blocks in reads:
            if not blocks:  # --sums 0
                continue
            lat = all_latencies(blocks)
            client, server = fmt_cpu(blocks, micro=True)
            rows.append(
                (
                    r.label,
                    f"{r.entries:,}" if r.summed else "?",
                    label,
                    f"{len(lat):,}",
                    f"{percentile_ms(lat, 0.50):.3f}",
                    f"{percentile_ms(lat, 0.99):.3f}",
                    client,
                    server,
                )
            )
    print_table(
        (
            "account",
            "its entries",
            "read",
            "calls",
            "p50 ms",
            "p99 ms",
            "client CPU µs",
            "db CPU µs",
        ),
        rows,
        left=3,
    )
    for r in results:
        p50 = percentile_ms(all_latencies(r.orm), 0.5)
        raw = percentile_ms(all_latencies(r.raw), 0.5)
        print(f"  {r.label}: ratio raw/service p50 {raw / p50:.2f}; plan: {r.plan}")
    worst50 = max(percentile_ms(all_latencies(r.orm), 0.50) for r in results)
    worst99 = max(percentile_ms(all_latencies(r.orm), 0.99) for r in results)
    print(
        f"target account_balance under {TARGET_READ_MS:g} ms: p50 {worst50:.3f} ms "
        f"{'met' if worst50 < TARGET_READ_MS else 'MISSED'}; p99 {worst99:.3f} ms "
        f"{'met' if worst99 < TARGET_READ_MS else 'MISSED'}"
    )
    return worst50


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


if __name__ == "__main__":
    sys.exit(main())
