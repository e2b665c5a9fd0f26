"""Settings and fixtures of bench.cases: the orders and the jobs that open cases on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/splitledger_bench"

# What every case refunds: quantity 1 of distinct lines, for a reason the vendor
# bears with the commission given back (the path with the most arithmetic).
REASON = "damaged"
CURRENCY = "EUR"
VENDORS = (
    ("bench-v1", "0.1000"),
    ("bench-v2", "0.1200"),
    ("bench-v3", "0.1500"),
    ("bench-v4", "0.0800"),
    ("bench-v5", "0.2000"),
)
LINES_PER_ORDER = 10
# Far more than a run can refund: no case ever hits an over-refund.
LINE_QUANTITY = 100_000
UNIT_PRICES = "12.34 7.99 149.00 0.95 23.50 5.05 64.20 11.11 3.33 99.99".split()
TAX_RATES = "0.2000 0.0700 0.1900 0 0.2100 0.1000 0.0550 0.2000 0.1300 0.0900".split()


# ---------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class BenchOrder:
    order_id: int
    line_ids: tuple[int, ...]


def create_orders(count: int, tag: str) -> list[BenchOrder]:
    """`count` fresh paid orders, each with 10 lines over 5 vendors.

    Written with bulk inserts rather than create_order: the fixture should not
    set off what recording a sale sets off (outbox messages, ledger postings).
    The lines are priced by create_order's own price_order_line, and the
    schema's CHECK constraints hold the amounts to it.
    """
    from django.db import transaction
    from django.utils import timezone

    from refunds.models import Channel, Order, OrderLine, Payment, ReasonPolicy
    from refunds.services.orders import price_order_line
    from vendors.models import Vendor

    if not ReasonPolicy.objects.filter(code=REASON, is_active=True).exists():
        raise SystemExit(f"Reason policy {REASON!r} is missing or inactive in the bench database.")
    vendors = [
        Vendor.objects.get_or_create(
            code=code, defaults={"name": f"Bench {code}", "commission_rate": Decimal(rate)}
        )[0]
        for code, rate in VENDORS
    ]
    channel, _ = Channel.objects.get_or_create(source="bench", subsource="")
    now = timezone.now()

    def lines_of(order: Order) -> list[OrderLine]:
        lines = []
        for index in range(LINES_PER_ORDER):
            vendor = vendors[index % len(vendors)]
            lines.append(
                price_order_line(
                    CURRENCY,
                    LINE_QUANTITY,
                    Decimal(UNIT_PRICES[index]),
                    Decimal(TAX_RATES[index]),
                    vendor.commission_rate,
                    order=order,
                    vendor=vendor,
                    sku=f"BENCH-SKU-{index}",
                )
            )
        return lines

    template = lines_of(Order())
    net = sum((line.net_amount for line in template), Decimal(0))
    tax = sum((line.tax_amount for line in template), Decimal(0))
    with transaction.atomic():
        orders = Order.objects.bulk_create(
            Order(
                number=f"BENCH-{tag}-{index:05d}",
                channel=channel,
                currency=CURRENCY,
                placed_at=now,
                net_amount=net,
                tax_amount=tax,
                total_amount=net + tax,
                captured_amount=net + tax,
            )
            for index in range(count)
        )
        lines = OrderLine.objects.bulk_create(
            [line for order in orders for line in lines_of(order)], batch_size=2000
        )
        Payment.objects.bulk_create(
            Payment(order=order, method="card", amount=net + tax, captured_at=now)
            for order in orders
        )
    by_order: dict[int, list[int]] = {}
    for line in lines:
        by_order.setdefault(line.order_id, []).append(line.pk)
    return [BenchOrder(order.pk, tuple(by_order[order.pk])) for order in orders]


@dataclass(frozen=True)
class Job:
    """One case to open: quantity 1 of each of `line_ids` of one order."""

    order_id: int
    line_ids: tuple[int, ...]
    requests: tuple[Any, ...]  # LineRequest, built before the clock starts


class JobSource:
    """Hands out cases round-robin over the orders, on rotating, distinct lines."""

    def __init__(self, orders: Sequence[BenchOrder]) -> None:
        self._orders = orders
        self._taken = 0

    def take(self, count: int, lines: int) -> list[Job]:
        from refunds.services.cases import LineRequest

        jobs = []
        for _ in range(count):
            order = self._orders[self._taken % len(self._orders)]
            start = self._taken // len(self._orders)
            self._taken += 1
            ids = tuple(
                order.line_ids[(start + offset) % len(order.line_ids)] for offset in range(lines)
            )
            requests = tuple(LineRequest(order_line_id=i, reason=REASON, quantity=1) for i in ids)
            jobs.append(Job(order.order_id, ids, requests))
        return jobs
