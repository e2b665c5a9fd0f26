"""Benchmark: opening refund cases through the service layer, against raw SQL.

    make bench
    .venv/bin/python -m bench.cases [--cases 2000] [--lines 1,3,10] [--rounds 5]

Opens refund cases with `refunds.services.cases.open_case` on PostgreSQL and, in
the same run, with a baseline: hand-written psycopg2 transactions on a separate
connection that lock the same rows and write the same rows with the same
statements (one multi-row INSERT or UPDATE per table), pricing with the same
pure functions (`refunds.services.liability`). For 1, 3 and 10 lines per case
it prints cases per second, p50 and p99 latency per case, statements per case,
the baseline's cases per second and the ratio service / baseline, then where a
case's time goes, statement by statement.

The benchmark uses its own database (default `splitledger_bench` on
127.0.0.1:5432, user postgres; `--database-url` or DATABASE_URL to change it,
but the database name must contain "bench"). It creates the database if
missing, migrates it, and adds a fresh set of orders on every run; it deletes
nothing and touches no other database (it connects to `postgres` only to
create or drop its own). Celery publishes to kombu's in-memory transport, so
the outbox's consumers do not run inside the timings. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg2
import psycopg2.extensions
from psycopg2 import errors
from psycopg2.extras import execute_values

from bench.common import (
    add_database_arguments,
    check_database_url,
    load_average,
    open_database,
    percentile_ms,
    print_table,
    ratios,
    server_facts,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/splitledger_bench"

# What every case refunds: quantity 1 of distinct lines, for a reason the vendor
# bears with the commission given back (the path with the most arithmetic).
REASON = "damaged"
CURRENCY = "EUR"
VENDORS = (
    ("bench-v1", "0.1000"),
    ("bench-v2", "0.1200"),
    ("bench-v3", "0.1500"),
    ("bench-v4", "0.0800"),
    ("bench-v5", "0.2000"),
)
LINES_PER_ORDER = 10
# Far more than a run can refund: no case ever hits an over-refund.
LINE_QUANTITY = 100_000
UNIT_PRICES = "12.34 7.99 149.00 0.95 23.50 5.05 64.20 11.11 3.33 99.99".split()
TAX_RATES = "0.2000 0.0700 0.1900 0 0.2100 0.1000 0.0550 0.2000 0.1300 0.0900".split()


# ---------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class BenchOrder:
    order_id: int
    line_ids: tuple[int, ...]


def create_orders(count: int, tag: str) -> list[BenchOrder]:
    """`count` fresh paid orders, each with 10 lines over 5 vendors.

    Written with bulk inserts rather than create_order: the fixture should not
    set off what recording a sale sets off (outbox messages, ledger postings).
    The amounts are computed as create_order computes them, and the schema's
    CHECK constraints hold them to it.
    """
    from django.db import transaction
    from django.utils import timezone

    from lib.money import quantize
    from refunds.models import Channel, Order, OrderLine, Payment, ReasonPolicy
    from vendors.models import Vendor

    if not ReasonPolicy.objects.filter(code=REASON, is_active=True).exists():
        raise SystemExit(f"Reason policy {REASON!r} is missing or inactive in the bench database.")
    vendors = [
        Vendor.objects.get_or_create(
            code=code, defaults={"name": f"Bench {code}", "commission_rate": Decimal(rate)}
        )[0]
        for code, rate in VENDORS
    ]
    channel, _ = Channel.objects.get_or_create(source="bench", subsource="")
    now = timezone.now()

    def lines_of(order: Order) -> list[OrderLine]:
        lines = []
        for index in range(LINES_PER_ORDER):
            vendor = vendors[index % len(vendors)]
            unit_price, tax_rate = Decimal(UNIT_PRICES[index]), Decimal(TAX_RATES[index])
            net = unit_price * LINE_QUANTITY
            lines.append(
                OrderLine(
                    order=order,
                    vendor=vendor,
                    sku=f"BENCH-SKU-{index}",
                    quantity=LINE_QUANTITY,
                    unit_price=unit_price,
                    tax_rate=tax_rate,
                    commission_rate=vendor.commission_rate,
                    net_amount=net,
                    tax_amount=quantize(net * tax_rate, CURRENCY),
                    commission_amount=quantize(net * vendor.commission_rate, CURRENCY),
                )
            )
        return lines

    template = lines_of(Order())
    net = sum((line.net_amount for line in template), Decimal(0))
    tax = sum((line.tax_amount for line in template), Decimal(0))
    with transaction.atomic():
        orders = Order.objects.bulk_create(
            Order(
                number=f"BENCH-{tag}-{index:05d}",
                channel=channel,
                currency=CURRENCY,
                placed_at=now,
                net_amount=net,
                tax_amount=tax,
                total_amount=net + tax,
                captured_amount=net + tax,
            )
            for index in range(count)
        )
        lines = OrderLine.objects.bulk_create(
            [line for order in orders for line in lines_of(order)], batch_size=2000
        )
        Payment.objects.bulk_create(
            Payment(order=order, method="card", amount=net + tax, captured_at=now)
            for order in orders
        )
    by_order: dict[int, list[int]] = {}
    for line in lines:
        by_order.setdefault(line.order_id, []).append(line.pk)
    return [BenchOrder(order.pk, tuple(by_order[order.pk])) for order in orders]


@dataclass(frozen=True)
class Job:
    """One case to open: quantity 1 of each of `line_ids` of one order."""

    order_id: int
    line_ids: tuple[int, ...]
    requests: tuple[Any, ...]  # LineRequest, built before the clock starts


class JobSource:
    """Hands out cases round-robin over the orders, on rotating, distinct lines."""

    def __init__(self, orders: Sequence[BenchOrder]) -> None:
        self._orders = orders
        self._taken = 0

    def take(self, count: int, lines: int) -> list[Job]:
        from refunds.services.cases import LineRequest

        jobs = []
        for _ in range(count):
            order = self._orders[self._taken % len(self._orders)]
            start = self._taken // len(self._orders)
            self._taken += 1
            ids = tuple(
                order.line_ids[(start + offset) % len(order.line_ids)] for offset in range(lines)
            )
            requests = tuple(LineRequest(order_line_id=i, reason=REASON, quantity=1) for i in ids)
            jobs.append(Job(order.order_id, ids, requests))
        return jobs


# ---------------------------------------------------------------- measuring

OpenCase = Callable[[Job], None]


@dataclass(frozen=True)
class Block:
    """A run of consecutive cases on one side: wall time and each case's latency."""

    seconds: float
    latencies_ns: list[int]

    @property
    def rate(self) -> float:
        return len(self.latencies_ns) / self.seconds


