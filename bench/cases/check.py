"""The consistency check of bench.cases (also used by bench.api)."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg2
import psycopg2.extensions

from bench.cases.setup import BenchOrder

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
