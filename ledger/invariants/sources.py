"""Checks of the sources against the ledger: each order, payout and completed
case posted once, with the legs its breakdown says."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from .sql import DEFAULT_LIMIT, Finding, _fetch, _findings, _n, _sql, commission_tax_sql

# ---------------------------------------------------------------- sources


def _one_journal(
    kind: str, currency: str, journals: int, same_currency: bool | None, mismatch: str
) -> str:
    """What is wrong with a source that must post exactly one `kind` journal, in
    `currency`, for its amount (`mismatch`: how the amounts differ)."""
    if journals != 1:
        return f"has {journals} {kind} journals, expected exactly 1"
    if not same_currency:
        return f"{kind} journal is not in {currency}"
    return f"{kind} journal {mismatch}"


# Sources whose journal is in a detached journals month have no attached
# journal: per currency, the sources with none (how many, their amounts, the
# sum of their ids) must be what those months' DetachedSource records hold
# (ledger.detached_journals); a source of a currency with no such record is
# still found one by one. A digest: a single lost, added, changed or swapped
# source shows; defects that cancel out in all three sums do not. Rows:
# (source, currency, amount, journals, same_currency, debit, recorded
# journals, recorded amount, recorded ids, unposted ids, counted_from); the
# last five only on a currency's digest row (counted_from: the day from which
# pending sources are left out, NULL when none are).
_DIGEST = """
    recorded AS (
        SELECT currency, sum(journals) AS journals, sum(amount) AS amount,
               sum(source_ids) AS ids
        FROM "{detached_source}" WHERE kind = {kind} GROUP BY currency
    ),
    unposted AS (
        SELECT currency, count(*) AS sources, sum(amount) AS amount, sum(id) AS ids
        FROM sources GROUP BY currency
    ),
    digest AS (
        SELECT coalesce(r.currency, u.currency) AS currency,
               coalesce(u.sources, 0) AS sources, coalesce(u.amount, 0) AS amount,
               coalesce(u.ids, 0) AS ids, r.journals AS recorded_journals,
               r.amount AS recorded_amount, r.ids AS recorded_ids
        FROM recorded r LEFT JOIN unposted u ON u.currency = r.currency
    )
"""
# The digest columns of a row about one source (typed: the union's first rows).
_NO_DIGEST = (
    "CAST(NULL AS bigint), CAST(NULL AS numeric), CAST(NULL AS numeric), CAST(NULL AS numeric), "
    "CAST(NULL AS date)"
)
# {counted_from}: the day from which pending sources are left out of the digest
# (SQL; NULL when none are).
_DIGEST_ROWS = """
    SELECT '', d.currency, d.amount, d.sources, NULL, NULL,
           d.recorded_journals, d.recorded_amount, d.recorded_ids, d.ids, {counted_from}
    FROM digest d
    WHERE d.sources <> d.recorded_journals OR [[d.amount <> d.recorded_amount]]
       OR d.ids <> d.recorded_ids
