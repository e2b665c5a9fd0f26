"""Filling bench.ledger_scale's ledger by COPY: balanced five-entry journals
over `--days` days and many accounts, then the balances and daily totals
rebuilt from the entries in one statement each."""

from __future__ import annotations

import argparse
import calendar
import io
import math
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.ledger.base import raw_connection
from bench.ledger.reads import CHECK_CHUNK, RECOMPUTE_BALANCES, entry_has_date, recompute_days_sql
from ledger import month_keys

CURRENCY = "EUR"
KEY_PREFIX = "bench-scale:"
VENDOR_PREFIX = "bscale-"
ENTRIES_PER_JOURNAL = 5
JOURNAL_COLUMNS = (
    "id",
    "posting_key",
    "kind",
    "currency",
    "date",
    "memo",
    "entry_count",
    "created_at",
    "posted_by_process",
)
ENTRY_COLUMNS = ("id", "journal_id", "account_id", "currency", "debit", "credit", "label")
TABLES = ("ledger_journal", "ledger_entry")


@dataclass(frozen=True)
class Layout:
    """What the fill writes and where: the days, the accounts, and the vendor
    whose statement of one month holds about `--statement-entries` entries."""

    first_day: date
    days: int
    payables: tuple[int, ...]  # per vendor; the first is the statement's vendor
    receivables: tuple[int, ...]
    clearings: tuple[int, ...]
    commission: int
    tax: int
    bank: int
    statement_month: date  # the big vendor's month
    quota: int  # its journals per day of that month (the first `quota` of each day)

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=self.days - 1)

    @property
    def statement_days(self) -> range:
        """Day numbers (from first_day) of the statement month."""
        start = (self.statement_month - self.first_day).days
        length = calendar.monthrange(self.statement_month.year, self.statement_month.month)[1]
        return range(max(start, 0), min(start + length, self.days))

    def months(self) -> list[date]:
        months, month = [], self.first_day.replace(day=1)
        while month <= self.last_day:
            months.append(month)
            month = next_month(month)
        return months


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_end(month: date) -> date:
    return next_month(month) - timedelta(days=1)


def date_range(days: int, today: date) -> tuple[date, date]:
    """`days` days ending on the last day of the month before `today`'s: whole
    months at the end, so the last one has a complete statement."""
    last = today.replace(day=1) - timedelta(days=1)
    return last - timedelta(days=days - 1), last


def cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


def journal_legs(n: int, layout: Layout) -> tuple[str, list[tuple[int, str, str]]]:
    """Journal `n`'s kind and five legs (account, debit, credit), balanced:
    a sale (Dr clearing; Cr two vendors' payables, commission, output tax),
    every tenth a refund (the sale's mirror), every twentieth a payout (Dr two
    payables; Cr their receivables and the bank)."""
    vendors = len(layout.payables)
    a = (n * 7919) % vendors
    b = (a + 1 + n % (vendors - 1)) % vendors
    day = n % layout.days
    if n // layout.days < layout.quota and day in layout.statement_days:
        a = 0
        b = b or 1
    first, second = 1000 + n % 9000, 550 + (n * 37) % 4000
    commission, tax = 100 + n % 700, 200 + (n * 13) % 900
    pay_a, pay_b = layout.payables[a], layout.payables[b]
    zero = "0"
    if n % 20 == 19:
        owed_a, owed_b = 100 + n % 400, 100 + (n * 7) % 400
        return "payout", [
            (pay_a, cents(first), zero),
            (pay_b, cents(second), zero),
            (layout.receivables[a], zero, cents(owed_a)),
            (layout.receivables[b], zero, cents(owed_b)),
            (layout.bank, zero, cents(first + second - owed_a - owed_b)),
        ]
    total = cents(first + second + commission + tax)
    clearing = layout.clearings[n % len(layout.clearings)]
    legs = [
        (clearing, total, zero),
        (pay_a, zero, cents(first)),
        (pay_b, zero, cents(second)),
        (layout.commission, zero, cents(commission)),
        (layout.tax, zero, cents(tax)),
    ]
    if n % 10 == 9:
        return "refund", [(account, credit, debit) for account, debit, credit in legs]
    return "sale", legs