def timed(open_one: OpenCase, jobs: Sequence[Job]) -> Block:
    gc.collect()
    latencies: list[int] = []
    clock = time.perf_counter_ns
    started = clock()
    for job in jobs:
        before = clock()
        open_one(job)
        latencies.append(clock() - before)
    return Block((clock() - started) / 1e9, latencies)


def open_with_service(job: Job) -> None:
    from refunds.services.cases import open_case

    open_case(order=job.order_id, lines=job.requests)


TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)', re.IGNORECASE)


def statement_kind(query: str) -> str:
    return query.lstrip().split(None, 1)[0].upper()


def statement_label(query: str) -> str:
    """`SELECT refunds_order`, `INSERT refunds_refundline`, `SAVEPOINT`, ..."""
    kind = statement_kind(query)
    if kind in ("SELECT", "INSERT", "UPDATE", "DELETE") and (match := TABLE.search(query)):
        return f"{kind} {match.group(1)}"
    return kind


class Probe:
    """Counts the statements of the cases opened while it listens, and times them.

    Per statement label it adds up the time spent in the statement (sending it,
    the server, the result) and the time the client spent before it, since the
    previous statement ended (or the case started): building the query, making
    objects of the rows before it, pricing. COMMIT is timed like a statement;
    psycopg2's implicit BEGIN travels with the first statement, so it is
    counted but its time is in that statement's. It also adds up the CPU time
    the client thread used per case, which waiting (for the server, or for a
    busy machine's CPU) does not inflate.
    """

    def __init__(self) -> None:
        self.cases = 0
        self.counts: Counter[str] = Counter()
        self.client_ns: Counter[str] = Counter()
        self.statement_ns: Counter[str] = Counter()
        self.labels: list[str] = []
        self.cpu_ns = 0
        self._last = 0

    def open(self, open_one: OpenCase, job: Job) -> None:
        self.cases += 1
        cpu = time.thread_time_ns()
        self._last = time.perf_counter_ns()
        open_one(job)
        self.client_ns["(after COMMIT)"] += time.perf_counter_ns() - self._last
        self.cpu_ns += time.thread_time_ns() - cpu

    def begin(self) -> None:
        self.counts["BEGIN"] += 1

    @contextmanager
    def statement(self, query: str | bytes) -> Iterator[None]:
        text = query.decode() if isinstance(query, bytes) else query
        started = time.perf_counter_ns()
        label = statement_label(text)
        if label not in self.labels:
            self.labels.append(label)
        self.counts[statement_kind(text)] += 1
        self.client_ns[label] += started - self._last
        try:
            yield
        finally:
            self._last = time.perf_counter_ns()
            self.statement_ns[label] += self._last - started

    def per_case(self, *, round_trips: bool) -> float:
        total = sum(self.counts.values())
        if not round_trips:
            total -= self.counts["BEGIN"] + self.counts["COMMIT"]
        return total / self.cases

    def ms_per_case(self, nanoseconds: int) -> float:
        return nanoseconds / self.cases / 1e6

    def kinds(self) -> str:
        order = ["BEGIN", "SELECT", "SAVEPOINT", "INSERT", "RELEASE", "UPDATE", "COMMIT"]
        kinds = order + sorted(k for k in self.counts if k not in order)
        return ", ".join(f"{k} {self.counts[k] / self.cases:g}" for k in kinds if self.counts[k])


