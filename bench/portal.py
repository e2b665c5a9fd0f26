"""Benchmark: the vendor portal and the staff dashboard on 1,000,000 refund cases.

    .venv/bin/python -m bench.portal [--cases 1000000] [--vendors 30] [--requests 100]
                                     [--staff-requests 20] [--rounds 5] [--recreate]

Loads refund cases straight into the real tables with PostgreSQL COPY (once;
later runs reuse them, --recreate starts afresh): `manage.py load_demo` makes
about 450 cases a second, which is ten hours for a million. The shape:

- `--vendors` vendors with a skewed share of the orders; the measured vendor
  (`bench-portal`) sells on about one order in seven, and many of its orders
  also carry other vendors' lines, so some of its cases are shared;
- one order per case, 1 to 4 lines (quantity 1 to 3, 20% tax, the vendor's
  commission), 60% with shipping; three currencies (EUR most);
- a case refunds one unit of its first line and of each other line with
  probability 0.35, for one reason (the default policies' mix), with the refund
  lines, vendor liabilities and the order's and lines' counters exactly as the
  case engine computes them (commission given back where the policy says so);
- statuses by age: recent cases mostly pending or approved, older ones mostly
  closed, some rejected, cancelled (their amounts released) or disputed;
- the timeline: an `opened` event, one `status_changed` per transition (the
  dispute from one of the case's vendors), `acknowledged` events for the
  liabilities accepted, staff notes on 5% of cases (a third internal) and notes addressed to one
  vendor on 2%;
- cases spread over the two years before the load, in id order.

No payments, ledger or notifications: the pages measured do not read them
beyond an empty balance and badge. Every CHECK constraint applies to every
row. The staff dashboard's summary triggers (refunds/triggers.py) are disabled during
the COPY and `portal_refundday` is rebuilt from the loaded rows afterwards;
a consistency check re-derives the counters and that summary from the rows.
Then VACUUM (ANALYZE).

Then, in this process with Django's test client (config.settings.local,
DEBUG off), logged in as an owner of the measured vendor, it times GETs of
the portal's case list (default; status filter; search by case ID; search by
SKU; sorted by amount; a deep page), case pages of random cases of the vendor,
and the vendor dashboard; and, logged in as a staff user, the staff dashboard
(30 days; 90 days by reason; 365 days by SKU). Requests are interleaved in
--rounds rounds. For each page: p50 / p95 / p99 wall ms, SQL statements per
request, and a raw baseline: the very SQL the page sent (captured once per URL
with CaptureQueriesContext) replayed through a raw psycopg2 cursor, in the same
rounds, with the ratio page / raw. Target: p95 under 150 ms.

The database is `splitledger_portalbench` on 127.0.0.1:5432 unless
--database-url or DATABASE_URL says otherwise (its name must contain
"bench"). It is created if missing, reused otherwise, dropped and created by
--recreate; nothing else is touched. Exit status 1 if the consistency check
fails, 2 if a target is missed. See docs/bench_portal.md.
"""

from __future__ import annotations

import argparse
import bisect
import io
import itertools
import logging
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import psycopg2

