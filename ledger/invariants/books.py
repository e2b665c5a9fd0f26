"""Checks on the books themselves: journals balance, balances and daily
totals equal their entries, the trial balance nets to zero, and the posting
backlog."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import connection

from .. import month_keys
from .sql import DEFAULT_LIMIT, Finding, _fetch, _findings, _n, _sql

# ---------------------------------------------------------------- the books


def journals_balance(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Each journal's entries balance, are in its currency and number entry_count."""
    # Journals of detached months: detached_months compares them with the
    # month's record (their entries were checked when it was detached).
    sql = _sql(
        """
        SELECT j.id, j.posting_key, j.entry_count, count(e.id),
               coalesce(sum(e.debit), 0), coalesce(sum(e.credit), 0),
               count(e.id) FILTER (WHERE e.currency <> j.currency), j.currency
        FROM "{journal}" j LEFT JOIN "{entry}" e ON e.journal_id = j.id
        WHERE j.date >= {first_attached}
        GROUP BY j.id, j.date
        HAVING count(e.id) <> j.entry_count
            OR [[coalesce(sum(e.debit), 0) <> coalesce(sum(e.credit), 0)]]
            OR count(e.id) FILTER (WHERE e.currency <> j.currency) > 0
        """
    )

    def make(
        pk: int,
        key: str,
        declared: int,
        found: int,
        dr: Decimal,
        cr: Decimal,
        foreign: int,
        cur: str,
    ) -> tuple[str, str]:
        problems = []
        if found != declared:
            problems.append(f"declares {declared} entries but has {found}")
        if dr != cr:
            problems.append(f"debits {_n(dr)} and credits {_n(cr)} do not balance")
        if foreign:
            problems.append(f"{foreign} entries in another currency than {cur}")
        return f"journal {pk} ({key})", "; ".join(problems)

    return _findings("journals_balance", _fetch(sql, limit=limit), limit, make)