@contextmanager
def probing_service(probe: Probe) -> Iterator[None]:
    """Route the service's statements, BEGIN and COMMIT through `probe`.

    Statements (SAVEPOINT and RELEASE included) pass an execute wrapper. BEGIN
    and COMMIT never go through a cursor: psycopg2 sends BEGIN before the first
    statement once Django turns autocommit off, and COMMIT on commit(), so those
    two calls on the connection are watched instead.
    """
    from django.db import connections

    conn = connections["default"]
    set_autocommit, commit = conn.set_autocommit, conn.commit

    def wrapper(execute: Any, query: str, params: Any, many: bool, context: Any) -> Any:
        with probe.statement(query):
            return execute(query, params, many, context)

    def probed_set_autocommit(autocommit: bool, *args: Any, **kwargs: Any) -> None:
        if not autocommit:
            probe.begin()
        set_autocommit(autocommit, *args, **kwargs)

    def probed_commit() -> None:
        with probe.statement("COMMIT"):
            commit()

    conn.set_autocommit = probed_set_autocommit
    conn.commit = probed_commit
    try:
        with conn.execute_wrapper(wrapper):
            yield
    finally:
        del conn.set_autocommit
        del conn.commit


# ---------------------------------------------------------------- the baseline


class ProbedCursor(psycopg2.extensions.cursor):
    probe: Probe | None = None

    def execute(self, query: Any, vars: Any = None) -> None:
        if self.probe is None:
            super().execute(query, vars)
            return
        with self.probe.statement(query):
            super().execute(query, vars)


