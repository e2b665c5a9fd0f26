"""The demo's public entry points: load, flush, the ledger backlog, logins.
See the package docstring."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from time import monotonic
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from vendors.models import Vendor, VendorRole

from .. import partitions
from ..models import (
    CaseEvent,
    CaseStatus,
    EventKind,
    Order,
    OutboxMessage,
    RefundCase,
)
from ..partitions import add_months, month_of
from .catalogue import ORDER_DAYS, ORDER_PREFIX, PROGRESS_EVERY, VENDORS, demo_end
from .drafts import DemoError, DemoSummary, Login
from .orders import _Generator
from .people import _Context, _portal_user, _user
from .writers import COLUMNS, Batch, _make_ids, _make_writer, _Writer

# ---------------------------------------------------------------- public API


def existing_orders() -> int:
    return Order.objects.count()


def flush_demo() -> int:
    """Delete every demo order (numbered DEMO-…) and all that hangs off it.

    Returns the number of orders deleted. Raises FlushRefused if rows of another
    app protect demo data (see `_delete_tree`).
    """
    demo = Order.objects.filter(number__startswith=ORDER_PREFIX)
    count = demo.count()
    if count:
        sql, params = demo.values("pk").query.sql_with_params()
        with transaction.atomic(), connection.cursor() as cursor:
            _delete_tree(cursor, Order, sql, tuple(params), depth=0)
    return count


def load_demo(
    *,
    orders: int = 200,
    seed: int = 1,
    batch_size: int = 2000,
    writer: str = "auto",
    progress: Callable[[str], None] | None = None,
    today: date | None = None,
) -> DemoSummary:
    """Load `orders` demo orders with their refund cases; deterministic by `seed`
    and dated in the year before `today` (default: the current UTC date).

    `writer` is "copy" (PostgreSQL only), "orm" (bulk_create) or "auto".
    """
    started = monotonic()
    with transaction.atomic():
        context = _Context.prepare()
    summary = DemoSummary(seed=seed, end=demo_end(today))
    make_months_of(summary.end.date())
    generator = _Generator(context, random.Random(seed), _make_ids(), summary)
    # A second connection writes batch k while this one builds batch k + 1. Not
    # inside a transaction: the writer could not see what this one has not committed.
    overlap = connection.vendor == "postgresql" and not connection.in_atomic_block
    sink = _Sink(_make_writer(writer, batch_size), threaded=overlap and orders > batch_size)
    reported = 0.0
    with _sqlite_checks_off(), sink:
        for start in range(0, orders, batch_size):
            stop = min(orders, start + batch_size)
            batch: Batch = {model: [] for model in COLUMNS}
            for index in range(start, stop):
                generator.order(index, orders, batch)
            for model, rows in batch.items():
                summary.rows[model._meta.verbose_name_plural] += len(rows)
            sink.put(batch)
            elapsed = monotonic() - started
            if progress is not None and elapsed >= reported + PROGRESS_EVERY:
                reported = elapsed
                progress(f"{stop:,} / {orders:,} orders ({stop / elapsed:,.0f} orders/s)")
    summary.seconds = monotonic() - started
    return summary


def make_months_of(end: date) -> list[str]:
    """The monthly partitions of every month the demo dates rows into, from
    ORDER_DAYS before `end` to PARTITION_MONTHS_AHEAD after the current month
    (PostgreSQL; refunds.partitions): without them a year of demo rows would
    sit in the DEFAULT partitions, where no read by date prunes them. A month
    whose rows already sit in DEFAULT (a database loaded before this) is left
    as it is: its rows are as right there, only slower to find."""
    first = month_of(end - timedelta(days=ORDER_DAYS + 1))
    ahead = settings.PARTITION_MONTHS_AHEAD
    last = max(add_months(month_of(), ahead), add_months(month_of(end), ahead))
    months = (last.year - first.year) * 12 + last.month - first.month
    try:
        return partitions.create_ahead(months, today=first)
    except partitions.PartitionError as refused:
        return refused.made


def queue_ledger_backlog() -> int:
    """Outbox messages for the ledger: every demo order paid, and every status
    change into completed (the completions and the corrections after a
    dispute). One INSERT ... SELECT each, so it scales with the data."""
    outbox_table = OutboxMessage._meta.db_table
    now = timezone.now()
    columns = (
        "consumer, topic, order_id, case_id, event_id, event_created_at, created_at, "
        "available_at, attempts, last_error"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {outbox_table} ({columns}) "
            f"SELECT 'ledger', 'order.paid', id, NULL, NULL, NULL, %s, %s, 0, '' "
            f"FROM {Order._meta.db_table} WHERE number LIKE %s ORDER BY id",
            [now, now, f"{ORDER_PREFIX}%"],
        )
        orders = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {outbox_table} ({columns}) "
            f"SELECT 'ledger', 'case.status_changed', NULL, e.case_id, e.id, e.created_at, %s, %s, "
            "0, '' "
            f"FROM {CaseEvent._meta.db_table} e "
            f"JOIN {RefundCase._meta.db_table} c ON c.id = e.case_id "
            f"JOIN {Order._meta.db_table} o ON o.id = c.order_id "
            f"WHERE e.kind = %s AND e.to_status = %s AND o.number LIKE %s ORDER BY e.id",
            [now, now, EventKind.STATUS_CHANGED, CaseStatus.COMPLETED, f"{ORDER_PREFIX}%"],
        )
        return orders + cursor.rowcount


class _Sink:
    """Writes batches, each in its own transaction, in a writer thread if asked.

    Rows are turned into payloads here; the writer thread only waits on the
    database, so it hardly competes for the GIL. One batch is in flight while
    the next is built: memory holds two batches at most.
    """

    def __init__(self, writer: _Writer, *, threaded: bool) -> None:
        self._writer = writer
        self._pool = ThreadPoolExecutor(max_workers=1) if threaded else None
        self._pending: Future[None] | None = None

    def put(self, batch: Batch) -> None:
        payloads = [(model, self._writer.prepare(model, rows)) for model, rows in batch.items()]
        if self._pool is None:
            self._send(payloads)
            return
        self._wait()
        self._pending = self._pool.submit(self._send, payloads)

    def _send(self, payloads: list[tuple[type[models.Model], Any]]) -> None:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Demo data: a crash may lose the last batch, never corrupt one.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            for model, payload in payloads:
                self._writer.send(model, payload)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is None:
            return
        try:
            self._wait()
        finally:
            self._pool.submit(_close_connection).result()
            self._pool.shutdown()


def _close_connection() -> None:
    connection.close()  # the calling thread's own connection


@contextmanager
def _sqlite_checks_off() -> Iterator[None]:
    """SQLite stores decimals as floats, so CHECKs like total = net + tax + shipping
    can fail on exact amounts (6.49 + 1.23 + 5.90). The amounts are exact here
    and PostgreSQL checks them; on SQLite the checks are suspended for the load."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA ignore_check_constraints = ON")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = OFF")


