"""Loading the generated rows into PostgreSQL, the bench users, and the consistency check of bench.portal."""

from __future__ import annotations

import time
from typing import Any

import psycopg2

from bench.portal.data import CHUNK, COLUMNS, STAFF_USER, VENDOR_USER, Counters, World
from bench.portal.generate import generate

SUMMARY_TABLES = tuple(COLUMNS)[:-1]  # the staff dashboard's triggers: not on events


def expected_summary() -> str:
    from refunds.triggers import EXPECTED

    return EXPECTED


def load(world: World, cases: int) -> float:
    """COPY the rows in, with the staff dashboard's summary triggers off (a
    trigger call per row would triple the load); then RefundDay is rebuilt
    from the loaded rows in one statement and the triggers are back on. The
    consistency check compares it with the live rows again afterwards."""
    from django.db import connection, transaction

    started = time.perf_counter()
    seq = Counters()
    with connection.cursor() as cursor:
        for table in SUMMARY_TABLES:
            # USER: the summary triggers only, not the foreign keys' constraint triggers.
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    for first in range(0, cases, CHUNK):
        count = min(CHUNK, cases - first)
        buffers = generate(world, first, count, cases, seq)
        with transaction.atomic(), connection.cursor() as cursor:
            for table, columns in COLUMNS.items():
                buffer = buffers.tables.get(table)
                if buffer is None:
                    continue
                buffer.seek(0)
                cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
        done = first + count
        elapsed = time.perf_counter() - started
        print(f"  {done:,} cases loaded, {done / elapsed:,.0f} cases/s", flush=True)
    with transaction.atomic(), connection.cursor() as cursor:
        for table in COLUMNS:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        cursor.execute("DELETE FROM portal_refundday")
        cursor.execute(
            "INSERT INTO portal_refundday (kind, currency, day, key, shard, amount, refunded, "
            "count) " + expected_summary(),
            None,
        )
        for table in SUMMARY_TABLES:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    print(
        f"  staff dashboard's daily sums rebuilt, triggers on: {time.perf_counter() - started:.0f} s"
    )
    return time.perf_counter() - started


def analyze() -> None:
    from django.db import connection

    # As autovacuum would after the rows came in: statistics for the planner and
    # the visibility map for index-only scans.
    with connection.cursor() as cursor:
        for table in (*COLUMNS, "portal_refundday"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def ensure_users(world: World) -> tuple[Any, Any]:
    from django.contrib.auth import get_user_model

    from vendors.models import VendorMembership

    users = get_user_model().objects
    owner = users.filter(username=VENDOR_USER).first() or users.create_user(VENDOR_USER)
    VendorMembership.objects.get_or_create(
        user=owner, vendor_id=world.vendor_ids[0], defaults={"role": "owner"}
    )
    staff = users.get(username=STAFF_USER)
    return owner, staff


# ---------------------------------------------------------------- consistency


CHECKS = (
    (
        "cases whose liabilities do not add up to the case",
        """
        SELECT count(*) FROM refunds_refundcase c
        LEFT JOIN (SELECT case_id, sum(refund_amount) s FROM refunds_vendorliability
                   GROUP BY case_id) l ON l.case_id = c.id
        WHERE l.s IS DISTINCT FROM c.total_refund_amount
        """,
    ),
    (
        "liabilities whose refund lines do not add up to them",
        """
        SELECT count(*) FROM refunds_vendorliability l
        LEFT JOIN (SELECT case_id, vendor_id, sum(gross_amount) g, sum(net_amount) n,
                          sum(vendor_share) v, sum(platform_share) p, sum(commission_reversal) r
                   FROM refunds_refundline GROUP BY case_id, vendor_id) s
               ON s.case_id = l.case_id AND s.vendor_id = l.vendor_id
        WHERE (l.refund_amount, l.net_amount, l.vendor_share, l.platform_share,
               l.commission_reversal) IS DISTINCT FROM (s.g, s.n, s.v, s.p, s.r)
        """,
    ),
    (
        "orders whose refunded amount differs from their cases not released",
        """
        SELECT count(*) FROM refunds_order o
        LEFT JOIN (SELECT order_id, sum(total_refund_amount) t FROM refunds_refundcase
                   WHERE status NOT IN ('rejected', 'cancelled') GROUP BY order_id) c
               ON c.order_id = o.id
        WHERE o.refunded_amount <> coalesce(c.t, 0)
        """,
    ),
    (
        "order lines whose counters differ from their refund lines not released",
        """
        SELECT count(*) FROM refunds_orderline ol
        LEFT JOIN (SELECT rl.order_line_id, sum(rl.quantity) q, sum(rl.net_amount) n,
                          sum(rl.tax_amount) t, sum(rl.commission_base) b,
                          sum(rl.commission_reversal) r
                   FROM refunds_refundline rl JOIN refunds_refundcase c ON c.id = rl.case_id
                   WHERE c.status NOT IN ('rejected', 'cancelled') GROUP BY rl.order_line_id) s
               ON s.order_line_id = ol.id
        WHERE (ol.refunded_quantity, ol.refunded_net, ol.refunded_tax,
               ol.commission_base_refunded, ol.commission_reversed)
              IS DISTINCT FROM (coalesce(s.q, 0), coalesce(s.n, 0), coalesce(s.t, 0),
                                coalesce(s.b, 0), coalesce(s.r, 0))
        """,
    ),
)


SUMMARY_CHECK = """
WITH e AS (
    SELECT kind, currency, day, key, sum(amount) a, sum(refunded) r, sum(count) n
    FROM ({expected}) x (kind, currency, day, key, shard, amount, refunded, count)
    GROUP BY 1, 2, 3, 4
), k AS (
    SELECT kind, currency, day, key, sum(amount) a, sum(refunded) r, sum(count) n
    FROM portal_refundday GROUP BY 1, 2, 3, 4
    HAVING sum(amount) <> 0 OR sum(refunded) <> 0 OR sum(count) <> 0
)
SELECT count(*) FROM e FULL JOIN k USING (kind, currency, day, key)
WHERE (e.a, e.r, e.n) IS DISTINCT FROM (k.a, k.r, k.n)
"""


def check_consistency(url: str) -> list[str]:
    problems = []
    conn = psycopg2.connect(url)
    checks = (
        *CHECKS,
        (
            "staff dashboard daily sums (RefundDay) that differ from the live rows",
            SUMMARY_CHECK.format(expected=expected_summary()),
        ),
    )
    try:
        with conn.cursor() as cur:
            for label, query in checks:
                cur.execute(query)
                if bad := cur.fetchone()[0]:
                    problems.append(f"{bad:,} {label}")
    finally:
        conn.rollback()
        conn.close()
    return problems
