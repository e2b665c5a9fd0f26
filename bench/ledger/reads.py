"""Part (c) of bench.ledger: filling ledger_entry and reading balances."""

from __future__ import annotations

import argparse
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.common import (
    django_backend_pid,
    in_turn,
    percentile_ms,
    print_table,
)
from bench.ledger.base import (
    CURRENCY,
    FILL_ENTRIES_PER_JOURNAL,
    FILL_KEY_PREFIX,
    TARGET_READ_MS,
    Accounts,
    Block,
    ProbedConnection,
    all_latencies,
    fmt_cpu,
    raw_connection,
    timed,
)

# ---------------------------------------------------------------- (c) balance reads


FILL_CHUNK = """
WITH j AS (
    INSERT INTO ledger_journal (
        posting_key, kind, currency, date, memo, entry_count, created_at, posted_by_process
    )
    SELECT %(prefix)s || g, 'sale', %(currency)s, DATE '2025-01-01' + g %% 365, '', 5, now(),
           'bench'
    FROM generate_series(%(start)s, %(stop)s) AS g
    RETURNING id, date
), e AS (
    INSERT INTO ledger_entry (journal_id, date, account_id, currency, debit, credit, label)
    SELECT j.id, j.date, l.account_id, %(currency)s, l.debit, l.credit, 'sale'
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
        OR bool_or(e.date <> j.date)
) bad
"""
RECOMPUTE_BALANCES = """
INSERT INTO ledger_accountbalance (account_id, currency, debit, credit)
SELECT account_id, currency, sum(debit), sum(credit) FROM ledger_entry GROUP BY 1, 2
ON CONFLICT (account_id, currency) DO UPDATE SET debit = excluded.debit, credit = excluded.credit
"""


def recompute_days_sql(entry_dated: bool) -> str:
    """The daily totals (ledger_accountday) from the entries, in one statement:
    by the entry's own `date` where ledger_entry has one (a copy of its
    journal's, by which it is partitioned), else by its journal's."""
    if entry_dated:
        source = "SELECT account_id, currency, date, debit, credit FROM ledger_entry"
    else:
        source = (
            "SELECT e.account_id, e.currency, j.date, e.debit, e.credit "
            "FROM ledger_entry e JOIN ledger_journal j ON j.id = e.journal_id"
        )
    return f"""
INSERT INTO ledger_accountday (account_id, currency, date, debit, credit)
SELECT account_id, currency, date, sum(debit), sum(credit) FROM ({source}) s GROUP BY 1, 2, 3
ON CONFLICT (account_id, currency, date) DO UPDATE
SET debit = excluded.debit, credit = excluded.credit
"""


def entry_has_date(cur: Any) -> bool:
    """ledger_entry has a `date` column (the journal's, when it is partitioned by month)."""
    cur.execute(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = 'ledger_entry' AND column_name = 'date')"
    )
    return bool(cur.fetchone()[0])


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
            cur.execute(recompute_days_sql(entry_has_date(cur)))
            conn.commit()
            print(
                "  (c) balances and daily totals recomputed from the entries in "
                f"{time.perf_counter() - started:.0f} s"
            )
            conn.autocommit = True
            cur.execute(
                "ANALYZE ledger_journal, ledger_entry, ledger_accountbalance, ledger_accountday"
            )
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
        for call, pid, blocks in in_turn(sides, round_number):
            blocks.append(timed([call] * per_round, pid))
    for _ in range(args.sums):
        result.summed.append(timed([sum_call], service_pid))
    return result


def report_reads(
    results: Sequence[ReadResult], entries: int, target_ms: float = TARGET_READ_MS
) -> float:
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
        f"target account_balance under {target_ms:g} ms: p50 {worst50:.3f} ms "
        f"{'met' if worst50 < target_ms else 'MISSED'}; p99 {worst99:.3f} ms "
        f"{'met' if worst99 < target_ms else 'MISSED'}"
    )
    return worst50