"""


def _digest_finding(
    what: str,
    currency: str,
    amount: Decimal,
    count: int,
    journals: int,
    recorded: Decimal,
    recorded_ids: Decimal,
    ids: Decimal,
    counted: str = "",
) -> tuple[str, str]:
    """A currency's sources without an attached journal against the records
    of the detached journals months (`counted`: which pending ones are among
    them, said after the count)."""
    counted = f" ({counted})" if counted else ""
    return f"{what} {currency} of detached journals months", (
        f"{count} without an attached journal{counted}, for {_n(amount)} "
        f"(ids summing to {ids}); "
        f"the detached months recorded {journals} journals for {_n(recorded)} (ids summing "
        f"to {recorded_ids}): difference {count - journals} {what}, "
        f"{_n(amount - recorded)} {currency}, ids {ids - recorded_ids}"
    )


def sales_posted(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Each order has exactly one sale journal, in its currency, for what was captured."""
    # A sale journal of a detached entries month has no entries left: its
    # debits are compared, per month and currency, by detached_months. An
    # order whose sale journal's month was detached too: _DIGEST. A pending
    # order (its sale message still in the outbox: waiting, or parked as
    # failed) is left out of the checks one by one (the backlog is reported:
    # outbox_backlog). Left out of the digest is only a pending order placed
    # on or after the day the last detached journals month ended: its sale
    # journal, if it has one, is dated on or after the day it was placed
    # (posting.sale_journal dates it placed_at's day, or the first open day
    # after when that day's period is closed), so it cannot be in a detached
    # month (they all end by then); one placed before may have its journal
    # there, in the records, and counts (one with no journal yet shows as a
    # difference until posted: a sale dated in a detached month, unposted).
    # Placed, not created: an order
    # created after a month may be placed in it, and its journal posted there
    # before the month closed. The comparison stays whatever is pending: a
    # lost, changed or swapped order of a detached month shows.
    sql = _sql(
        (
            """
        WITH {backlog},
        counted_from AS (SELECT max(next_month) AS day FROM "{detached_journal_month}"),
        sale AS (
            SELECT j.order_id, count(DISTINCT j.id) AS journals,
                   bool_and(j.currency = o.currency) AS same_currency, sum(e.debit) AS debit,
                   max(CASE WHEN j.date < {first_attached} THEN 1 ELSE 0 END) AS detached
            FROM "{journal}" j
            LEFT JOIN "{entry}" e ON e.journal_id = j.id
            LEFT JOIN "{order}" o ON o.id = j.order_id
            WHERE j.kind = {k_sale}
            GROUP BY j.order_id
        ),
        sources AS (
            SELECT o.id, o.currency, o.captured_amount AS amount
            FROM "{order}" o
            WHERE NOT EXISTS (SELECT 1 FROM sale s WHERE s.order_id = o.id)
              AND NOT (o.placed_at >= coalesce((SELECT day FROM counted_from), '0001-01-01')
                       AND EXISTS (SELECT 1 FROM pending_orders p WHERE p.order_id = o.id))
        ),
        """
            + _DIGEST.replace("{kind}", "{k_sale}")
            + """
        SELECT o.number, o.currency, o.captured_amount, coalesce(s.journals, 0),
               s.same_currency, s.debit, @no_digest
        FROM "{order}" o LEFT JOIN sale s ON s.order_id = o.id
        WHERE NOT EXISTS (SELECT 1 FROM pending_orders p WHERE p.order_id = o.id)
          AND (s.journals IS DISTINCT FROM 1 OR NOT s.same_currency
               OR (s.detached = 0 AND [[s.debit <> o.captured_amount]]))
          AND (s.order_id IS NOT NULL
               OR NOT EXISTS (SELECT 1 FROM recorded r WHERE r.currency = o.currency))
        UNION ALL
        SELECT '(no order)', '', 0, s.journals, s.same_currency, s.debit, @no_digest
        FROM sale s WHERE s.order_id IS NULL
        UNION ALL
        """
            + _DIGEST_ROWS.replace("{counted_from}", "(SELECT day FROM counted_from)")
        ).replace("@no_digest", _NO_DIGEST)
    )

    def make(
        number: str,
        currency: str,
        captured: Decimal,
        journals: int,
        same_currency: bool | None,
        debit: Decimal | None,
        recorded_journals: int | None,
        recorded: Decimal | None,
        recorded_ids: Decimal | None,
        ids: Decimal | None,
        counted_from: object,
    ) -> tuple[str, str]:
        if recorded_journals is not None:
            return _digest_finding(
                "orders",
                currency,
                _d(captured),
                journals,
                recorded_journals,
                _d(recorded),
                _d(recorded_ids),
                _d(ids),
                # Their sale journal may be in a detached month: not a backlog to wait for.
                f"pending orders placed before {str(counted_from)[:10]} count"
                if counted_from is not None
                else "",
            )
        return f"order {number}", _one_journal(
            "sale",
            f"the order's currency {currency}",
            journals,
            same_currency,
            f"posts {_n(debit)} but {_n(captured)} {currency} was captured",
        )

    return _findings("sales_posted", _fetch(sql, limit=limit), limit, make)