LOCK_ORDER = """
    SELECT currency, captured_amount, refunded_amount
    FROM refunds_order WHERE id = %s FOR UPDATE
"""
SELECT_LINES = """
    SELECT id, vendor_id, sku, quantity, unit_price, tax_rate, net_amount, tax_amount,
           commission_amount, refunded_quantity, refunded_net, refunded_tax,
           commission_base_refunded, commission_reversed
    FROM refunds_orderline WHERE order_id = %s AND id = ANY(%s)
"""
SELECT_POLICIES = """
    SELECT id, code, vendor_share_percent, refund_commission_to_vendor, shipping_bearer
    FROM refunds_reasonpolicy WHERE code = ANY(%s) AND is_active
"""
INSERT_CASE = """
    INSERT INTO refunds_refundcase (
        case_id, order_id, currency, status, status_before_dispute, owner_id, opened_by_id,
        total_refund_amount, shipping_refund_amount, gateway_reference, note,
        initiated_at, approved_at, completed_at, closed_at, updated_at
    ) VALUES (%s, %s, %s, 'pending', '', NULL, NULL, %s, 0, '', '', %s, NULL, NULL, NULL, %s)
    RETURNING id
"""
INSERT_REFUND_LINES = """
    INSERT INTO refunds_refundline (
        case_id, kind, order_line_id, vendor_id, reason_id, quantity, net_amount, tax_amount,
        shipping_amount, gross_amount, vendor_share, platform_share, commission_base,
        commission_reversal
    ) VALUES %s
"""
INSERT_LIABILITIES = """
    INSERT INTO refunds_vendorliability (
        case_id, vendor_id, refund_amount, net_amount, tax_amount, shipping_amount,
        vendor_share, platform_share, commission_reversal, overridden
    ) VALUES %s
"""
INSERT_EVENT = """
    INSERT INTO refunds_caseevent (
        case_id, kind, from_status, to_status, actor_id, vendor_id, channel, text, data, created_at
    ) VALUES (%s, 'opened', '', 'pending', NULL, NULL, 'system', '', %s, %s)
    RETURNING id
"""
INSERT_OUTBOX = """
    INSERT INTO refunds_outboxmessage (
        consumer, topic, order_id, case_id, event_id, created_at, available_at, attempts,
        last_error, failed_at
    ) VALUES %s
"""
UPDATE_LINES = """
    UPDATE refunds_orderline AS l SET
        refunded_quantity = v.refunded_quantity,
        refunded_net = v.refunded_net,
        refunded_tax = v.refunded_tax,
        commission_base_refunded = v.commission_base_refunded,
        commission_reversed = v.commission_reversed
    FROM (VALUES %s) AS v (
        id, refunded_quantity, refunded_net, refunded_tax,
        commission_base_refunded, commission_reversed
    )
    WHERE l.id = v.id
"""
UPDATE_LINES_ROW = "(%s::bigint, %s::integer, %s::numeric, %s::numeric, %s::numeric, %s::numeric)"
UPDATE_ORDER = """
    UPDATE refunds_order
    SET refunded_amount = refunded_amount + %s, refunded_shipping = refunded_shipping + 0
    WHERE id = %s
"""


@dataclass(slots=True)
class LineRow:
    """An order line as the baseline reads it: the attributes pricing uses.

    refunds.services.liability is pure (no database access) and reads only
    attributes, so the baseline prices with the very functions the service
    uses, on plain rows instead of model instances.
    """

    id: int
    vendor_id: int
    sku: str
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    commission_amount: Decimal
    refunded_quantity: int
    refunded_net: Decimal
    refunded_tax: Decimal
    commission_base_refunded: Decimal
    commission_reversed: Decimal


@dataclass(slots=True)
class PolicyRow:
    id: int
    code: str
    vendor_share_percent: Decimal
    refund_commission_to_vendor: bool
    shipping_bearer: str


def outbox_consumers(topic: str) -> list[str]:
    """Who the service's transactional outbox writes a row for on `topic`."""
    try:
        from refunds.outbox import consumers_for
    except ImportError:  # no outbox in this version of the service
        return []
    return consumers_for(topic)


