"""RefundDay, the staff dashboard's daily sums: kept by triggers, always equal to
the aggregates of the live rows, and the dashboard reads the same figures from
it as from those rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from portal import staff_selectors
from portal.staff_selectors import DIMENSIONS, Span
from refunds.models import Order, RefundCase, RefundDay
from refunds.services.cases import (
    LineRequest,
    ShareOverride,
    approve_case,
    cancel_case,
    complete_case,
    dispute_case,
    open_case,
    override_breakdown,
    reject_case,
    resolve_dispute,
)
from tests.factories import make_order, worked_refund_lines
from tests.refund_day import expected, kept

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="RefundDay is kept by PostgreSQL triggers"
)

D = Decimal


def assert_in_step() -> None:
    assert kept() == expected()


def days_ago(days: int):
    return timezone.now() - timedelta(days=days, hours=1)


def test_it_follows_every_step_of_a_case(acme, bolt, alice, worked_order):
    assert_in_step()  # the order and its lines: sold, nothing refunded yet
    mug, tee = worked_order.lines.order_by("sku")
    case = open_case(
        order=worked_order,
        lines=worked_refund_lines(worked_order, tee_reason="goodwill"),
        now=days_ago(3),
    )
    assert_in_step()
    today = days_ago(3).date()
    assert kept()[("case", "EUR", today, "")] == (D("27.50"), 0, 1)
    assert kept()[("vendor", "EUR", today, str(acme.pk))] == (D("22.00"), 0, 1)
    assert kept()[("sku", "EUR", today, "TEE-01")] == (D("5.50"), 0, 1)

    override_breakdown(
        case=case,
        shares={"ACME": ShareOverride(vendor_share="10.00", platform_share="10.00")},
        reason="Split it",
        actor=alice,
    )
    assert_in_step()
    approve_case(case=case, actor=alice)
    dispute_case(case=case, vendor=acme, message="No", actor=None)
    resolve_dispute(case=case, message="Fine", actor=alice)
    complete_case(case=case, actor=alice, gateway_reference="re_1")
    assert_in_step()

    other = open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])
    assert_in_step()
    reject_case(case=other, actor=alice, reason="No")  # released: out of every sum
    assert_in_step()
    third = open_case(
        order=worked_order, lines=[LineRequest(tee.pk, "late_delivery", amount="1.00")]
    )
    cancel_case(case=third, actor=alice, reason="Asked by the customer")
    assert_in_step()


def test_it_follows_rows_changed_and_deleted_outside_the_services(acme, bolt):
    order = make_order(lines=[(acme, "MUG-01", 3, "10.00", "0.10")])
    line = order.lines.get()
    case = open_case(order=order, lines=[LineRequest(line.pk, "damaged", quantity=1)])
    # Moved to another day, another currency; the order too.
    RefundCase.objects.filter(pk=case.pk).update(initiated_at=days_ago(40), currency="GBP")
    Order.objects.filter(pk=order.pk).update(placed_at=days_ago(41), currency="GBP")
    assert_in_step()
    RefundCase.objects.filter(pk=case.pk).update(status="rejected")
    assert_in_step()
    RefundCase.objects.filter(pk=case.pk).update(status="pending")
    assert_in_step()
    case.delete()  # liabilities, lines and events go first (Django cascades)
    order.delete()
    assert_in_step()
    assert kept() == {}


@pytest.fixture
def busy(acme, bolt, alice):
    """Cases over four months in two currencies, some released."""
    for index in range(12):
        vendor = acme if index % 3 else bolt
        order = make_order(
            lines=[
                (vendor, f"SKU-{index % 4}", 3, "10.00", "0.10"),
                (bolt, "TEE-01", 1, "5.00", "0.10"),
            ],
            currency="GBP" if index % 5 == 0 else "EUR",
            shipping="4.00",
        )
        first, second = order.lines.order_by("id")
        case = open_case(
            order=order,
            lines=[
                LineRequest(first.pk, "damaged" if index % 2 else "goodwill", quantity=1),
                LineRequest(second.pk, "late_delivery", quantity=1),
            ],
            now=days_ago(index * 10),
        )
        if index % 4 == 1:
            reject_case(case=case, actor=alice, reason="No")


@pytest.mark.parametrize("days", staff_selectors.PERIODS)
def test_the_dashboard_reads_the_same_figures_as_from_the_live_rows(busy, days, monkeypatch):
    assert_in_step()
    span = Span(days, timezone.now(), "EUR", "vendor")

    def figures() -> tuple:
        tops = {d: staff_selectors.top_by(d, span) for d in DIMENSIONS}
        return (
            staff_selectors.currencies(span.since),
            staff_selectors.trend_total(span),
            tops,
            {d: staff_selectors.series_by(d, [r.key for r in tops[d]], span) for d in DIMENSIONS},
            # Rates compared as shown: PostgreSQL and Python divide to other precisions.
            [(r.code, r.sold, r.refunded, r.percent) for r in staff_selectors.refund_rates(span)],
        )

    summary = figures()
    monkeypatch.setattr(staff_selectors, "use_summary", lambda: False)
    live = figures()
    assert summary == live
    assert summary[1]  # something to compare


def row_versions() -> dict[int, str]:
    """Each summary row's xmin: the transaction that last wrote it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, xmin::text FROM portal_refundday")
        return dict(cursor.fetchall())