from bench.common import (
    SETTINGS_MODULE,
    add_database_arguments,
    check_database_url,
    load_average,
    open_database,
    percentile_ms,
    print_table,
    server_facts,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/splitledger_portalbench"
VENDOR = "bench-portal"
VENDOR_USER = "bench-portal-owner"
STAFF_USER = "bench-portal-staff"
TARGET_P95_MS = 150.0
SPAN_DAYS = 730
CHUNK = 50_000  # cases per COPY batch (one transaction each)

# ---------------------------------------------------------------- the data

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# (code, weight): the default reason policies, in a plausible mix.
REASONS = (
    ("damaged", 30),
    ("defective", 15),
    ("wrong_item", 8),
    ("not_as_described", 10),
    ("missing_item", 5),
    ("customer_remorse", 17),
    ("late_delivery", 7),
    ("shipping_damage", 5),
    ("goodwill", 3),
)
CURRENCIES = (("EUR", 85), ("GBP", 10), ("USD", 5))
# Status mix by the case's age in days: (up to age, [(status, weight)]).
STATUS_BY_AGE = (
    (2, (("pending", 70), ("approved", 15), ("rejected", 5), ("cancelled", 5), ("disputed", 5))),
    (
        14,
        (
            ("pending", 20),
            ("approved", 15),
            ("completed", 30),
            ("closed", 15),
            ("rejected", 8),
            ("cancelled", 4),
            ("disputed", 8),
        ),
    ),
    (
        60,
        (
            ("pending", 3),
            ("approved", 2),
            ("completed", 10),
            ("closed", 70),
            ("rejected", 8),
            ("cancelled", 3),
            ("disputed", 4),
        ),
    ),
    (
        10**9,
        (
            ("completed", 0.5),
            ("closed", 87),
            ("rejected", 8),
            ("cancelled", 4),
            ("disputed", 0.5),
        ),
    ),
)
RELEASED = ("rejected", "cancelled")
SKUS_PER_VENDOR = 2000
SHIPPING_CENTS = 490


class Weighted:
    """Draw from (item, weight) pairs with one random number."""

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.items = [item for item, _ in pairs]
        total, self.cumulative = 0.0, []
        for _, weight in pairs:
            total += weight
            self.cumulative.append(total)
        self.total = total

    def draw(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def ts(moment: datetime) -> str:
    return moment.isoformat()


def case_id_for(n: int, day: datetime) -> str:
    """RFND-YYYYMMDD-XXXXXX, the suffix a bijection of n on 32**6: unique for any day."""
    x = (n * 0x2545F491 + 0x1234567) & ((1 << 30) - 1)
    suffix = []
    for _ in range(6):
        x, digit = divmod(x, 32)
        suffix.append(ALPHABET[digit])
    return f"RFND-{day:%Y%m%d}-{''.join(suffix)}"


@dataclass
class World:
    """What the generator needs from the migrated database."""

    vendor_ids: list[int]  # index 0: the measured vendor
    vendor_codes: list[str]
    commission_bp: list[int]  # per vendor, basis points
    reasons: dict[str, tuple[int, bool, bool]]  # code -> (id, vendor bears, commission back)
    channel_id: int
    staff_id: int
    now: datetime


@dataclass
class Buffers:
    tables: dict[str, io.StringIO] = field(default_factory=dict)

    def write(self, table: str, row: Sequence[object]) -> None:
        buffer = self.tables.get(table)
        if buffer is None:
            buffer = self.tables[table] = io.StringIO()
        buffer.write("\t".join(r"\N" if v is None else str(v) for v in row))
        buffer.write("\n")


COLUMNS = {
    "refunds_order": (
        "id",
        "number",
        "channel_id",
        "currency",
        "customer_name",
        "customer_email",
        "customer_address",
        "placed_at",
        "shipping_amount",
        "net_amount",
        "tax_amount",
        "total_amount",
        "captured_amount",
        "refunded_amount",
        "refunded_shipping",
        "created_at",
    ),
    "refunds_orderline": (
        "id",
        "order_id",
        "vendor_id",
        "sku",
        "description",
        "quantity",
        "unit_price",
        "tax_rate",
        "commission_rate",
        "net_amount",
        "tax_amount",
        "commission_amount",
        "refunded_quantity",
        "refunded_net",
        "refunded_tax",
        "commission_base_refunded",
        "commission_reversed",
    ),
    "refunds_refundcase": (
        "id",
        "case_id",
        "order_id",
        "currency",
        "status",
        "status_before_dispute",
        "owner_id",
        "opened_by_id",
        "total_refund_amount",
        "shipping_refund_amount",
        "gateway_reference",
        "note",
        "initiated_at",
        "approved_at",
        "completed_at",
        "closed_at",
        "updated_at",
    ),
    "refunds_refundline": (
        "id",
        "case_id",
        "kind",
        "order_line_id",
        "vendor_id",
        "reason_id",
        "quantity",
        "net_amount",
        "tax_amount",
        "shipping_amount",
        "gross_amount",
        "vendor_share",
        "platform_share",
        "commission_base",
        "commission_reversal",
    ),
    "refunds_vendorliability": (
        "id",
        "case_id",
        "vendor_id",
        "refund_amount",
        "net_amount",
        "tax_amount",
        "shipping_amount",
        "vendor_share",
        "platform_share",
        "commission_reversal",
        "overridden",
        "acknowledged_at",
        "acknowledged_by_id",
    ),
    "refunds_caseevent": (
        "id",
        "case_id",
        "kind",
        "from_status",
        "to_status",
        "actor_id",
        "vendor_id",
        "channel",
        "text",
        "data",
        "created_at",
        "internal",
    ),
}


@dataclass
class Counters:
    line: int = 0
    refund_line: int = 0
    liability: int = 0
    event: int = 0


def make_world(vendors: int) -> World:
    from django.contrib.auth import get_user_model

    from refunds.models import Channel, ReasonPolicy
    from vendors.models import Vendor

    rng = random.Random(7)
    ids, codes, rates = [], [], []
    for index in range(vendors):
        code = VENDOR if index == 0 else f"bench-v{index:02d}"
        bp = 1000 if index == 0 else rng.choice((800, 1000, 1200, 1500))
        vendor, _ = Vendor.objects.get_or_create(
            code=code,
            defaults={
                "name": "Portal Bench Co" if index == 0 else f"Bench vendor {index}",
                "commission_rate": f"{bp / 10000:.4f}",
            },
        )
        ids.append(vendor.pk)
        codes.append(code)
        rates.append(round(Decimal(str(vendor.commission_rate)) * 10000))
    policies = {p.code: p for p in ReasonPolicy.objects.all()}
    reasons = {
        code: (
            policies[code].pk,
            policies[code].vendor_share_percent == 100,
            policies[code].refund_commission_to_vendor,
        )
        for code, _ in REASONS
    }
    channel, _ = Channel.objects.get_or_create(source="web", subsource="")
    staff = get_user_model().objects.filter(username=STAFF_USER).first()
    if staff is None:
        staff = get_user_model().objects.create_superuser(STAFF_USER, "", None)
    return World(ids, codes, rates, reasons, channel.pk, staff.pk, datetime.now(UTC))


def vendor_picker(vendors: int) -> Weighted:
    """The measured vendor on 13% of order lines' draws, the rest Zipf-like."""
    rest = [(index, 1 / index) for index in range(1, vendors)]
    scale = 0.87 / sum(w for _, w in rest)
    return Weighted([(0, 0.13)] + [(i, w * scale) for i, w in rest])


def write_event(
    out: Buffers,
    seq: Counters,
    case_pk: int,
    kind: str,
    at: datetime,
    *,
    transition: tuple[str, str] = ("", ""),
    actor: int | None = None,
    vendor: int | None = None,
    channel: str = "staff",
    text: str = "",
    internal: bool = False,
) -> None:
    """One refunds_caseevent row (no data), numbered from `seq`."""
    seq.event += 1
    row = (seq.event, case_pk, kind, *transition, actor, vendor, channel, text, "{}", ts(at))
    out.write("refunds_caseevent", (*row, "t" if internal else "f"))


def generate(world: World, first: int, count: int, total: int, seq: Counters) -> Buffers:
    """Cases first .. first+count-1 (0-based; case n has order and case id n+1)."""
    out = Buffers()
    rng = random.Random(first * 7919 + 1)
    pick_vendor = vendor_picker(len(world.vendor_ids))
    pick_reason = Weighted(REASONS)
    pick_currency = Weighted(CURRENCIES)
    pick_lines = Weighted(((1, 50), (2, 30), (3, 15), (4, 5)))
    status_pickers = [(age, Weighted(mix)) for age, mix in STATUS_BY_AGE]
    before_dispute = Weighted((("pending", 40), ("approved", 30), ("completed", 30)))
    span = timedelta(days=SPAN_DAYS)
    now = world.now
    for n in range(first, first + count):
        order_id = case_pk = n + 1
        initiated = now - span + span * ((n + rng.random()) / total)
        age = (now - initiated).days
        placed = initiated - timedelta(hours=rng.randint(2, 20 * 24))
        currency = pick_currency.draw(rng)
        status = next(p for limit, p in status_pickers if age < limit).draw(rng)
        released = status in RELEASED
        reason = pick_reason.draw(rng)
        reason_id, vendor_bears, commission_back = world.reasons[reason]

        # The order and its lines.
        primary = pick_vendor.draw(rng)
        line_vendors = [primary]
        for _ in range(pick_lines.draw(rng) - 1):
            line_vendors.append(primary if rng.random() < 0.6 else pick_vendor.draw(rng))
        shipping = SHIPPING_CENTS if rng.random() < 0.6 else 0
        lines = []  # (line id, vendor index, quantity, price, net, tax, commission)
        for vendor in line_vendors:
            seq.line += 1
            quantity = rng.randint(1, 3)
            price = rng.randint(500, 20000)
            net = quantity * price
            tax = (net * 20 + 50) // 100
            commission = (net * world.commission_bp[vendor] + 5000) // 10000
            lines.append((seq.line, vendor, quantity, price, net, tax, commission))

        # The case: one unit of the first line, and of each other with p = 0.35.
        refunded = [lines[0]] + [line for line in lines[1:] if rng.random() < 0.35]
        pieces = []  # (line, net, tax, vendor share, platform share, base, reversal)
        for line in refunded:
            _, vendor, quantity, price, net, tax, commission = line
            piece_net, piece_tax = price, (price * 20 + 50) // 100
            vendor_net = piece_net if vendor_bears else 0
            reversal = base = 0
            if commission_back and vendor_net:
                base = vendor_net
                reversal = min((commission * base * 2 + net) // (2 * net), vendor_net)
            pieces.append(
                (
                    line,
                    piece_net,
                    piece_tax,
                    vendor_net - reversal,
                    piece_net - vendor_net + reversal,
                    base,
                    reversal,
                )
            )
        total_cents = sum(p[1] + p[2] for p in pieces)

        order_net = sum(line[4] for line in lines)
        order_tax = sum(line[5] for line in lines)
        order_total = order_net + order_tax + shipping
        out.write(
            "refunds_order",
            (
                order_id,
                f"BP-{order_id:08d}",
                world.channel_id,
                currency,
                f"Customer {order_id % 99991}",
                f"c{order_id % 99991}@example.com",
                "",
                ts(placed),
                money(shipping),
                money(order_net),
                money(order_tax),
                money(order_total),
                money(order_total),
                money(0 if released else total_cents),
                "0.00",
                ts(placed),
            ),
        )
        refunded_ids = {p[0][0]: p for p in pieces}
        for line_id, vendor, quantity, price, net, tax, commission in lines:
            piece = None if released else refunded_ids.get(line_id)
            # Log-uniform over the vendor's catalogue: its best seller on ~9% of lines.
            item = int(SKUS_PER_VENDOR ** rng.random()) - 1
            sku = f"{world.vendor_codes[vendor].upper()}-{item:05d}"
            out.write(
                "refunds_orderline",
                (
                    line_id,
                    order_id,
                    world.vendor_ids[vendor],
                    sku,
                    f"Item {sku}",
                    quantity,
                    money(price),
                    "0.2000",
                    f"{world.commission_bp[vendor] / 10000:.4f}",
                    money(net),
                    money(tax),
                    money(commission),
                    1 if piece else 0,
                    money(piece[1] if piece else 0),
                    money(piece[2] if piece else 0),
                    money(piece[5] if piece else 0),
                    money(piece[6] if piece else 0),
                ),
            )

        # Timestamps along the case's path.
        path = path_to(status, before_dispute.draw(rng) if status == "disputed" else "")
        moments = [initiated]
        for _ in path:
            moments.append(min(moments[-1] + timedelta(hours=rng.uniform(1, 72)), now))
        reached = dict(zip(path, moments[1:], strict=True))
        approved_at = reached.get(("pending", "approved"))
        completed_at = reached.get(("approved", "completed"))
        closed_at = reached.get(("completed", "closed"))
        out.write(
            "refunds_refundcase",
            (
                case_pk,
                case_id_for(n, initiated),
                order_id,
                currency,
                status,
                path[-1][0] if status == "disputed" else "",
                None,
                None,
                money(total_cents),
                "0.00",
                f"re_{case_pk}" if completed_at else "",
                "",
                ts(initiated),
                ts(approved_at) if approved_at else None,
                ts(completed_at) if completed_at else None,
                ts(closed_at) if closed_at else None,
                ts(moments[-1]),
            ),
        )
        by_vendor: dict[int, list[int]] = {}
        for line, net, tax, vshare, pshare, base, reversal in pieces:
            vendor = line[1]
            seq.refund_line += 1
            out.write(
                "refunds_refundline",
                (
                    seq.refund_line,
                    case_pk,
                    "quantity",
                    line[0],
                    world.vendor_ids[vendor],
                    reason_id,
                    1,
                    money(net),
                    money(tax),
                    "0.00",
                    money(net + tax),
                    money(vshare),
                    money(pshare),
                    money(base),
                    money(reversal),
                ),
            )
            sums = by_vendor.setdefault(vendor, [0, 0, 0, 0, 0])
            for i, value in enumerate((net, tax, vshare, pshare, reversal)):
                sums[i] += value

        # Events: opened, each transition, notes, acknowledgements.
        write_event(
            out, seq, case_pk, "opened", initiated, transition=("", "pending"), channel="system"
        )
        case_vendors = sorted(by_vendor)
        for (source, target), moment in reached.items():
            vendor_id, channel, text, actor = None, "staff", "", world.staff_id
            if target == "disputed":
                vendor_id = world.vendor_ids[rng.choice(case_vendors)]
                channel, text, actor = "vendor_portal", "We dispute our part of this refund.", None
            write_event(
                out,
                seq,
                case_pk,
                "status_changed",
                moment,
                transition=(source, target),
                actor=actor,
                vendor=vendor_id,
                channel=channel,
                text=text,
            )
        if rng.random() < 0.05:
            # a third kept from vendors
            write_event(
                out,
                seq,
                case_pk,
                "note",
                moments[-1],
                actor=world.staff_id,
                text="Customer called about this refund.",
                internal=rng.random() < 1 / 3,
            )
        if rng.random() < 0.02:
            write_event(
                out,
                seq,
                case_pk,
                "note",
                moments[-1],
                actor=world.staff_id,
                vendor=world.vendor_ids[rng.choice(case_vendors)],
                channel="email",
                text="Please send the return label.",
            )
        answered = status in ("completed", "closed")
        for vendor in case_vendors:
            net, tax, vshare, pshare, reversal = by_vendor[vendor]
            seq.liability += 1
            acknowledged = None
            if answered and rng.random() < 0.6:
                acknowledged = min(initiated + timedelta(hours=rng.uniform(1, 96)), now)
                write_event(
                    out,
                    seq,
                    case_pk,
                    "acknowledged",
                    acknowledged,
                    vendor=world.vendor_ids[vendor],
                    channel="vendor_portal",
                )
            out.write(
                "refunds_vendorliability",
                (
                    seq.liability,
                    case_pk,
                    world.vendor_ids[vendor],
                    money(net + tax),
                    money(net),
                    money(tax),
                    "0.00",
                    money(vshare),
                    money(pshare),
                    money(reversal),
                    "f",
                    ts(acknowledged) if acknowledged else None,
                    None,
                ),
            )
    return out


def path_to(status: str, before: str) -> list[tuple[str, str]]:
    """The transitions from pending to `status` (for disputed: to `before`, then disputed)."""
    forward = ("pending", "approved", "completed", "closed")
    if status in RELEASED:
        return [("pending", status)]
    goal = before if status == "disputed" else status
    steps = list(itertools.pairwise(forward))[: forward.index(goal)]
    if status == "disputed":
        steps.append((before, "disputed"))
    return steps


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


# ---------------------------------------------------------------- measuring


@dataclass
class Page:
    name: str
    client: str  # "vendor" or "staff"
    urls: list[str]
    wall_ns: list[int] = field(default_factory=list)
    raw_ns: list[int] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    sql: dict[str, list[str]] = field(default_factory=dict)
    turn: int = 0

    def next_url(self) -> str:
        url = self.urls[self.turn % len(self.urls)]
        self.turn += 1
        return url


def make_pages(args: argparse.Namespace, world: World) -> list[Page]:
    from django.db import connection

    rng = random.Random(args.seed)
    vendor_id = world.vendor_ids[0]
    with connection.cursor() as cursor:
        # Random cases of the vendor: TABLESAMPLE would be biased to old pages; ids are dense.
        cursor.execute(
            "SELECT c.case_id FROM refunds_vendorliability l "
            "JOIN refunds_refundcase c ON c.id = l.case_id "
            "WHERE l.vendor_id = %s AND l.case_id = ANY(%s)",
            [vendor_id, [rng.randint(1, args.cases) for _ in range(40 * args.samples)]],
        )
        case_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT DISTINCT ol.sku FROM refunds_refundline rl "
            "JOIN refunds_orderline ol ON ol.id = rl.order_line_id "
            "WHERE rl.vendor_id = %s AND rl.case_id = ANY(%s)",
            [vendor_id, [rng.randint(1, args.cases) for _ in range(40 * args.samples)]],
        )
        skus = [row[0] for row in cursor.fetchall()]
    rng.shuffle(case_ids)
    rng.shuffle(skus)
    if not case_ids or not skus:
        raise SystemExit("the measured vendor has no cases: was the load interrupted?")
    case_ids, skus = case_ids[: args.samples], skus[: args.samples]

    from portal.views import MAX_PAGE

    def cases(**query: Any) -> str:
        return "/portal/cases/" + (f"?{urlencode(query)}" if query else "")

    return [
        Page("case list", "vendor", [cases()]),
        Page("case list, status=disputed", "vendor", [cases(status="disputed")]),
        Page("case list, search case ID", "vendor", [cases(q=c) for c in case_ids]),
        Page("case list, search SKU", "vendor", [cases(q=s) for s in skus]),
        Page("case list, sort -amount", "vendor", [cases(sort="-amount")]),
        Page(f"case list, page {MAX_PAGE} (deepest)", "vendor", [cases(page=MAX_PAGE)]),
        Page("case page", "vendor", [f"/portal/cases/{c}/" for c in case_ids]),
        Page("vendor dashboard", "vendor", ["/portal/"]),
        Page("staff dashboard, 30 d", "staff", ["/staff/"]),
        Page("staff dashboard, 90 d by reason", "staff", ["/staff/?days=90&by=reason"]),
        Page("staff dashboard, 365 d by SKU", "staff", ["/staff/?days=365&by=sku"]),
    ]


def measure(args: argparse.Namespace, url: str, pages: list[Page], owner: Any, staff: Any):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients = {"vendor": Client(HTTP_HOST="127.0.0.1"), "staff": Client(HTTP_HOST="127.0.0.1")}
    clients["vendor"].force_login(owner)
    clients["staff"].force_login(staff)
    clients["vendor"].get("/portal/")  # the session learns the vendor (one write)

    def get(page: Page, path: str) -> None:
        response = clients[page.client].get(path)
        if response.status_code != 200:
            raise SystemExit(f"{page.name}: GET {path} answered {response.status_code}")

    # Untimed: every URL once with its SQL captured, for the count and the baseline.
    for page in pages:
        for path in page.urls:
            with CaptureQueriesContext(connection) as captured:
                get(page, path)
            page.sql[path] = [q["sql"] for q in captured.captured_queries]
            page.statements.append(len(captured.captured_queries))
    raw = psycopg2.connect(url)
    raw.autocommit = True
    cursor = raw.cursor()

    def replay(statements: list[str]) -> None:
        for statement in statements:
            cursor.execute(statement)
            if cursor.description is not None:
                cursor.fetchall()

    clock = time.perf_counter_ns
    for number in range(args.rounds):
        for page in pages[number % len(pages) :] + pages[: number % len(pages)]:
            count = args.staff_requests if page.client == "staff" else args.requests
            share = count // args.rounds + (1 if number < count % args.rounds else 0)
            for _ in range(share):
                path = page.next_url()
                before = clock()
                get(page, path)
                page.wall_ns.append(clock() - before)
                before = clock()
                replay(page.sql[path])
                page.raw_ns.append(clock() - before)
        print(f"round {number + 1}/{args.rounds} done, load {os.getloadavg()[0]:.2f}", flush=True)
    cursor.close()
    raw.close()


def report(args, facts, pages: list[Page], cases: int, vendor_cases: int, loads) -> bool:
    import django

    print()
    print(
        f"bench.portal, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {cases:,} refund cases, "
        f"the measured vendor's {vendor_cases:,}; Django test client in process "
        f"({SETTINGS_MODULE}, DEBUG off); {args.rounds} interleaved rounds"
    )
    print(
        f"PostgreSQL {facts['server_version']} (shared_buffers={facts['shared_buffers']}); "
        f"Python {platform.python_version()}, Django {django.get_version()}; "
        f"{os.cpu_count()} CPUs; load average 1/5/15 min before: {loads[0]}, after: {loads[1]}"
    )
    print()
    rows, met = [], True
    for page in pages:
        p95 = percentile_ms(page.wall_ns, 0.95)
        ok = p95 < TARGET_P95_MS
        met &= ok
        rows.append(
            (
                page.name,
                f"{len(page.wall_ns)}",
                f"{percentile_ms(page.wall_ns, 0.50):.1f}",
                f"{p95:.1f}",
                f"{percentile_ms(page.wall_ns, 0.99):.1f}",
                f"{statistics.mean(page.statements):g}",
                f"{percentile_ms(page.raw_ns, 0.50):.1f}",
                f"{percentile_ms(page.raw_ns, 0.95):.1f}",
                f"{percentile_ms(page.wall_ns, 0.5) / percentile_ms(page.raw_ns, 0.5):.1f}x",
                "met" if ok else "MISSED",
            )
        )
    print_table(
        (
            "page",
            "requests",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "SQL/req",
            "raw p50",
            "raw p95",
            "p50/raw",
            f"p95<{TARGET_P95_MS:.0f}",
        ),
        rows,
        left=1,
    )
    print()
    print("raw: the same SQL statements the page sent, replayed on a psycopg2 cursor (autocommit).")
    return met


def run(args: argparse.Namespace) -> int:
    url = args.database_url
    open_database(url, "bench.portal", recreate=args.recreate, quiet_static=True)
    logging.disable(logging.INFO)  # django-axes logs every force_login
    from refunds.models import Order, RefundCase, VendorLiability

    world = make_world(args.vendors)
    cases = RefundCase.objects.count()
    if cases == 0:
        if Order.objects.exists():
            raise SystemExit("orders without cases in the bench database: use --recreate")
        print(f"loading {args.cases:,} cases with COPY ...")
        seconds = load(world, args.cases)
        print(f"loaded in {seconds:.0f} s; ANALYZE ...")
        started = time.perf_counter()
        analyze()
        print(f"ANALYZE in {time.perf_counter() - started:.0f} s")
        cases = RefundCase.objects.count()
        problems = check_consistency(url)
        if problems:
            print("consistency after the load: FAILED: " + "; ".join(problems))
            return 1
        print("consistency after the load: every counter equals the sum of its rows")
    elif cases != args.cases:
        print(f"note: reusing {cases:,} cases (not --cases {args.cases:,}); --recreate to reload")
    else:
        print(f"reusing {cases:,} cases")
    from django.db import connection

    with connection.cursor() as cursor:
        # A migration may just have filled it (portal 0003's backfill): plans need statistics.
        cursor.execute("ANALYZE portal_refundday")
    vendor_cases = VendorLiability.objects.filter(vendor_id=world.vendor_ids[0]).count()
    owner, staff = ensure_users(world)
    pages = make_pages(args, world)
    facts = server_facts(url)
    before = load_average(digits=2, sep=", ")
    measure(args, url, pages, owner, staff)
    after = load_average(digits=2, sep=", ")
    met = report(args, facts, pages, cases, vendor_cases, (before, after))
    if args.check:
        problems = check_consistency(url)
        if problems:
            print("consistency: FAILED: " + "; ".join(problems))
            return 1
        print("consistency: every case, liability, order and line counter adds up")
    print(f"target p95 < {TARGET_P95_MS:.0f} ms on every page: {'met' if met else 'NOT met'}")
    return 0 if met else 2


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.portal",
        description="Vendor portal and staff dashboard latency on a million refund cases.",
    )
    parser.add_argument("--cases", type=int, default=1_000_000, help="refund cases to load")
    parser.add_argument("--vendors", type=int, default=30, help="vendors (at least 2)")
    parser.add_argument("--requests", type=int, default=100, help="timed GETs per portal page")
    parser.add_argument(
        "--staff-requests", type=int, default=20, help="timed GETs per staff dashboard variant"
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument(
        "--samples", type=int, default=50, help="distinct cases and SKUs searched and opened"
    )
    parser.add_argument("--seed", type=int, default=1, help="which cases and SKUs")
    parser.add_argument(
        "--check",
        action="store_true",
        help="run the consistency check after the timings too (a minute on 1M cases)",
    )
    add_database_arguments(parser, DEFAULT_DATABASE_URL)
    args = parser.parse_args(argv)
    counts = (args.cases, args.requests, args.staff_requests, args.rounds, args.samples)
    if min(counts) < 1 or args.vendors < 2:
        parser.error("counts must be positive, and there must be at least 2 vendors")
    check_database_url(parser, args.database_url, what="loads a million cases")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