def copy_text(
    layout: Layout, start: int, stop: int, *, entry_dated: bool
) -> tuple[io.StringIO, io.StringIO, io.StringIO]:
    """COPY text of journals start..stop-1 (ids start+1...), their entries
    (ids 5 per journal; they carry their journal's date when `entry_dated`)
    and their posting keys (ledger_journalkey, which the disabled trigger
    would have written)."""
    days = [(layout.first_day + timedelta(days=d)).isoformat() for d in range(layout.days)]
    journals: list[str] = []
    entries: list[str] = []
    keys: list[str] = []
    for n in range(start, stop):
        kind, legs = journal_legs(n, layout)
        journal_id = n + 1
        day = days[n % layout.days]
        journals.append(
            f"{journal_id}\t{KEY_PREFIX}{journal_id:010d}\t{kind}\t{CURRENCY}\t{day}\t\t"
            f"{ENTRIES_PER_JOURNAL}\t{day} 12:00:00+00\tbench-scale\n"
        )
        keys.append(f"{KEY_PREFIX}{journal_id:010d}\t{journal_id}\t{day}\n")
        tail = f"\t{kind}\t{day}\n" if entry_dated else f"\t{kind}\n"
        entry_id = n * ENTRIES_PER_JOURNAL
        for account, debit, credit in legs:
            entry_id += 1
            entries.append(
                f"{entry_id}\t{journal_id}\t{account}\t{CURRENCY}\t{debit}\t{credit}{tail}"
            )
    return io.StringIO("".join(journals)), io.StringIO("".join(entries)), io.StringIO("".join(keys))


# ---------------------------------------------------------------- accounts


def make_layout(args: argparse.Namespace, first_day: date, last_day: date) -> Layout:
    """The vendors (created if missing) and accounts of a fill from
    `first_day` to `last_day`."""
    from ledger.models import Account, AccountRole
    from ledger.posting import Chart, ensure_payable_accounts, ensure_vendor_accounts
    from vendors.models import PayoutFrequency, Vendor

    codes = [f"{VENDOR_PREFIX}{n:05d}" for n in range(args.vendors)]
    Vendor.objects.bulk_create(
        [
            Vendor(
                code=code,
                name=f"Scale bench vendor {n}",
                commission_rate=Decimal("0.1000"),
                payout_frequency=PayoutFrequency.MONTHLY,
            )
            for n, code in enumerate(codes)
        ],
        ignore_conflicts=True,
    )
    by_code = dict(Vendor.objects.filter(code__in=codes).values_list("code", "id"))
    vendor_ids = [by_code[code] for code in codes]
    payables = ensure_payable_accounts(vendor_ids)
    receivables = ensure_vendor_accounts(AccountRole.VENDOR_RECEIVABLE, vendor_ids)
    chart = Chart()
    statement_month = last_day.replace(day=1)
    month_days = calendar.monthrange(statement_month.year, statement_month.month)[1]
    return Layout(
        first_day=first_day,
        days=(last_day - first_day).days + 1,
        payables=tuple(payables[v] for v in vendor_ids),
        receivables=tuple(receivables[v] for v in vendor_ids),
        clearings=tuple(
            Account.objects.filter(role=AccountRole.GATEWAY_CLEARING)
            .order_by("code")
            .values_list("id", flat=True)
        ),
        commission=chart.role(AccountRole.COMMISSION_INCOME),
        tax=chart.output_tax(Decimal("0.20"), "", CURRENCY),
        bank=chart.bank_for(CURRENCY),
        statement_month=statement_month,
        quota=math.ceil(args.statement_entries / month_days),
    )


# ---------------------------------------------------------------- filling


def ledger_is_empty(url: str) -> bool:
    conn = raw_connection(url, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT NOT EXISTS (SELECT 1 FROM ledger_entry) "
                "AND NOT EXISTS (SELECT 1 FROM ledger_journal)"
            )
            return bool(cur.fetchone()[0])
    finally:
        conn.close()


