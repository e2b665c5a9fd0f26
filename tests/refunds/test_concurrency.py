"""Concurrent requests on separate PostgreSQL connections, started together.

Exactly as many cases as fit succeed, the rest are refused cleanly with an
over-refund error, no deadlock (or any other database error) escapes, and case
IDs stay unique.
"""

from collections import Counter
from decimal import Decimal

import pytest

from refunds.errors import RefundError
from refunds.models import Order, RefundCase
from refunds.services import case_ids
from refunds.services.cases import LineRequest, cancel_case, open_case
from tests.factories import make_order
from tests.threads import run_together

pytestmark = [
    pytest.mark.postgres,
    # serialized_rollback restores the reason codes seeded by a data migration.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def outcome(results) -> Counter:
    kinds: Counter = Counter()
    for result in results:
        if isinstance(result, RefundCase):
            kinds["ok"] += 1
        elif isinstance(result, RefundError) and result.code == "over_refund":
            kinds["refused"] += 1
        else:
            kinds[repr(result)] += 1
    return kinds


@pytest.mark.parametrize("n", [2, 16, 64])
def test_concurrent_quantity_refunds_never_exceed_the_line(acme, n):
    fits = n // 2 + 1
    order = make_order(lines=[(acme, "MUG-01", fits, "20.00", "0.10")])
    line_id = order.lines.get().pk

    results = run_together(
        n, lambda i: open_case(order=order.pk, lines=[LineRequest(line_id, "damaged", quantity=1)])
    )

    assert outcome(results) == Counter({"ok": fits, "refused": n - fits})
    line = order.lines.get()
    assert line.refunded_quantity == line.quantity
    assert (line.refunded_net, line.refunded_tax) == (line.net_amount, line.tax_amount)
    assert RefundCase.objects.filter(order=order).count() == fits


@pytest.mark.parametrize("n", [2, 16, 64])
def test_concurrent_amount_refunds_never_exceed_the_captured_payment(acme, bolt, n):
    order = make_order(
        lines=[(acme, "MUG-01", 1, "100.00", "0"), (bolt, "TEE-01", 1, "100.00", "0")],
    )
    # Half the order was paid with a voucher that is not refundable in cash.
    Order.objects.filter(pk=order.pk).update(captured_amount=Decimal("100.00"))
    mug, tee = order.lines.order_by("sku")
    fits = max(1, n // 3)
    piece = Decimal("100.00") / fits

    def work(i: int):
        line = mug if i % 2 else tee
        return open_case(
            order=order.pk, lines=[LineRequest(line.pk, "goodwill", amount=f"{piece:.2f}")]
        )

    results = run_together(n, work)
    kinds = outcome(results)
    assert set(kinds) <= {"ok", "refused"}, kinds
    order.refresh_from_db()
    assert order.refunded_amount <= order.captured_amount
    total = sum(c.total_refund_amount for c in RefundCase.objects.filter(order=order))
    assert total == order.refunded_amount
    assert kinds["ok"] == int(Decimal("100.00") // Decimal(f"{piece:.2f}"))


def test_cancelling_while_others_open_keeps_counters_exact(acme):
    order = make_order(lines=[(acme, "MUG-01", 8, "20.00", "0.10")])
    line_id = order.lines.get().pk
    first = [
        open_case(order=order.pk, lines=[LineRequest(line_id, "damaged", quantity=1)])
        for _ in range(8)
    ]

    def work(i: int):
        if i < 8:
            return cancel_case(case=first[i].case_id, actor=None, reason="duplicate")
        return open_case(order=order.pk, lines=[LineRequest(line_id, "damaged", quantity=1)])

    results = run_together(24, work)
    opened = sum(1 for r in results[8:] if isinstance(r, RefundCase))
    assert all(isinstance(r, RefundCase) for r in results[:8])
    assert all(isinstance(r, (RefundCase, RefundError)) for r in results)
    line = order.lines.get()
    assert line.refunded_quantity == opened <= 8


def test_case_ids_are_unique_under_concurrency(acme):
    order = make_order(lines=[(acme, "MUG-01", 64, "1.00", "0")])
    line_id = order.lines.get().pk
    results = run_together(
        64, lambda i: open_case(order=order.pk, lines=[LineRequest(line_id, "damaged", quantity=1)])
    )
    ids = [r.case_id for r in results if isinstance(r, RefundCase)]
    assert len(ids) == 64 and len(set(ids)) == 64


def test_a_colliding_case_id_is_drawn_again(acme, monkeypatch):
    order = make_order(lines=[(acme, "MUG-01", 2, "1.00", "0")])
    line_id = order.lines.get().pk
    taken = open_case(order=order.pk, lines=[LineRequest(line_id, "damaged", quantity=1)])
    suffixes = iter([taken.case_id[-6:], "ZZZZZZ"])
    monkeypatch.setattr(case_ids, "draw_suffix", lambda: next(suffixes))
    second = open_case(order=order.pk, lines=[LineRequest(line_id, "damaged", quantity=1)])
    assert second.case_id.endswith("-ZZZZZZ") and second.case_id[:13] == taken.case_id[:13]


# ------------------------------------------------ the staff dashboard's summary rows
#
# Every case writes its part into the shared daily sums of refunds.RefundDay
# (today's case, vendor, reason and SKU rows, its order's sold rows). Clients
# on their own orders share nothing else, so only those rows can make them
# wait on each other; a wait that turns into a deadlock is refused as a
# conflict (409). These tests prove they are taken in one order whatever the
# order of the lines.

REASONS = ["damaged", "goodwill", "late_delivery", "defective", "wrong_item"]
SKUS = ["MUG-01", "TEE-01", "CAP-01", "BAG-01", "PEN-01"]


def summary_in_step() -> None:
    from tests.portal.test_refund_day import expected, kept

    assert kept() == expected()


def five_line_orders(vendors, clients: int, per_client: int) -> list[list[Order]]:
    """Each client's own orders: five lines over shared vendors and SKUs."""
    return [
        [
            make_order(
                lines=[
                    (vendors[(c + k) % len(vendors)], sku, 10, "10.00", "0.10")
                    for k, sku in enumerate(SKUS)
                ]
            )
            for _ in range(per_client)
        ]
        for c in range(clients)
    ]


def shuffled_request(order: Order, rng) -> list[LineRequest]:
    """All five lines, one unit each, reasons and line order drawn at random."""
    lines = [
        LineRequest(line.pk, rng.choice(REASONS), quantity=1) for line in order.lines.order_by("pk")
    ]
    rng.shuffle(lines)
    return lines


@pytest.fixture
def three_vendors(acme, bolt, drains_queued):
    from tests.factories import VendorFactory

    return [acme, bolt, VendorFactory(code="CRUX", name="Crux Caps")]


@pytest.fixture
def drains_queued():
    """The outbox's drains go to the broker (Redis), as in production, instead
    of running eagerly inside each client's thread after its commit: eager
    drains there nest a second producer inside the first, and 64 threads
    exhaust Celery's producer pool. The cases' outbox rows stay for a sweeper;
    the queued drains are purged afterwards."""
    from config.celery import app

    def fresh_pools() -> None:
        # Pools are made on first use; an earlier test may have closed them.
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    fresh_pools()
    try:
        yield
    finally:
        app.conf.task_always_eager = eager
        with app.connection_for_write() as connection:
            app.control.purge(connection=connection)
        fresh_pools()


@pytest.mark.parametrize("n", [4, 16, 64])
def test_concurrent_multi_line_cases_never_deadlock(three_vendors, n):
    import random

    per_client = {4: 15, 16: 4, 64: 2}[n]
    orders = five_line_orders(three_vendors, n, per_client)
    requests = [
        [shuffled_request(order, random.Random(f"{n}-{c}-{k}")) for k, order in enumerate(mine)]
        for c, mine in enumerate(orders)
    ]

    def work(c: int):
        return [
            open_case(order=order.pk, lines=lines)
            for order, lines in zip(orders[c], requests[c], strict=True)
        ]

    results = run_together(n, work)

    errors = [r for r in results if not isinstance(r, list)]
    assert errors == []
    assert all(isinstance(case, RefundCase) for cases in results for case in cases)
    assert RefundCase.objects.count() == n * per_client
    summary_in_step()


@pytest.mark.parametrize("n", [4, 16, 64])
def test_status_changes_mixed_with_openings_never_deadlock(three_vendors, alice, n):
    """Each client opens, approves and cancels cases of its own orders, in a
    random order; cancelling takes a case out of every shared sum at once."""
    import random

    from refunds.services.cases import approve_case

    orders = five_line_orders(three_vendors, n, 2)
    rng = random.Random(n)
    # Opened beforehand, one at a time: two cases per client to move.
    existing = [
        [open_case(order=mine[0].pk, lines=shuffled_request(mine[0], rng)) for _ in range(2)]
        for mine in orders
    ]
    plans = []
    for c, mine in enumerate(orders):
        steps = [
            ("open", mine[1], shuffled_request(mine[1], rng)),
            ("open", mine[0], shuffled_request(mine[0], rng)),
            ("approve", existing[c][0], None),
            ("cancel", existing[c][1], None),
        ]
        rng.shuffle(steps)
        plans.append(steps)

    def work(c: int):
        done = []
        for action, target, lines in plans[c]:
            if action == "open":
                done.append(open_case(order=target.pk, lines=lines))
            elif action == "approve":
                done.append(approve_case(case=target.case_id, actor=alice))
            else:
                done.append(cancel_case(case=target.case_id, actor=alice, reason="Asked"))
        return done

    results = run_together(n, work)

    errors = [r for r in results if not isinstance(r, list)]
    assert errors == []
    statuses = Counter(RefundCase.objects.values_list("status", flat=True))
    assert statuses == Counter({"pending": 2 * n, "approved": n, "cancelled": n})
    summary_in_step()
