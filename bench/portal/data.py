"""Settings and the shape of the data bench.portal loads: weights, columns, the world of vendors and SKUs."""

from __future__ import annotations

import bisect
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

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
