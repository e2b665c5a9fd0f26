"""Concurrent requests on separate PostgreSQL connections, started together.

Exactly as many cases as fit succeed, the rest are refused cleanly with an
over-refund error, no deadlock (or any other database error) escapes, and case
IDs stay unique.
"""

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from refunds.errors import RefundError
from refunds.models import Order, RefundCase
from refunds.services import case_ids
from refunds.services.cases import LineRequest, cancel_case, open_case
from tests.factories import make_order

pytestmark = [
    pytest.mark.postgres,
    # serialized_rollback restores the reason codes seeded by a data migration.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def run_together(n: int, work) -> list[object]:
    """Run work(i) on n threads, each on its own connection, released at once."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = work(i)
        except Exception as error:  # recorded and asserted on by the caller
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    return results


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