class Baseline:
    """The same case, written by hand on its own psycopg2 connection.

    Statements: SELECT order FOR UPDATE; SELECT order lines; SELECT reason
    policies; INSERT case; INSERT refund lines (one
    multi-row statement); INSERT liabilities (one); INSERT event; UPDATE order
    lines (one, from VALUES); UPDATE order; and, when consumers subscribe to
    `case.opened`, INSERT outbox messages (one), as the service's outbox does.
    psycopg2's implicit BEGIN, and one COMMIT per case.
    """

    def __init__(self, url: str) -> None:
        self.conn = psycopg2.connect(url, cursor_factory=ProbedCursor)
        self.probe: Probe | None = None
        self.outbox_consumers = outbox_consumers("case.opened")

    def close(self) -> None:
        self.conn.close()

    def open_case(self, job: Job) -> None:
        from refunds.services.case_ids import new_case_id
        from refunds.services.liability import liabilities_for, price_quantity

        now = datetime.now(UTC)
        conn = self.conn
        try:
            with conn.cursor() as cur:
                cur.probe = self.probe
                cur.execute(LOCK_ORDER, [job.order_id])
                row = cur.fetchone()
                if row is None:
                    raise LookupError(f"order {job.order_id} does not exist")
                currency, captured, refunded = row
                cur.execute(SELECT_LINES, [job.order_id, list(job.line_ids)])
                lines = {r[0]: LineRow(*r) for r in cur.fetchall()}
                cur.execute(SELECT_POLICIES, [[REASON]])
                policy = PolicyRow(*cur.fetchone())
                pieces = [
                    price_quantity(lines[line_id], 1, policy, currency, f"lines[{index}]")
                    for index, line_id in enumerate(job.line_ids)
                ]
                total = sum((p.gross for p in pieces), Decimal(0))
                if total <= 0 or total > captured - refunded:
                    raise ValueError(f"cannot refund {total} on order {job.order_id}")

                # As the service: no savepoint; a case-ID collision (about one in
                # a billion) rolls the transaction back and runs it again.
                try:
                    cur.execute(
                        INSERT_CASE, [new_case_id(now), job.order_id, currency, total, now, now]
                    )
                except errors.UniqueViolation:
                    conn.rollback()
                    return self.open_case(job)
                case_pk = cur.fetchone()[0]

                execute_values(
                    cur,
                    INSERT_REFUND_LINES,
                    [
                        (case_pk, p.kind, p.order_line.id, p.vendor_id, policy.id, p.quantity,
                         p.net, p.tax, p.shipping, p.gross, p.vendor_share, p.platform_share,
                         p.commission_base, p.commission_reversal)
                        for p in pieces
                    ],
                    page_size=len(pieces),
                )  # fmt: skip
                liabilities = liabilities_for(pieces)
                execute_values(
                    cur,
                    INSERT_LIABILITIES,
                    [
                        (case_pk, row.vendor_id, row.refund_amount, row.net_amount,
                         row.tax_amount, row.shipping_amount, row.vendor_share,
                         row.platform_share, row.commission_reversal, False)
                        for row in liabilities
                    ],
                    page_size=len(liabilities),
                )  # fmt: skip
                cur.execute(
                    INSERT_EVENT,
                    [case_pk, json.dumps({"total_refund_amount": str(total)}), now],
                )
                event_pk = cur.fetchone()[0]
                execute_values(
                    cur,
                    UPDATE_LINES,
                    [
                        (line.id, line.refunded_quantity, line.refunded_net, line.refunded_tax,
                         line.commission_base_refunded, line.commission_reversed)
                        for line in lines.values()
                    ],
                    template=UPDATE_LINES_ROW,
                    page_size=len(lines),
                )  # fmt: skip
                cur.execute(UPDATE_ORDER, [total, job.order_id])
                if self.outbox_consumers:
                    execute_values(
                        cur,
                        INSERT_OUTBOX,
                        [
                            (consumer, "case.opened", None, case_pk, event_pk, now, now, 0, "",
                             None)
                            for consumer in self.outbox_consumers
                        ],
                    )  # fmt: skip
            if self.probe is None:
                conn.commit()
            else:
                self.probe.begin()  # psycopg2's, sent before the first statement
                with self.probe.statement("COMMIT"):
                    conn.commit()
        except BaseException:
            conn.rollback()
            raise


# ---------------------------------------------------------------- checking