def ensure_partitions(cur: Any, layout: Layout) -> list[str]:
    """For each of ledger_entry and ledger_journal that is partitioned (by
    month of its `date`), the monthly partitions of the fill's months, named
    as refunds.partitions names its own; a month another partition already
    covers is left as it is. Each entries month of that name gets its key
    into its journals month (ledger.month_keys), as refunds.partitions gives
    the months it makes."""
    made = []
    linked = []
    for table in TABLES:
        cur.execute("SELECT c.relkind = 'p' FROM pg_class c WHERE c.oid = %s::regclass", [table])
        if not cur.fetchone()[0]:
            continue
        for month in layout.months():
            name = f"{table}_y{month.year:04d}m{month.month:02d}"
            cur.execute("SAVEPOINT partition")
            try:
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} "
                    "FOR VALUES FROM (%s) TO (%s)",
                    [month, next_month(month)],
                )
            except Exception as error:  # overlaps a partition of another name: keep that one
                if getattr(error, "pgcode", None) != "42P17":
                    raise
                cur.execute("ROLLBACK TO SAVEPOINT partition")
            else:
                made.append(name)
            cur.execute("RELEASE SAVEPOINT partition")
            if table == month_keys.ENTRIES:
                linked.append(month)
    for month in linked:
        cur.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(%s))",
            [month_keys.month_name(month_keys.ENTRIES, month)],
        )
        if cur.fetchone()[0]:
            month_keys.link_month(cur, month)
    return made


def journal_keys_table(cur: Any) -> bool:
    """ledger_journalkey exists (the posting keys, once across the journals' months)."""
    cur.execute("SELECT to_regclass('ledger_journalkey') IS NOT NULL")
    return bool(cur.fetchone()[0])


def _chunks(journals: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, journals, size):
        yield start, min(start + size, journals)


def fill(args: argparse.Namespace, url: str, layout: Layout) -> dict[str, float]:
    """Write ceil(--entries / 5) journals by COPY, `--chunk-journals` a
    transaction. In each, the USER triggers of ledger_journal and ledger_entry
    (the deferred balance check, immutability, the open-period check) are
    disabled for the COPY and enabled again before COMMIT, and the chunk is
    checked set-wise instead (each journal balances, in its currency, with its
    entry_count entries); foreign keys are checked row by row, immediately. The
    text of the next chunk is made while the database writes this one."""
    journals = math.ceil(args.entries / ENTRIES_PER_JOURNAL)
    conn = raw_connection(url)
    took: dict[str, float] = {}
    started = time.perf_counter()
    try:
        with conn.cursor() as cur:
            entry_dated = entry_has_date(cur)
            keyed = journal_keys_table(cur)
            made = ensure_partitions(cur, layout)
            conn.commit()
            columns = ENTRY_COLUMNS + (("date",) if entry_dated else ())
            print(
                f"fill: {journals:,} journals, {journals * ENTRIES_PER_JOURNAL:,} entries by COPY, "
                f"{layout.first_day} to {layout.last_day}, {len(layout.payables):,} vendors; "
                f"ledger_entry {'with' if entry_dated else 'without'} a date column"
                + (f", {len(made)} monthly partitions made" if made else ""),
                flush=True,
            )
            chunks = list(_chunks(journals, args.chunk_journals))
            with ThreadPoolExecutor(max_workers=1) as maker:

                def make(i: int) -> Future[tuple[io.StringIO, io.StringIO, io.StringIO]]:
                    start, stop = chunks[i]
                    return maker.submit(copy_text, layout, start, stop, entry_dated=entry_dated)

                upcoming = make(0) if chunks else None
                for i, (start, stop) in enumerate(chunks):
                    assert upcoming is not None
                    journal_text, entry_text, key_text = upcoming.result()
                    upcoming = make(i + 1) if i + 1 < len(chunks) else None
                    copy_chunk(
                        cur, journal_text, entry_text, columns, start + 1, stop,
                        key_text=key_text if keyed else None,
                    )  # fmt: skip
                    conn.commit()
                    elapsed = time.perf_counter() - started
                    rate = stop * ENTRIES_PER_JOURNAL / elapsed
                    left = (journals - stop) * ENTRIES_PER_JOURNAL / rate
                    print(
                        f"  {stop * ENTRIES_PER_JOURNAL:,} entries, {rate:,.0f} entries/s, "
                        f"{elapsed:.0f} s, about {left:.0f} s left",
                        flush=True,
                    )
            took["copy"] = time.perf_counter() - started
            for table, count in (("ledger_journal", journals), ("ledger_entry", journals * 5)):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [count])
            step = time.perf_counter()
            cur.execute(RECOMPUTE_BALANCES)
            conn.commit()
            took["balances"] = time.perf_counter() - step
            step = time.perf_counter()
            cur.execute(recompute_days_sql(entry_dated))
            conn.commit()
            took["days"] = time.perf_counter() - step
            print(
                f"fill: balances rebuilt from the entries in {took['balances']:.0f} s, "
                f"daily totals in {took['days']:.0f} s",
                flush=True,
            )
            open_periods(layout)
            step = time.perf_counter()
            conn.autocommit = True
            # As autovacuum would leave them: statistics, and the small tables'
            # visibility maps (index-only scans).
            cur.execute("VACUUM ANALYZE ledger_accountday, ledger_accountbalance")
            cur.execute("ANALYZE ledger_journal, ledger_entry")
            took["analyze"] = time.perf_counter() - step
            disabled = triggers_disabled(cur)
            if disabled:
                raise RuntimeError(f"fill: user triggers left disabled: {', '.join(disabled)}")
    finally:
        conn.close()
    took["total"] = time.perf_counter() - started
    return took


