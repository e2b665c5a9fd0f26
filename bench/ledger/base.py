"""Settings, connections, statement probes, timing blocks, fixtures and raw SQL writes for bench.ledger."""

from __future__ import annotations

import gc
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg2
import psycopg2.extensions
from psycopg2.extras import execute_values

from bench.common import (
    backend_cpu_ns,
    statement_label,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/splitledger_ledgerbench"
CURRENCY = "EUR"
VENDOR_COUNT = 50
VENDOR_PREFIX = "lbench-v"
# The baseline of (b) drains its own copy of the backlog, kept apart from the
# ledger consumer's by this consumer name, and writes its journals under keys
# with this prefix (the service's are `sale:<order id>`).
RAW_CONSUMER = "bench-raw-ledger"
RAW_KEY_PREFIX = "bench-raw:"
FILL_KEY_PREFIX = "bench-fill:"
FILL_ENTRIES_PER_JOURNAL = 5

TARGET_POST_RATIO = 0.5
TARGET_DRAIN_RATIO = 0.3
TARGET_READ_MS = 1.0


# ---------------------------------------------------------------- the database


def raw_connection(url: str, *, autocommit: bool = False) -> ProbedConnection:
    conn = psycopg2.connect(
        url,
        options="-c timezone=UTC",
        connection_factory=ProbedConnection,
        cursor_factory=ProbedCursor,
    )
    conn.autocommit = autocommit
    return conn


# ---------------------------------------------------------------- measuring


@dataclass
class Probe:
    """Statements sent and the time spent in them, per label."""

    counts: Counter[str] = field(default_factory=Counter)
    nanoseconds: Counter[str] = field(default_factory=Counter)

    @contextmanager
    def statement(self, query: str | bytes) -> Iterator[None]:
        label = statement_label(query.decode() if isinstance(query, bytes) else query)
        started = time.perf_counter_ns()
        try:
            yield
        finally:
            self.counts[label] += 1
            self.nanoseconds[label] += time.perf_counter_ns() - started

    def merge(self, other: Probe) -> None:
        self.counts.update(other.counts)
        self.nanoseconds.update(other.nanoseconds)

    def total_ns(self) -> int:
        return self.nanoseconds.total()

    def summary(self, per: int) -> str:
        """`SELECT ledger_journal 1 (0.41 ms), INSERT ...` per unit of work."""
        return ", ".join(
            f"{label} {self.counts[label] / per:g} ({self.nanoseconds[label] / per / 1e6:.2f} ms)"
            for label in self.counts
        )


class ProbedConnection(psycopg2.extensions.connection):
    """A baseline's connection; statements go through `probe` when it is set."""

    probe: Probe | None = None


class ProbedCursor(psycopg2.extensions.cursor):
    """The baseline's cursor: every statement through the connection's probe."""

    def execute(self, query: Any, vars: Any = None) -> None:
        probe = getattr(self.connection, "probe", None)
        if probe is None:
            super().execute(query, vars)
            return
        with probe.statement(query):
            super().execute(query, vars)


def commit_raw(conn: Any) -> None:
    probe = getattr(conn, "probe", None)
    if probe is None:
        conn.commit()
        return
    with probe.statement("COMMIT"):
        conn.commit()


@contextmanager
def probing_django(probe: Probe) -> Iterator[None]:
    """Route Django's statements (SAVEPOINT, RELEASE included) and COMMIT through `probe`."""
    from django.db import connections

    conn = connections["default"]
    commit = conn.commit

    def wrapper(execute: Any, query: str, params: Any, many: bool, context: Any) -> Any:
        with probe.statement(query):
            return execute(query, params, many, context)

    def probed_commit() -> None:
        with probe.statement("COMMIT"):
            commit()

    conn.commit = probed_commit
    try:
        with conn.execute_wrapper(wrapper):
            yield
    finally:
        del conn.commit


@dataclass
class Block:
    """One timed run of a side: wall and CPU time, and per-call latencies."""

    units: int
    wall_ns: int
    client_cpu_ns: int
    server_cpu_ns: int | None
    latencies_ns: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.units / (self.wall_ns / 1e9)


def timed(
    calls: Sequence[Callable[[], int]], server_pid: int | None, *, latencies: bool = True
) -> Block:
    """Run `calls` back to back; each returns how many units of work it did."""
    gc.collect()
    clock = time.perf_counter_ns
    server = backend_cpu_ns(server_pid)
    cpu = time.thread_time_ns()
    lat: list[int] = []
    units = 0
    started = clock()
    for call in calls:
        before = clock()
        units += call()
        if latencies:
            lat.append(clock() - before)
    wall = clock() - started
    cpu = time.thread_time_ns() - cpu
    after = backend_cpu_ns(server_pid)
    server_ns = after - server if server is not None and after is not None else None
    return Block(units, wall, cpu, server_ns, lat)


def all_latencies(blocks: Sequence[Block]) -> list[int]:
    return [value for block in blocks for value in block.latencies_ns]


def cpu_per_unit_ms(blocks: Sequence[Block]) -> tuple[float, float | None]:
    """Client CPU and database backend CPU per unit of work, in milliseconds."""
    units = sum(b.units for b in blocks)
    client = sum(b.client_cpu_ns for b in blocks) / units / 1e6
    if any(b.server_cpu_ns is None for b in blocks):
        return client, None
    return client, sum(b.server_cpu_ns or 0 for b in blocks) / units / 1e6


def cpu_ratio(side: Sequence[Block], baseline: Sequence[Block]) -> str:
    """Baseline CPU over the side's CPU per unit (client + database): what the
    wall-time ratio tends to when neither side waits for a busy machine."""
    side_cpu, baseline_cpu = cpu_per_unit_ms(side), cpu_per_unit_ms(baseline)
    if side_cpu[1] is None or baseline_cpu[1] is None:
        return "?"
    return f"{(baseline_cpu[0] + baseline_cpu[1]) / (side_cpu[0] + side_cpu[1]):.2f}"


def fmt_cpu(blocks: Sequence[Block], *, micro: bool = False) -> tuple[str, str]:
    """Client and database CPU per unit of work, as ms (3 decimals) or µs."""
    client, server = cpu_per_unit_ms(blocks)

    def cell(value: float | None) -> str:
        if value is None:
            return "?"
        return f"{value * 1000:.0f}" if micro else f"{value:.3f}"

    return cell(client), cell(server)


# ---------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class Accounts:
    clearing: int  # gateway clearing, card: in every journal here (the hot balance row)
    commission: int
    tax: int
    vendors: tuple[int, ...]
    payables: tuple[int, ...]  # payable account of each vendor, same order

    def pair(self, n: int) -> tuple[int, int]:
        """Two different payables for journal `n` (spread over all vendors)."""
        count = len(self.payables)
        first = n % count
        second = (first + 1 + n % (count - 1)) % count
        return self.payables[first], self.payables[second]


def bench_accounts() -> Accounts:
    from ledger.models import AccountRole
    from ledger.posting import Chart, ensure_payable_accounts
    from vendors.models import Vendor

    vendors = [
        Vendor.objects.get_or_create(
            code=f"{VENDOR_PREFIX}{n:02d}",
            defaults={"name": f"Ledger bench vendor {n}", "commission_rate": Decimal("0.1000")},
        )[0].pk
        for n in range(VENDOR_COUNT)
    ]
    payable = ensure_payable_accounts(vendors)
    chart = Chart()
    return Accounts(
        clearing=chart.clearing_for("card"),
        commission=chart.role(AccountRole.COMMISSION_INCOME),
        # Output tax at 20% in EUR (the account of that tax code and currency).
        tax=chart.output_tax(Decimal("0.20"), "", "EUR"),
        vendors=tuple(vendors),
        payables=tuple(payable[v] for v in vendors),
    )


def cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


# ---------------------------------------------------------------- raw writing

INSERT_JOURNALS = """
    INSERT INTO ledger_journal (
        posting_key, kind, currency, date, memo, order_id, case_id, payout_id, reverses_id,
        entry_count, created_at, posted_by_process
    ) VALUES %s RETURNING id
"""
INSERT_ENTRIES = (
    "INSERT INTO ledger_entry (journal_id, date, account_id, currency, debit, credit, label) "
    "VALUES %s"
)
# The statement ledger.posting._add_to_balances sends.
UPSERT_BALANCES = """
    INSERT INTO ledger_accountbalance (account_id, currency, debit, credit) VALUES %s
    ON CONFLICT (account_id, currency) DO UPDATE SET
    debit = ledger_accountbalance.debit + excluded.debit,
    credit = ledger_accountbalance.credit + excluded.credit
"""
# ... and the one that adds each account's delta to its total of the day.
UPSERT_DAYS = """
    INSERT INTO ledger_accountday (account_id, currency, date, debit, credit) VALUES %s
    ON CONFLICT (account_id, currency, date) DO UPDATE SET
    debit = ledger_accountday.debit + excluded.debit,
    credit = ledger_accountday.credit + excluded.credit
"""
DELETE_MESSAGES = "DELETE FROM refunds_outboxmessage WHERE id = ANY(%s)"


def write_journals(cur: Any, drafts: Sequence[Any], now: datetime) -> None:
    """The rows post_journals writes for `drafts`, in the plainest statements:
    one INSERT for all the journals (no ON CONFLICT: the keys are new), one per
    5,000 entries, one upsert per 1,000 balance rows and one per 1,000 daily
    totals (AccountDay), summed and in account order as posting does."""
    ids = execute_values(
        cur,
        INSERT_JOURNALS,
        [
            (
                d.posting_key, d.kind, d.currency, d.date, d.memo[:300], d.order_id, d.case_id,
                d.payout_id, d.reverses_id, len(d.lines), now, "bench",
            )
            for d in drafts
        ],
        page_size=len(drafts),
        fetch=True,
    )  # fmt: skip
    entries = []
    deltas: dict[tuple[int, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    days: dict[tuple[int, str, Any], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for (journal_id,), draft in zip(ids, drafts, strict=True):
        for account_id, debit, credit, label in draft.lines:
            entries.append(
                (journal_id, draft.date, account_id, draft.currency, debit, credit, label)
            )
            for delta in (
                deltas[(account_id, draft.currency)],
                days[(account_id, draft.currency, draft.date)],
            ):
                delta[0] += debit
                delta[1] += credit
    execute_values(cur, INSERT_ENTRIES, entries, page_size=5000)
    for statement, totals in ((UPSERT_BALANCES, deltas), (UPSERT_DAYS, days)):
        rows = [(*key, debit, credit) for key, (debit, credit) in sorted(totals.items())]
        for start in range(0, len(rows), 1000):
            execute_values(cur, statement, rows[start : start + 1000], page_size=1000)