def check_consistency(url: str, orders: Sequence[BenchOrder]) -> list[str]:
    """Counters on the run's orders and lines must equal the sums of their cases' rows."""
    order_ids = [o.order_id for o in orders]
    line_ids = [i for o in orders for i in o.line_ids]
    problems: list[str] = []
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                """
                SELECT count(*) FROM refunds_orderline l
                LEFT JOIN (
                    SELECT order_line_id, sum(quantity) q, sum(net_amount) n, sum(tax_amount) t,
                           sum(commission_base) cb, sum(commission_reversal) cr
                    FROM refunds_refundline WHERE order_line_id = ANY(%s) GROUP BY order_line_id
                ) s ON s.order_line_id = l.id
                WHERE l.id = ANY(%s) AND (
                    l.refunded_quantity, l.refunded_net, l.refunded_tax,
                    l.commission_base_refunded, l.commission_reversed
                ) IS DISTINCT FROM (
                    coalesce(s.q, 0), coalesce(s.n, 0), coalesce(s.t, 0),
                    coalesce(s.cb, 0), coalesce(s.cr, 0)
                )
                """,
                [line_ids, line_ids],
            )
            if bad := cur.fetchone()[0]:
                problems.append(f"{bad} order lines whose counters differ from their refund lines")
            cur.execute(
                """
                SELECT count(*) FROM refunds_order o
                LEFT JOIN (
                    SELECT order_id, sum(total_refund_amount) total FROM refunds_refundcase
                    WHERE order_id = ANY(%s) GROUP BY order_id
                ) c ON c.order_id = o.id
                WHERE o.id = ANY(%s) AND o.refunded_amount IS DISTINCT FROM coalesce(c.total, 0)
                """,
                [order_ids, order_ids],
            )
            if bad := cur.fetchone()[0]:
                problems.append(f"{bad} orders whose refunded amount differs from their cases")
            cur.execute(
                """
                SELECT count(*) FROM refunds_refundcase c
                JOIN (
                    SELECT case_id, sum(refund_amount) total FROM refunds_vendorliability
                    WHERE case_id IN (SELECT id FROM refunds_refundcase WHERE order_id = ANY(%s))
                    GROUP BY case_id
                ) l ON l.case_id = c.id
                WHERE l.total <> c.total_refund_amount
                """,
                [order_ids],
            )
            if bad := cur.fetchone()[0]:
                problems.append(f"{bad} cases whose liabilities do not add up to the case")
            # No case took a line's last unit: the net refunded is units × unit price.
            cur.execute(
                """
                SELECT count(*) FROM refunds_orderline
                WHERE id = ANY(%s) AND refunded_net <> refunded_quantity * unit_price
                """,
                [line_ids],
            )
            if bad := cur.fetchone()[0]:
                problems.append(f"{bad} order lines whose refunded net is not units × unit price")
    finally:
        conn.rollback()
        conn.close()
    return problems


# ---------------------------------------------------------------- the run


@dataclass
class Result:
    lines: int
    service_probe: Probe
    baseline_probe: Probe
    service: list[Block] = field(default_factory=list)
    baseline: list[Block] = field(default_factory=list)

    def ratios(self) -> list[float]:
        return ratios(self.service, self.baseline)


def latencies(blocks: Sequence[Block]) -> list[int]:
    return [value for block in blocks for value in block.latencies_ns]


def statements(probe: Probe) -> str:
    extra = (probe.counts["BEGIN"] + probe.counts["COMMIT"]) / probe.cases
    return f"{probe.per_case(round_trips=False):g} (+{extra:g})"


