"""Checks of running totals: vendor payables against their sources, refund
counters and case breakdowns."""

from __future__ import annotations

from decimal import Decimal

from .sql import DEFAULT_LIMIT, Finding, _fetch, _findings, _n, _sql, commission_tax_sql


def vendor_payables(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Payable - receivable = sales (net less commission) - vendor shares of
    completed cases - payouts.

    A period close moves a payable debit balance to the vendor's receivable and
    a payout settles it from the payable: both leave payable - receivable, what
    the vendor is owed, as it was. With the vendor as seller of record its
    sales and refunds carry the tax on its goods; the platform's tax on
    commission (COMMISSION_TAX_RATE) is taken from sales per order and given
    back with commission reversals. A vendor and currency whose payable holds
    shipping these statements cannot price (sold on a channel where vendors
    earn shipping, or refunded taxed shipping: see sql.SHIPPING_TAXED) is left
    out, like one with postings still in the outbox.
    """
    sales_tax = commission_tax_sql("commission", "currency")
    refund_tax = commission_tax_sql("l.commission_reversal", "c.currency")
    sql = _sql(
        """
        WITH {backlog},
        order_sales AS (
            SELECT l.vendor_id, o.currency,
                   sum(l.net_amount - l.commission_amount
                       + CASE WHEN {seller} THEN l.tax_amount ELSE 0 END) AS amount,
                   sum(l.commission_amount) AS commission
            FROM "{line}" l
            JOIN "{order}" o ON o.id = l.order_id
            JOIN "{channel}" ch ON ch.id = o.channel_id
            JOIN "{vendor}" v ON v.id = l.vendor_id
            GROUP BY l.vendor_id, o.id, o.currency
        ),
        sales AS (
            SELECT vendor_id, currency, sum(amount - @sales_tax) AS amount
            FROM order_sales GROUP BY vendor_id, currency
        ),
        refunds AS (
            SELECT l.vendor_id, c.currency,
                   sum(l.vendor_share + CASE WHEN {seller} THEN l.tax_amount ELSE 0 END
                       - @refund_tax) AS amount
            {completed_liabilities}
            GROUP BY l.vendor_id, c.currency
        ),
        payouts AS (
            SELECT vendor_id, currency, sum(amount) AS amount
            FROM "{payout}" GROUP BY vendor_id, currency
        ),
        expected AS (
            SELECT coalesce(s.vendor_id, r.vendor_id, p.vendor_id) AS vendor_id,
                   coalesce(s.currency, r.currency, p.currency) AS currency,
                   coalesce(s.amount, 0) AS sales, coalesce(r.amount, 0) AS refunds,
                   coalesce(p.amount, 0) AS payouts
            FROM sales s
            FULL OUTER JOIN refunds r
                ON r.vendor_id = s.vendor_id AND r.currency = s.currency
            FULL OUTER JOIN payouts p
                ON p.vendor_id = coalesce(s.vendor_id, r.vendor_id)
               AND p.currency = coalesce(s.currency, r.currency)
        ),
        ledger AS (
            SELECT a.vendor_id, b.currency, sum(b.credit - b.debit) AS amount
            FROM "{balance}" b JOIN "{account}" a ON a.id = b.account_id
            WHERE a.role IN ({r_vendor_payable}, {r_vendor_receivable})
            GROUP BY a.vendor_id, b.currency
        ),
        unsettled AS (
            SELECT l.vendor_id, o.currency
            FROM pending_orders p
            JOIN "{order}" o ON o.id = p.order_id
            JOIN "{line}" l ON l.order_id = o.id
            UNION
            SELECT l.vendor_id, c.currency
            FROM pending_cases p
            JOIN "{case}" c ON c.id = p.case_id
            JOIN "{liability}" l ON l.case_id = c.id
            UNION
            SELECT l.vendor_id, o.currency
            FROM "{order}" o
            JOIN "{channel}" ch ON ch.id = o.channel_id
            JOIN "{line}" l ON l.order_id = o.id
            WHERE {shipping_by_vendors} AND o.shipping_amount > 0
            UNION
            SELECT l.vendor_id, c.currency
            FROM "{liability}" l
            JOIN "{case}" c ON c.id = l.case_id
            JOIN "{order}" o ON o.id = c.order_id
            JOIN "{channel}" ch ON ch.id = o.channel_id
            WHERE {shipping_taxed} AND l.shipping_amount > 0 AND {completed_c}
        )
        SELECT v.code, coalesce(x.currency, g.currency),
               coalesce(x.sales, 0), coalesce(x.refunds, 0), coalesce(x.payouts, 0),
               coalesce(g.amount, 0)
        FROM expected x
        FULL OUTER JOIN ledger g ON g.vendor_id = x.vendor_id AND g.currency = x.currency
        JOIN "{vendor}" v ON v.id = coalesce(x.vendor_id, g.vendor_id)
        WHERE [[coalesce(x.sales - x.refunds - x.payouts, 0) <> coalesce(g.amount, 0)]]
          AND NOT EXISTS (
              SELECT 1 FROM unsettled u
              WHERE u.vendor_id = v.id AND u.currency = coalesce(x.currency, g.currency)
          )
        """.replace("@sales_tax", sales_tax).replace("@refund_tax", refund_tax)
    )

    def make(
        code: str,
        currency: str,
        sales: Decimal,
        refunds: Decimal,
        payouts: Decimal,
        ledger: Decimal,
    ) -> tuple[str, str]:
        expected = sales - refunds - payouts
        return f"vendor {code} {currency}", (
            f"payable less receivable is {_n(ledger)} in the ledger but sales {_n(sales)} - refunds "
            f"{_n(refunds)} - payouts {_n(payouts)} = {_n(expected)}"
        )

    return _findings("vendor_payables", _fetch(sql, limit=limit), limit, make)


def _mismatches(*pairs: tuple[str, str]) -> tuple[str, str]:
    """For (counter, expected sum) column pairs: the SQL that lists the counters
    that differ as "name counter <> sum", and the condition that any differs."""
    differs = [f"[[{counter} <> coalesce({expected}, 0)]]" for counter, expected in pairs]
    cases = [
        f"CASE WHEN {test} THEN '{counter.split('.')[-1]} ' || {counter} || ' <> ' "
        f"|| coalesce({expected}, 0) END"
        for test, (counter, expected) in zip(differs, pairs, strict=True)
    ]
    return f"concat_ws(', ', {', '.join(cases)})", " OR ".join(differs)


def refund_counters(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Order and line counters equal the sums over cases not rejected or cancelled."""
    order_mismatches, order_differs = _mismatches(
        ("o.refunded_amount", "x.amount"), ("o.refunded_shipping", "x.shipping")
    )
    line_mismatches, line_differs = _mismatches(
        ("l.refunded_quantity", "p.quantity"),
        ("l.refunded_net", "p.net"),
        ("l.refunded_tax", "p.tax"),
        ("l.commission_base_refunded", "p.base"),
        ("l.commission_reversed", "p.reversal"),
    )
    sql = _sql(
        """
        WITH cases AS (
            SELECT c.order_id, sum(c.total_refund_amount) AS amount,
                   sum(c.shipping_refund_amount) AS shipping
            FROM "{case}" c WHERE NOT {released_c} GROUP BY c.order_id
        ),
        pieces AS (
            SELECT r.order_line_id, sum(r.quantity) AS quantity, sum(r.net_amount) AS net,
                   sum(r.tax_amount) AS tax, sum(r.commission_base) AS base,
                   sum(r.commission_reversal) AS reversal
            FROM "{refund_line}" r JOIN "{case}" c ON c.id = r.case_id
            WHERE r.order_line_id IS NOT NULL AND NOT {released_c}
            GROUP BY r.order_line_id
        )
        """
        f"""
        SELECT o.number, '', {order_mismatches}
        FROM "{{order}}" o LEFT JOIN cases x ON x.order_id = o.id
        WHERE {order_differs}
        UNION ALL
        SELECT o.number, 'line ' || l.id || ' ' || l.sku, {line_mismatches}
        FROM "{{line}}" l
        JOIN "{{order}}" o ON o.id = l.order_id
        LEFT JOIN pieces p ON p.order_line_id = l.id
        WHERE {line_differs}
        """
    )

    def make(number: str, what: str, detail: str) -> tuple[str, str]:
        subject = f"order {number} {what}" if what else f"order {number}"
        return subject, f"counter <> open and completed cases: {detail}"

    return _findings("refund_counters", _fetch(sql, limit=limit), limit, make)


def case_breakdowns(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """A case's total and shipping equal its lines' and its liabilities' sums."""
    sql = _sql(
        """
        WITH pieces AS (
            SELECT case_id, sum(gross_amount) AS gross, sum(net_amount) AS net,
                   sum(tax_amount) AS tax, sum(shipping_amount) AS shipping
            FROM "{refund_line}" GROUP BY case_id
        ),
        owed AS (
            SELECT case_id, sum(refund_amount) AS gross, sum(net_amount) AS net,
                   sum(tax_amount) AS tax, sum(shipping_amount) AS shipping
            FROM "{liability}" GROUP BY case_id
        )
        SELECT c.case_id, c.total_refund_amount, c.shipping_refund_amount,
               p.gross, p.net, p.tax, p.shipping, o.gross, o.net, o.tax, o.shipping
        FROM "{case}" c
        LEFT JOIN pieces p ON p.case_id = c.id
        LEFT JOIN owed o ON o.case_id = c.id
        WHERE [[c.total_refund_amount IS DISTINCT FROM p.gross]]
           OR [[c.total_refund_amount IS DISTINCT FROM o.gross]]
           OR [[c.shipping_refund_amount IS DISTINCT FROM p.shipping]]
           OR [[c.shipping_refund_amount IS DISTINCT FROM o.shipping]]
           OR [[p.net IS DISTINCT FROM o.net]]
           OR [[p.tax IS DISTINCT FROM o.tax]]
        """
    )

    def make(
        case_id: str, total: Decimal, shipping: Decimal, *sums: Decimal | None
    ) -> tuple[str, str]:
        lines = "/".join(_n(s) for s in sums[:4])
        owed = "/".join(_n(s) for s in sums[4:])
        return f"case {case_id}", (
            f"total {_n(total)}, shipping {_n(shipping)}; gross/net/tax/shipping of its lines "
            f"{lines}, of its liabilities {owed}"
        )

    return _findings("case_breakdowns", _fetch(sql, limit=limit), limit, make)
