"""The raw psycopg2 baseline of bench.cases: opening a case in hand-written SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg2
import psycopg2.extensions
from psycopg2 import errors
from psycopg2.extras import execute_values

from bench.cases.measuring import Probe
from bench.cases.setup import REASON, Job

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
        initiated_at, approved_at, completed_at, closed_at, updated_at, event_sequence
    ) VALUES (%s, %s, %s, 'pending', '', NULL, NULL, %s, 0, '', '', %s, NULL, NULL, NULL, %s, %s)
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
        consumer, topic, order_id, case_id, event_id, event_created_at, sequence, created_at,
        available_at, attempts, last_error, failed_at
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
                        INSERT_CASE,
                        [
                            new_case_id(now),
                            job.order_id,
                            currency,
                            total,
                            now,
                            now,
                            # The case.opened message's number, as refunds.outbox numbers it.
                            1 if self.outbox_consumers else 0,
                        ],
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
                            (consumer, "case.opened", None, case_pk, event_pk, now, 1, now, now,
                             0, "", None)
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