def measure(args: argparse.Namespace, url: str) -> tuple[dict[int, Result], list[BenchOrder]]:
    tag = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    started = time.perf_counter()
    orders = create_orders(args.orders, tag)
    print(
        f"{len(orders)} orders × {LINES_PER_ORDER} lines created in "
        f"{time.perf_counter() - started:.1f}s"
    )
    source = JobSource(orders)
    baseline = Baseline(url)
    per_round = max(1, args.cases // args.rounds)
    results: dict[int, Result] = {}
    try:
        for lines in args.lines:
            # Warm-up, then a probed pass: neither is timed.
            for _ in range(2):
                for job in source.take(args.warmup, lines):
                    open_with_service(job)
                for job in source.take(args.warmup, lines):
                    baseline.open_case(job)
            result = results[lines] = Result(lines, Probe(), Probe())
            with probing_service(result.service_probe):
                for job in source.take(args.probe_cases, lines):
                    result.service_probe.open(open_with_service, job)
            baseline.probe = result.baseline_probe
            for job in source.take(args.probe_cases, lines):
                result.baseline_probe.open(baseline.open_case, job)
            baseline.probe = None

        for round_number in range(args.rounds):
            for lines in args.lines:
                result = results[lines]
                service_jobs = source.take(per_round, lines)
                baseline_jobs = source.take(per_round, lines)
                # Alternate who goes first, so drift in the machine hits both sides.
                if round_number % 2 == 0:
                    result.service.append(timed(open_with_service, service_jobs))
                    result.baseline.append(timed(baseline.open_case, baseline_jobs))
                else:
                    result.baseline.append(timed(baseline.open_case, baseline_jobs))
                    result.service.append(timed(open_with_service, service_jobs))
            print(f"round {round_number + 1}/{args.rounds} done")
    finally:
        baseline.close()
    return results, orders


def report(args: argparse.Namespace, facts: dict[str, str], results: dict[int, Result]) -> bool:
    """Print the tables; True when both targets are met."""
    import django

    per_round = max(1, args.cases // args.rounds)
    print()
    print(
        f"bench.cases, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: per side and line count "
        f"{per_round * args.rounds} timed cases in {args.rounds} interleaved rounds, after "
        f"{args.warmup * 2} warm-up and {args.probe_cases} probed; reason {REASON!r}"
    )
    print(
        f"PostgreSQL {facts['server_version']} (synchronous_commit={facts['synchronous_commit']}, "
        f"fsync={facts['fsync']}, shared_buffers={facts['shared_buffers']}); Python "
        f"{platform.python_version()}, Django {django.get_version()}, psycopg2 "
        f"{psycopg2.__version__.split()[0]}; {os.cpu_count()} CPUs, load average "
        f"{facts['load_before']} before, {facts['load_after']} after"
    )
    print()
    print_table(
        (
            "lines/case",
            "service cases/s",
            "p50 ms",
            "p99 ms",
            "queries/case",
            "baseline cases/s",
            "ratio",
        ),
        [
            (
                str(lines),
                f"{statistics.median(b.rate for b in r.service):.0f}",
                f"{percentile_ms(latencies(r.service), 0.50):.2f}",
                f"{percentile_ms(latencies(r.service), 0.99):.2f}",
                statements(r.service_probe),
                f"{statistics.median(b.rate for b in r.baseline):.0f}",
                f"{statistics.median(r.ratios()):.2f}",
            )
            for lines, r in results.items()
        ],
        left=0,
    )
    print()
    print_table(
        (
            "lines/case",
            "baseline p50 ms",
            "baseline p99 ms",
            "baseline queries/case",
            "ratio per round",
        ),
        [
            (
                str(lines),
                f"{percentile_ms(latencies(r.baseline), 0.50):.2f}",
                f"{percentile_ms(latencies(r.baseline), 0.99):.2f}",
                statements(r.baseline_probe),
                " ".join(f"{ratio:.2f}" for ratio in r.ratios()),
            )
            for lines, r in results.items()
        ],
        left=0,
    )
    print()
    print("cases/s: median over the rounds of cases / wall time of the round's block;")
    print("p50, p99: over every timed case; ratio: median over the rounds of service cases/s")
    print("over baseline cases/s in the same round. queries/case: statements sent per case,")
    print("SAVEPOINT and RELEASE included (if any); (+2): the transaction's BEGIN and COMMIT.")
    for lines, r in results.items():
        print(f"  {lines:>2} lines  service:  {r.service_probe.kinds()}")
        print(f"  {lines:>2} lines  baseline: {r.baseline_probe.kinds()}")

    print()
    print("Where a case's time goes (probed cases, mean ms per case): client = time in")
    print("Python before each statement (building it, handling the rows before it);")
    print("statements = from sending each to having its result (server work + round trip);")
    print("CPU = CPU time of the client thread, which waiting does not inflate.")
    print_table(
        (
            "lines/case",
            "service client",
            "service statements",
            "service CPU",
            "baseline client",
            "baseline statements",
            "baseline CPU",
        ),
        [
            (
                str(lines),
                *(
                    f"{probe.ms_per_case(total):.2f}"
                    for probe in (r.service_probe, r.baseline_probe)
                    for total in (
                        probe.client_ns.total(),
                        probe.statement_ns.total(),
                        probe.cpu_ns,
                    )
                ),
            )
            for lines, r in results.items()
        ],
        left=0,
    )
    widest = results[max(results)]
    service, base = widest.service_probe, widest.baseline_probe
    print()
    print(f"Per statement, {widest.lines} lines/case (ms per case):")
    labels = [*service.labels, *(x for x in base.labels if x not in service.labels)]
    print_table(
        (
            "statement",
            "service client",
            "service statement",
            "baseline client",
            "baseline statement",
        ),
        [
            (
                label,
                f"{service.ms_per_case(service.client_ns[label]):.2f}",
                f"{service.ms_per_case(service.statement_ns[label]):.2f}",
                f"{base.ms_per_case(base.client_ns[label]):.2f}",
                f"{base.ms_per_case(base.statement_ns[label]):.2f}",
            )
            for label in [*labels, "(after COMMIT)"]
        ],
        left=1,
    )

    worst = min(statistics.median(r.ratios()) for r in results.values())
    flat = len({r.service_probe.per_case(round_trips=True) for r in results.values()}) == 1
    print()
    print(f"target ratio >= 0.60: {'met' if worst >= 0.6 else 'MISSED'} (lowest {worst:.2f})")
    print(f"target queries/case flat across line counts: {'met' if flat else 'MISSED'}")
    return worst >= 0.6 and flat


def run(args: argparse.Namespace, url: str) -> int:
    open_database(
        url,
        "bench.cases",
        recreate=args.recreate,
        eager_refusal="Celery runs tasks eagerly: outbox consumers would run inside open_case.",
    )
    facts = server_facts(url)
    facts["load_before"] = load_average()
    results, orders = measure(args, url)
    facts["load_after"] = load_average()
    report(args, facts, results)
    problems = check_consistency(url, orders)
    if problems:
        print("consistency: FAILED: " + "; ".join(problems))
        return 1
    print("consistency: the counters of every order and line used equal the sums of the rows")
    print("both sides wrote, and liabilities add up to their cases")
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cases",
        description="Open refund cases through the service layer and through raw SQL; compare.",
    )
    parser.add_argument(
        "--cases", type=int, default=2000, help="timed cases per side and line count"
    )
    parser.add_argument(
        "--lines",
        type=lambda s: [int(n) for n in s.split(",")],
        default=[1, 3, 10],
        help="lines per case, comma-separated (at most 10)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (blocks)")
    parser.add_argument(
        "--warmup", type=int, default=100, help="untimed cases per side, twice, per line count"
    )
    parser.add_argument(
        "--probe-cases",
        type=int,
        default=50,
        help="untimed cases per side whose statements are counted and timed one by one",
    )
    parser.add_argument("--orders", type=int, default=500, help="orders created for the run")
    add_database_arguments(parser, DEFAULT_DATABASE_URL)
    args = parser.parse_args(argv)
    if any(not 1 <= n <= LINES_PER_ORDER for n in args.lines):
        parser.error(f"--lines must be between 1 and {LINES_PER_ORDER}")
    if min(args.cases, args.rounds, args.orders, args.probe_cases) < 1 or args.warmup < 0:
        parser.error("counts must be positive")
    check_database_url(parser, args.database_url, what="writes thousands of rows")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return run(args, args.database_url)


if __name__ == "__main__":
    sys.exit(main())