def balances_match_entries(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Maintained balances equal the sums of the entries, with a row for each."""
    # Entries of detached months count as recorded at their detach.
    sql = _sql(
        """
        WITH sums AS (
            SELECT account_id, currency, sum(debit) AS debit, sum(credit) AS credit
            FROM (
                SELECT account_id, currency, debit, credit FROM "{entry}"
                UNION ALL
                SELECT account_id, currency, debit, credit FROM "{detached_total}"
            ) u
            GROUP BY account_id, currency
        )
        SELECT a.code, coalesce(s.currency, b.currency), s.debit, s.credit, b.debit, b.credit
        FROM sums s
        FULL OUTER JOIN "{balance}" b
            ON b.account_id = s.account_id AND b.currency = s.currency
        JOIN "{account}" a ON a.id = coalesce(s.account_id, b.account_id)
        WHERE (b.id IS NULL)
           OR (s.account_id IS NULL AND ([[b.debit <> 0]] OR [[b.credit <> 0]]))
           OR ([[s.debit <> b.debit]] OR [[s.credit <> b.credit]])
        """
    )

    def make(
        code: str,
        currency: str,
        debit: Decimal | None,
        credit: Decimal | None,
        kept_debit: Decimal | None,
        kept_credit: Decimal | None,
    ) -> tuple[str, str]:
        subject = f"account {code} {currency}"
        if kept_debit is None:
            return subject, f"entries (Dr {_n(debit)}, Cr {_n(credit)}) but no balance row"
        return subject, (
            f"balance row says Dr {_n(kept_debit)} Cr {_n(kept_credit)}, "
            f"entries sum to Dr {_n(debit or Decimal(0))} Cr {_n(credit or Decimal(0))}"
        )

    return _findings("balances_match_entries", _fetch(sql, limit=limit), limit, make)


def days_match_entries(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Daily totals equal the entries of each day's journals, with a row for each."""
    # Days of detached months: detached_months compares them with the record.
    sql = _sql(
        """
        WITH sums AS (
            SELECT e.account_id, e.currency, j.date,
                   sum(e.debit) AS debit, sum(e.credit) AS credit
            FROM "{entry}" e JOIN "{journal}" j ON j.id = e.journal_id
            GROUP BY e.account_id, e.currency, j.date
        ),
        days AS (SELECT * FROM "{day}" WHERE date >= {first_attached})
        SELECT a.code, coalesce(s.currency, d.currency), coalesce(s.date, d.date),
               s.debit, s.credit, d.debit, d.credit
        FROM sums s
        FULL OUTER JOIN days d
            ON d.account_id = s.account_id AND d.currency = s.currency AND d.date = s.date
        JOIN "{account}" a ON a.id = coalesce(s.account_id, d.account_id)
        WHERE (d.id IS NULL)
           OR (s.account_id IS NULL AND ([[d.debit <> 0]] OR [[d.credit <> 0]]))
           OR ([[s.debit <> d.debit]] OR [[s.credit <> d.credit]])
        """
    )

    def make(
        code: str,
        currency: str,
        day: object,
        debit: Decimal | None,
        credit: Decimal | None,
        kept_debit: Decimal | None,
        kept_credit: Decimal | None,
    ) -> tuple[str, str]:
        subject = f"account {code} {currency} on {day}"
        if kept_debit is None:
            return subject, f"entries (Dr {_n(debit)}, Cr {_n(credit)}) but no daily total"
        return subject, (
            f"daily total says Dr {_n(kept_debit)} Cr {_n(kept_credit)}, "
            f"entries sum to Dr {_n(debit or Decimal(0))} Cr {_n(credit or Decimal(0))}"
        )

    return _findings("days_match_entries", _fetch(sql, limit=limit), limit, make)


def days_add_up_to_balances(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Each maintained balance is the sum of its account's daily totals."""
    sql = _sql(
        """
        WITH sums AS (
            SELECT account_id, currency, sum(debit) AS debit, sum(credit) AS credit
            FROM "{day}" GROUP BY account_id, currency
        )
        SELECT a.code, coalesce(s.currency, b.currency), s.debit, s.credit, b.debit, b.credit
        FROM sums s
        FULL OUTER JOIN "{balance}" b
            ON b.account_id = s.account_id AND b.currency = s.currency
        JOIN "{account}" a ON a.id = coalesce(s.account_id, b.account_id)
        WHERE [[coalesce(s.debit, 0) <> coalesce(b.debit, 0)]]
           OR [[coalesce(s.credit, 0) <> coalesce(b.credit, 0)]]
        """
    )

    def make(
        code: str,
        currency: str,
        debit: Decimal | None,
        credit: Decimal | None,
        kept_debit: Decimal | None,
        kept_credit: Decimal | None,
    ) -> tuple[str, str]:
        return f"account {code} {currency}", (
            f"balance row says Dr {_n(kept_debit or Decimal(0))} "
            f"Cr {_n(kept_credit or Decimal(0))}, its daily totals sum to "
            f"Dr {_n(debit or Decimal(0))} Cr {_n(credit or Decimal(0))}"
        )

    return _findings("days_add_up_to_balances", _fetch(sql, limit=limit), limit, make)


def detached_months(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Detached entries months still agree with what was recorded at their detach."""
    # Per month: its daily totals per account and currency (the entries' sums
    # when it was detached), its journals and their entry counts, and its sale
    # and payout journals' sources (what they captured or paid out) against
    # the journals' debits. Once the month's journals were detached too, they
    # are counted, and their sources summed, as recorded at that detach
    # (ledger.detached_journals: checked against the journals then).
    sql = _sql(
        """
        WITH months AS (SELECT month, next_month, journals, entries FROM "{detached_month}"),
        days AS (
            SELECT m.month, d.account_id, d.currency,
                   sum(d.debit) AS debit, sum(d.credit) AS credit
            FROM "{day}" d JOIN months m ON d.date >= m.month AND d.date < m.next_month
            GROUP BY m.month, d.account_id, d.currency
        ),
        sources AS (
            SELECT month, kind, currency, sum(journals) AS journals, sum(amount) AS amount
            FROM (
                SELECT m.month, j.kind, j.currency, 1 AS journals,
                       CASE WHEN j.kind = {k_sale} THEN o.captured_amount
                            ELSE p.amount + p.receivable_offset END AS amount
                FROM months m
                JOIN "{journal}" j ON j.date >= m.month AND j.date < m.next_month
                LEFT JOIN "{order}" o ON o.id = j.order_id
                LEFT JOIN "{payout}" p ON p.id = j.payout_id
                WHERE j.kind IN ({k_sale}, {k_payout})
                UNION ALL
                -- Months whose journals were detached too: their sources as
                -- recorded then (sales_posted and payouts_posted hold the
                -- sources to these records).
                SELECT month, kind, currency, journals, amount FROM "{detached_source}"
            ) u
            GROUP BY month, kind, currency
        )
        SELECT coalesce(t.month, d.month), 'account', a.code || ' ' || coalesce(t.currency, d.currency),
               t.debit, t.credit, d.debit, d.credit
        FROM "{detached_total}" t
        FULL OUTER JOIN days d
            ON d.month = t.month AND d.account_id = t.account_id AND d.currency = t.currency
        JOIN "{account}" a ON a.id = coalesce(t.account_id, d.account_id)
        WHERE [[coalesce(t.debit, 0) <> coalesce(d.debit, 0)]]
           OR [[coalesce(t.credit, 0) <> coalesce(d.credit, 0)]]
        UNION ALL
        SELECT m.month, 'journals', '', m.journals, m.entries,
               count(j.id) + coalesce(r.journals, 0),
               coalesce(sum(j.entry_count), 0) + coalesce(r.entries, 0)
        FROM months m
        -- Journals detached too: as counted at their detach.
        LEFT JOIN "{detached_journal_month}" r ON r.month = m.month
        LEFT JOIN "{journal}" j ON j.date >= m.month AND j.date < m.next_month
        GROUP BY m.month, m.journals, m.entries, r.journals, r.entries
        HAVING count(j.id) + coalesce(r.journals, 0) <> m.journals
            OR coalesce(sum(j.entry_count), 0) + coalesce(r.entries, 0) <> m.entries
        UNION ALL
        SELECT coalesce(g.month, s.month), coalesce(g.kind, s.kind),
               coalesce(g.currency, s.currency), g.journals, g.debit, s.journals, s.amount
        FROM "{detached_digest}" g
        FULL OUTER JOIN sources s
            ON s.month = g.month AND s.kind = g.kind AND s.currency = g.currency
        WHERE coalesce(g.journals, 0) <> coalesce(s.journals, 0)
           OR [[coalesce(g.debit, 0) <> coalesce(s.amount, 0)]]
        """
    )

    def make(
        month: object,
        what: str,
        subject: str,
        kept_a: Decimal | int | None,
        kept_b: Decimal | int | None,
        found_a: Decimal | int | None,
        found_b: Decimal | int | None,
    ) -> tuple[str, str]:
        month = str(month)[:7]
        if what == "account":
            return f"detached {month} account {subject}", (
                f"recorded Dr {_n(_d(kept_a))} Cr {_n(_d(kept_b))} at the detach, its daily "
                f"totals sum to Dr {_n(_d(found_a))} Cr {_n(_d(found_b))}"
            )
        if what == "journals":
            return f"detached {month} journals", (
                f"recorded {kept_a} journals of {kept_b} entries at the detach, "
                f"ledger_journal (with its detached journals as recorded) has "
                f"{found_a} of {found_b}"
            )
        return f"detached {month} {what} journals {subject}", (
            f"recorded {kept_a or 0} journals posting {_n(_d(kept_b))} at the detach; "
            f"{found_a or 0} journals there, whose sources say {_n(_d(found_b))}"
        )

    return _findings("detached_months", _fetch(sql, limit=limit), limit, make)


def _d(value: object) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))


def journals_in_open_periods(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """No journal was posted into a month after the month (last) closed."""
    # A journal's month is the latest period row on or before its date: every
    # month posted in has a row (ledger.periods), so that is its own month.
    # A detached journals month (never reopened again: ledger.closing) by the
    # latest posting recorded at its detach.
    sql = _sql(
        """
        SELECT j.id, j.posting_key, j.date, p.month, p.closed_at, j.created_at
        FROM "{journal}" j
        JOIN "{period}" p
            ON p.month = (SELECT max(q.month) FROM "{period}" q WHERE q.month <= j.date)
        WHERE p.status = 'closed' AND j.created_at > p.closed_at
        UNION ALL
        SELECT NULL, NULL, r.month, p.month, p.closed_at, r.last_posted
        FROM "{detached_journal_month}" r
        JOIN "{period}" p ON p.month = r.month
        WHERE p.status = 'closed' AND r.last_posted > p.closed_at
        """
    )

    def make(
        pk: int | None, key: str | None, day: object, month: object, closed: object, posted: object
    ) -> tuple[str, str]:
        if pk is None:
            return f"detached journals of {str(month)[:7]}", (
                f"the period of {month}, closed at {closed}, but the last of them was "
                f"posted at {posted} (recorded at their detach)"
            )
        return f"journal {pk} ({key})", (
            f"dated {day} in the period of {month}, closed at {closed}, but posted at {posted}"
        )

    return _findings("journals_in_open_periods", _fetch(sql, limit=limit), limit, make)


def trial_balance_nets_to_zero(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Per currency, all debit totals equal all credit totals."""
    sql = _sql(
        """
        SELECT currency, sum(debit), sum(credit) FROM "{balance}"
        GROUP BY currency HAVING [[sum(debit) <> sum(credit)]]
        """
    )

    def make(currency: str, debit: Decimal, credit: Decimal) -> tuple[str, str]:
        return f"trial balance {currency}", f"debits {_n(debit)} but credits {_n(credit)}"

    return _findings("trial_balance", _fetch(sql, limit=limit), limit, make)


def outbox_backlog(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Ledger messages not consumed yet: the books lag their sources."""
    sql = _sql(
        """
        SELECT failed_at IS NOT NULL, count(*), min(created_at),
               count(DISTINCT order_id), count(DISTINCT case_id)
        FROM "{outbox}" WHERE consumer = {consumer}
        GROUP BY failed_at IS NOT NULL
        """
    )
    findings = []
    for failed, count, oldest, orders, cases in _fetch(sql):
        if isinstance(oldest, str):  # SQLite returns the text it stored
            oldest = datetime.fromisoformat(oldest)
        what = "failed for good (parked for staff)" if failed else "pending"
        findings.append(
            Finding(
                "outbox_backlog",
                f"{count} {what} ledger messages",
                f"oldest from {oldest:%Y-%m-%d %H:%M:%S}; the checks below leave out the "
                f"{orders} orders and {cases} cases they concern (and their vendors' payables)",
            )
        )
    return findings[:limit]


def entries_keyed(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """Every attached month of the entries has its foreign key into the journals."""
    # ledger.month_keys: each entries month points into its own journals
    # month (or the whole of ledger_journal). A month made by hand, or by a
    # create-ahead of the code before ledger 0013, has none: nothing in the
    # database then refuses an entry without its journal.
    findings = []
    with connection.cursor() as cursor:
        for table, pending in month_keys.unkeyed(cursor)[:limit]:
            if pending:
                detail = (
                    "its key into the journals is NOT VALID yet (its rows are not proven): "
                    f"ALTER TABLE {table} VALIDATE CONSTRAINT <its key>; it holds no writer off"
                )
            else:
                journals = month_keys.key_target_of(cursor, table)
                detail = (
                    "no foreign key into the journals (made or attached by hand, or by a "
                    "create-ahead of the code before ledger 0013): nothing refuses an entry "
                    f"without its journal there. Add it: {month_keys.key_sql(table, journals)}"
                )
            findings.append(Finding("entries_keyed", table, detail))
    return findings