def ensure_admin() -> Login:
    """Create or update the `admin` superuser with a freshly drawn password."""
    password = secrets.token_urlsafe(16)
    user = _user("admin", email="admin@example.com", first_name="Admin", last_name="")
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    return Login("admin", password, "staff superuser")


def create_vendor_logins() -> list[Login]:
    """One portal user per demo vendor, and one who works for two vendors."""
    logins: list[Login] = []
    vendors = {v.code: v for v in Vendor.objects.filter(code__in=[s.code for s in VENDORS])}
    for spec in VENDORS:
        username = f"{spec.code.lower()}.owner"
        logins.append(_portal_user(username, [(vendors[spec.code], VendorRole.OWNER)]))
    shared = [(vendors["KAFFEEWERK"], VendorRole.FINANCE), (vendors["LINNEN"], VendorRole.FINANCE)]
    logins.append(_portal_user("finance.shared", shared))
    return logins


# ---------------------------------------------------------------- flush


class FlushRefused(DemoError):
    pass


def _reverse_relations(model: type[models.Model]) -> list[models.ForeignObjectRel]:
    # include_hidden: relations with related_name="+" (the outbox's) count too.
    return [
        f
        for f in model._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)
    ]


def _delete_tree(
    cursor: Any, model: type[models.Model], keys_sql: str, params: tuple[Any, ...], depth: int
) -> None:
    """Delete the rows `keys_sql` selects and, deepest first, what points at them.

    This app's rows all go (demo data is all here), and other apps' rows that
    cascade with it (notifications); rows that protect it (ledger journals,
    which are immutable) stop the flush.
    """
    if depth > 8:
        raise FlushRefused(f"Relations below {model.__name__} nest too deep to flush.")
    quote = connection.ops.quote_name
    for relation in _reverse_relations(model):
        if relation.on_delete is models.DO_NOTHING:
            continue
        child = relation.related_model
        foreign_key = relation.field
        parent_sql = keys_sql
        if not foreign_key.target_field.primary_key:
            parent_sql = (
                f"SELECT {quote(foreign_key.target_field.column)} "
                f"FROM {quote(model._meta.db_table)} "
                f"WHERE {quote(model._meta.pk.column)} IN ({keys_sql})"
            )
        table, column = quote(child._meta.db_table), quote(foreign_key.column)
        where = f"WHERE {column} IN ({parent_sql})"
        ours = child._meta.app_label == Order._meta.app_label
        if relation.on_delete is models.SET_NULL:
            cursor.execute(f"UPDATE {table} SET {column} = NULL {where}", params)
        elif ours or relation.on_delete is models.CASCADE:
            child_keys = f"SELECT {quote(child._meta.pk.column)} FROM {table} {where}"
            _delete_tree(cursor, child, child_keys, params, depth + 1)
            cursor.execute(f"DELETE FROM {table} {where}", params)
        else:
            cursor.execute(f"SELECT 1 FROM {table} {where} LIMIT 1", params)
            if cursor.fetchone():
                raise FlushRefused(
                    f"{child._meta.label} rows refer to demo data and protect it. "
                    "Recreate the database to start over."
                )
    if depth == 0:
        table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
        cursor.execute(f"DELETE FROM {table} WHERE {pk} IN ({keys_sql})", params)