def test_moves_that_change_no_sum_write_no_summary_row(acme, bolt, alice, worked_order):
    """Approving, disputing, resolving and completing move no figure, so they
    neither write nor lock a summary row another case could be waiting for."""
    mug = worked_order.lines.get(sku="MUG-01")
    case = open_case(
        order=worked_order,
        lines=worked_refund_lines(worked_order, tee_reason="goodwill"),
    )
    before = row_versions()
    approve_case(case=case, actor=alice)
    dispute_case(case=case, vendor=acme, message="No", actor=None)
    resolve_dispute(case=case, message="Fine", actor=alice)
    complete_case(case=case, actor=alice, gateway_reference="re_1")
    assert row_versions() == before

    other = open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])
    before = row_versions()
    cancel_case(case=other, actor=alice, reason="Duplicate")
    written = {pk for pk, xmin in row_versions().items() if before.get(pk) != xmin}
    kinds = set(RefundDay.objects.filter(pk__in=written).values_list("kind", flat=True))
    assert kinds == {"case", "vendor", "reason", "sku", "sold"}
    assert_in_step()


def test_statements_over_many_rows_stay_in_step(acme, bolt):
    """The triggers sum a whole statement's rows: many cases, orders and lines
    changed at once, some of their changes cancelling out."""
    orders = [
        make_order(lines=[(acme, "MUG-01", 3, "10.00", "0.10"), (bolt, f"TEE-{i}", 2, "7.00", "0")])
        for i in range(4)
    ]
    cases = []
    for order in orders:
        first, second = order.lines.order_by("pk")
        cases.append(
            open_case(
                order=order,
                lines=[
                    LineRequest(second.pk, "goodwill", amount="3.00"),
                    LineRequest(first.pk, "damaged", quantity=1),
                ],
            )
        )
    assert_in_step()
    ids = [case.pk for case in cases]
    RefundCase.objects.filter(pk__in=ids[:3]).update(status="cancelled")
    assert_in_step()
    RefundCase.objects.filter(pk__in=ids).update(status="approved", initiated_at=days_ago(20))
    assert_in_step()
    Order.objects.filter(pk__in=[o.pk for o in orders[1:]]).update(placed_at=days_ago(25))
    assert_in_step()
    from refunds.models import ReasonPolicy, RefundLine

    late = ReasonPolicy.objects.get(code="late_delivery")
    RefundLine.objects.filter(case_id__in=ids[:2]).update(reason=late)
    assert_in_step()
    RefundLine.objects.filter(case_id__in=ids[2:]).delete()
    assert_in_step()