def payouts_posted(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Each payout has exactly one payout journal, in its currency, for its amount
    (debits: the amount paid plus the receivable it settled)."""
    # A payout whose journal's month was detached: _DIGEST.
    sql = _sql(
        (
            """
        WITH posted AS (
            SELECT j.payout_id, count(DISTINCT j.id) AS journals,
                   bool_and(j.currency = p.currency) AS same_currency, sum(e.debit) AS debit,
                   max(CASE WHEN j.date < {first_attached} THEN 1 ELSE 0 END) AS detached
            FROM "{journal}" j
            LEFT JOIN "{entry}" e ON e.journal_id = j.id
            JOIN "{payout}" p ON p.id = j.payout_id
            WHERE j.kind = {k_payout}
            GROUP BY j.payout_id
        ),
        sources AS (
            SELECT p.id, p.currency, p.amount + p.receivable_offset AS amount
            FROM "{payout}" p
            WHERE NOT EXISTS (SELECT 1 FROM posted x WHERE x.payout_id = p.id)
        ),
        """
            + _DIGEST.replace("{kind}", "{k_payout}")
            + """
        SELECT p.id, v.code, p.currency, p.amount + p.receivable_offset,
               coalesce(x.journals, 0), x.same_currency, x.debit, @no_digest
        FROM "{payout}" p
        JOIN "{vendor}" v ON v.id = p.vendor_id
        LEFT JOIN posted x ON x.payout_id = p.id
        WHERE (x.journals IS DISTINCT FROM 1 OR NOT x.same_currency
               OR (x.detached = 0 AND [[x.debit <> p.amount + p.receivable_offset]]))
          AND (x.payout_id IS NOT NULL
               OR NOT EXISTS (SELECT 1 FROM recorded r WHERE r.currency = p.currency))
        UNION ALL
        """
            + _DIGEST_ROWS.replace("SELECT ''", "SELECT NULL, ''").replace("{counted_from}", "NULL")
        ).replace("@no_digest", _NO_DIGEST)
    )

    def make(
        pk: int | None,
        vendor: str,
        currency: str,
        amount: Decimal,
        journals: int,
        same_currency: bool | None,
        debit: Decimal | None,
        recorded_journals: int | None,
        recorded: Decimal | None,
        recorded_ids: Decimal | None,
        ids: Decimal | None,
        counted_from: object,
    ) -> tuple[str, str]:
        if recorded_journals is not None:
            return _digest_finding(
                "payouts",
                currency,
                _d(amount),
                journals,
                recorded_journals,
                _d(recorded),
                _d(recorded_ids),
                _d(ids),
            )
        return f"payout {pk} to {vendor}", _one_journal(
            "payout",
            f"the payout's currency {currency}",
            journals,
            same_currency,
            f"posts {_n(debit)} but the payout is {_n(amount)} {currency}",
        )

    return _findings("payouts_posted", _fetch(sql, limit=limit), limit, make)


def _d(value: object) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))


def refunds_posted(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """A completed case has exactly one refund journal; a case never completed has none."""
    sql = _sql(
        """
        WITH {backlog},
        posted AS (
            SELECT case_id, sum(refunds) AS refunds, sum(journals) AS journals FROM (
                SELECT case_id,
                       count(*) FILTER (WHERE kind = {k_refund}) AS refunds,
                       count(*) AS journals
                FROM "{journal}" WHERE case_id IS NOT NULL GROUP BY case_id
                UNION ALL
                -- Journals of detached journals months: as counted at their detach.
                SELECT case_id, refunds, journals FROM "{detached_case_journals}"
            ) u
            GROUP BY case_id
        )
        SELECT c.case_id, c.status, c.status_before_dispute, {completed_c},
               coalesce(p.refunds, 0), coalesce(p.journals, 0)
        FROM "{case}" c LEFT JOIN posted p ON p.case_id = c.id
        WHERE NOT EXISTS (SELECT 1 FROM pending_cases q WHERE q.case_id = c.id)
          AND CASE WHEN {completed_c} THEN coalesce(p.refunds, 0) <> 1
                   ELSE coalesce(p.journals, 0) > 0 END
        """
    )

    def make(
        case_id: str, status: str, before: str, completed: bool, refunds: int, journals: int
    ) -> tuple[str, str]:
        shown = f"{status} (before dispute: {before})" if before else status
        if completed:
            return f"case {case_id}", f"is {shown} with {refunds} refund journals, expected 1"
        return f"case {case_id}", f"is {shown}, never completed, but has {journals} journals"

    return _findings("refunds_posted", _fetch(sql, limit=limit), limit, make)


# @ctax(amount) in a case's rows: the tax on that much commission, in the case's currency.
_CTAX = re.compile(r"@ctax\(((?:[^()]+|\([^()]*\))*)\)")


def _case_legs_sql(expected: str, kinds: str) -> str:
    """Cases whose posted legs (journals of `kinds`) differ from `expected` legs."""
    expected = _CTAX.sub(lambda m: commission_tax_sql(m.group(1), "c.currency"), expected)
    return _sql(
        """
        WITH {backlog},
        expected AS ({expected}),
        posted AS (
            SELECT case_id, leg, sum(amount) AS amount FROM (
                SELECT j.case_id, {leg} AS leg, e.debit - e.credit AS amount
                FROM "{journal}" j
                JOIN "{entry}" e ON e.journal_id = j.id
                JOIN "{account}" a ON a.id = e.account_id
                LEFT JOIN "{vendor}" v ON v.id = a.vendor_id
                JOIN "{case}" c ON c.id = j.case_id
                WHERE j.kind IN ({kinds}) AND {completed_c}
                UNION ALL
                -- Journals of detached months: their legs as recorded at the detach.
                SELECT x.case_id, x.leg, x.amount
                FROM "{detached_case_leg}" x
                JOIN "{case}" c ON c.id = x.case_id
                WHERE x.kind IN ({kinds}) AND {completed_c}
            ) u
            GROUP BY case_id, leg
        )
        SELECT c.case_id, coalesce(x.leg, p.leg), coalesce(x.amount, 0),
               coalesce(p.amount, 0), c.currency
        FROM expected x
        FULL OUTER JOIN posted p ON p.case_id = x.case_id AND p.leg = x.leg
        JOIN "{case}" c ON c.id = coalesce(x.case_id, p.case_id)
        JOIN "{order}" o ON o.id = c.order_id
        JOIN "{channel}" ch ON ch.id = o.channel_id
        WHERE [[coalesce(x.amount, 0) <> coalesce(p.amount, 0)]]
          AND NOT EXISTS (SELECT 1 FROM pending_cases q WHERE q.case_id = c.id)
          -- Taxed shipping refunded: its split is not priced here (see SHIPPING_TAXED).
          AND NOT ({shipping_taxed} AND c.shipping_refund_amount > 0
                   AND coalesce(x.leg, p.leg) NOT IN ('commission', 'clearing'))
        """.replace("{expected}", expected).replace("{kinds}", kinds)
    )


# Debit legs of a refund from per-vendor rows `r` (vendor_share, platform_share,
# commission_reversal, tax_amount, refund_amount, the vendor's code, `seller`:
# whether it is the seller of record, `ctax`: the tax on the commission
# reversal), as posting.refund_journal books them with untaxed shipping: the
# seller's tax goes back through its payable, the facilitator's through output
# tax; the clearing accounts are credited with the refund amount.
_LEGS_FROM_ROWS = """
    SELECT case_id, 'payable:' || code AS leg,
           sum(vendor_share + CASE WHEN seller THEN tax_amount ELSE 0 END - ctax) AS amount
        FROM r GROUP BY case_id, code
    UNION ALL SELECT case_id, 'commission', sum(commission_reversal) FROM r GROUP BY case_id
    UNION ALL SELECT case_id, 'platform', sum(platform_share - commission_reversal)
        FROM r GROUP BY case_id
    UNION ALL SELECT case_id, 'tax', sum(CASE WHEN seller THEN 0 ELSE tax_amount END + ctax)
        FROM r GROUP BY case_id
    UNION ALL SELECT case_id, 'clearing', -sum(refund_amount) FROM r GROUP BY case_id
"""


def _leg_finding(what: str) -> Callable[..., tuple[str, str]]:
    def make(
        case_id: str, leg: str, expected: Decimal, posted: Decimal, currency: str
    ) -> tuple[str, str]:
        return f"case {case_id} leg {leg}", (
            f"{what} {_n(expected)} {currency} (net debit), the journals post {_n(posted)}"
        )

    return make


def refund_journals_match_completion(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """The refund journal posts the breakdown as it stood at completion."""
    snapshot = (
        """
        WITH r AS (
            SELECT ev.case_id, v.code,
                   (row->>'vendor_share')::numeric AS vendor_share,
                   (row->>'platform_share')::numeric AS platform_share,
                   (row->>'commission_reversal')::numeric AS commission_reversal,
                   (row->>'tax_amount')::numeric AS tax_amount,
                   (row->>'refund_amount')::numeric AS refund_amount,
                   {seller} AS seller, @ctax((row->>'commission_reversal')::numeric) AS ctax
            FROM "{event}" ev
            JOIN "{case}" c ON c.id = ev.case_id
            JOIN "{order}" o ON o.id = c.order_id
            JOIN "{channel}" ch ON ch.id = o.channel_id
            CROSS JOIN LATERAL jsonb_array_elements(ev.data->'liabilities') AS row
            JOIN "{vendor}" v ON v.id = (row->>'vendor_id')::bigint
            WHERE ev.from_status = {s_approved} AND ev.to_status = {s_completed}
              AND {completed_c}
              -- A missing refund journal is refunds_posted's finding, not this one's.
              AND (EXISTS (
                       SELECT 1 FROM "{journal}" j WHERE j.case_id = c.id AND j.kind = {k_refund}
                   )
                   -- Or in a detached journals month (ledger.detached_journals).
                   OR EXISTS (
                       SELECT 1 FROM "{detached_case_journals}" x
                       WHERE x.case_id = c.id AND x.refunds > 0
                   ))
        )
    """
        + _LEGS_FROM_ROWS
    )
    sql = _case_legs_sql(snapshot, "{k_refund}")
    rows = _fetch(sql, limit=limit)
    return _findings(
        "refund_journals_match_completion", rows, limit, _leg_finding("completion snapshot says")
    )


def case_postings_match_liabilities(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """A completed case's refund, correction and reversal journals together post
    its current liabilities (the breakdown after any dispute's new shares)."""
    current = (
        """
        WITH r AS (
            SELECT l.case_id, v.code, l.vendor_share, l.platform_share,
                   l.commission_reversal, l.tax_amount, l.refund_amount,
                   {seller} AS seller, @ctax(l.commission_reversal) AS ctax
            {completed_liabilities}
        )
    """
        + _LEGS_FROM_ROWS
    )
    sql = _case_legs_sql(current, "{k_refund}, {k_correction}, {k_reversal}")
    rows = _fetch(sql, limit=limit)
    return _findings(
        "case_postings_match_liabilities", rows, limit, _leg_finding("current liabilities say")
    )
