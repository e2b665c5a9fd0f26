"""Part (b) of bench.ledger: draining an outbox backlog through the service and raw."""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from bench.common import (
    django_backend_pid,
    in_turn,
    print_table,
)
from bench.ledger.base import (
    CURRENCY,
    DELETE_MESSAGES,
    RAW_CONSUMER,
    RAW_KEY_PREFIX,
    TARGET_DRAIN_RATIO,
    Accounts,
    Block,
    Probe,
    commit_raw,
    cpu_ratio,
    fmt_cpu,
    probing_django,
    raw_connection,
    timed,
    write_journals,
)

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
    from refunds.models import Channel

    low, high = backlog.order_ids
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, order_id FROM refunds_outboxmessage WHERE id = ANY(%s) ORDER BY id",
            [backlog.raw_messages],
        )
        messages = cur.fetchall()
        cur.execute(
            "SELECT id, number, currency, placed_at, shipping_amount, channel_id "
            "FROM refunds_order WHERE id BETWEEN %s AND %s",
            [low, high],
        )
        rows = cur.fetchall()
        # The channels' tax settings, as the consumer's select_related reads them.
        channels = Channel.objects.in_bulk({row[5] for row in rows})
        orders = {
            row[0]: SimpleNamespace(
                pk=row[0],
                number=row[1],
                currency=row[2],
                placed_at=row[3],
                shipping_amount=row[4],
                channel=channels[row[5]],
                lines=Related(),
                payments=Related(),
            )
            for row in rows
        }
        cur.execute(
            "SELECT order_id, vendor_id, net_amount, commission_amount, tax_amount, tax_rate "
            "FROM refunds_orderline WHERE order_id BETWEEN %s AND %s ORDER BY order_id, id",
            [low, high],
        )
        vendor_ids = set()
        for order_id, vendor_id, net, commission, tax, rate in cur.fetchall():
            vendor_ids.add(vendor_id)
            orders[order_id].lines.items.append(
                SimpleNamespace(
                    vendor_id=vendor_id,
                    net_amount=net,
                    commission_amount=commission,
                    tax_amount=tax,
                    tax_rate=rate,
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
                for call, pid, blocks in in_turn(sides, turn):
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