def copy_chunk(
    cur: Any,
    journal_text: io.StringIO,
    entry_text: io.StringIO,
    entry_columns: Sequence[str],
    low: int,
    high: int,
    *,
    key_text: io.StringIO | None = None,
) -> None:
    """One chunk in the current transaction, its user triggers off only around
    the COPY; with `key_text`, the journals' keys too (ledger_journalkey, which
    the journals' disabled trigger would write)."""
    # The foreign keys (DEFERRABLE INITIALLY DEFERRED, as Django makes them)
    # checked row by row as the rows arrive: a table with trigger events
    # pending cannot have its triggers enabled again.
    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for table in TABLES:
        cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    cur.copy_expert(
        f"COPY ledger_journal ({', '.join(JOURNAL_COLUMNS)}) FROM STDIN", journal_text, 1 << 20
    )
    cur.copy_expert(
        f"COPY ledger_entry ({', '.join(entry_columns)}) FROM STDIN", entry_text, 1 << 20
    )
    if key_text is not None:
        cur.copy_expert(
            "COPY ledger_journalkey (posting_key, journal_id, date) FROM STDIN", key_text, 1 << 20
        )
    for table in TABLES:
        cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    cur.execute(CHECK_CHUNK, [low, high])
    if bad := cur.fetchone()[0]:
        raise RuntimeError(f"fill: {bad} journals would not balance")


def triggers_disabled(cur: Any) -> list[str]:
    """User triggers of the ledger's tables (and their partitions) not enabled."""
    cur.execute(
        "SELECT c.relname || '.' || t.tgname FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND t.tgenabled = 'D' AND c.relname LIKE 'ledger\\_%%'"
    )
    return [name for (name,) in cur.fetchall()]


def open_periods(layout: Layout) -> None:
    """The (open) accounting period of each month posted in, as posting makes them."""
    from ledger.models import AccountingPeriod

    AccountingPeriod.objects.bulk_create(
        [AccountingPeriod(month=month) for month in layout.months()], ignore_conflicts=True
    )


def database_size(url: str) -> dict[str, int]:
    """Bytes of the database and of the ledger's big tables (indexes included)."""
    conn = raw_connection(url, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            sizes = {"database": cur.fetchone()[0]}
            for table in ("ledger_entry", "ledger_journal", "ledger_accountday"):
                # A partitioned table's size is its partitions'.
                cur.execute(
                    "SELECT CASE WHEN c.relkind = 'p' THEN (SELECT sum(pg_total_relation_size("
                    "t.relid)) FROM pg_partition_tree(c.oid) t) ELSE pg_total_relation_size(c.oid) "
                    "END FROM pg_class c WHERE c.oid = %s::regclass",
                    [table],
                )
                sizes[table] = int(cur.fetchone()[0] or 0)
            return sizes
    finally:
        conn.close()


def today_utc() -> date:
    return datetime.now(UTC).date()
