"""RefundDay and RefundMonth, the staff dashboard's daily and monthly sums: kept
by triggers, always equal to the aggregates of the live rows, and the
dashboard reads the same figures from them as from those rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.db import connection
from django.utils import timezone

from portal import staff_views
from portal.models import RefundDay, RefundMonth
from portal.staff_views import DIMENSIONS, Span
from refunds.models import Order, RefundCase
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
from tests.factories import make_order

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="RefundDay is kept by PostgreSQL triggers"
)

D = Decimal
EXPECTED = import_module("portal.migrations.0003_refund_day_summary").EXPECTED


def kept() -> dict[tuple, tuple]:
    """The table, shards added up, rows that add up to nothing left out."""
    totals: dict[tuple, list] = {}
    for row in RefundDay.objects.all():
        key = (row.kind, row.currency, row.day, row.key)
        sums = totals.setdefault(key, [D(0), D(0), 0])
        sums[0] += row.amount
        sums[1] += row.refunded
        sums[2] += row.count
    return {k: tuple(v) for k, v in totals.items() if v != [0, 0, 0]}


def expected() -> dict[tuple, tuple]:
    """The same sums computed from the live rows now."""
    totals: dict[tuple, list] = {}
    with connection.cursor() as cursor:
        cursor.execute(EXPECTED, None)
        for kind, currency, day, key, _shard, amount, refunded, count in cursor.fetchall():
            sums = totals.setdefault((kind, currency, day, key), [D(0), D(0), 0])
            sums[0] += amount
            sums[1] += refunded
            sums[2] += count
    return {k: tuple(v) for k, v in totals.items() if v != [0, 0, 0]}


def kept_months() -> dict[tuple, tuple]:
    """RefundMonth, shards added up, rows that add up to nothing left out."""
    totals: dict[tuple, list] = {}
    for row in RefundMonth.objects.all():
        assert row.month.day == 1
        sums = totals.setdefault((row.kind, row.currency, row.month, row.key), [D(0), D(0), 0])
        sums[0] += row.amount
        sums[1] += row.refunded
        sums[2] += row.count
    return {k: tuple(v) for k, v in totals.items() if v != [0, 0, 0]}


def by_month(days: dict[tuple, tuple]) -> dict[tuple, tuple]:
    totals: dict[tuple, list] = {}
    for (kind, currency, day, key), (amount, refunded, count) in days.items():
        sums = totals.setdefault((kind, currency, day.replace(day=1), key), [D(0), D(0), 0])
        sums[0] += amount
        sums[1] += refunded
        sums[2] += count
    return {k: tuple(v) for k, v in totals.items() if v != [0, 0, 0]}


def assert_in_step() -> None:
    now = expected()
    assert kept() == now
    assert kept_months() == by_month(now)


def days_ago(days: int):
    return timezone.now() - timedelta(days=days, hours=1)


def test_it_follows_every_step_of_a_case(acme, bolt, alice, worked_order):
    assert_in_step()  # the order and its lines: sold, nothing refunded yet
    mug, tee = worked_order.lines.order_by("sku")
    case = open_case(
        order=worked_order,
        lines=[
            LineRequest(mug.pk, "damaged", quantity=1),
            LineRequest(tee.pk, "goodwill", amount="5.50"),
        ],
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
    assert kept_months() == {}


def test_month_rows_follow_daily_rows_written_directly(acme, bolt):
    """The month rows follow any write of a daily row, not only the case triggers'."""
    order = make_order(lines=[(acme, "MUG-01", 3, "10.00", "0.10")])
    line = order.lines.get()
    open_case(order=order, lines=[LineRequest(line.pk, "damaged", quantity=1)], now=days_ago(2))
    assert kept_months() == by_month(kept())
    # Moved to another month and another shard, changed, then deleted.
    RefundDay.objects.filter(kind="sku").update(day=days_ago(70).date(), shard=3)
    assert kept_months() == by_month(kept())
    RefundDay.objects.filter(kind="case").update(amount=D("99.50"), count=2)
    assert kept_months() == by_month(kept())
    RefundDay.objects.filter(kind__in=["vendor", "reason"]).delete()
    assert kept_months() == by_month(kept())
    assert ("sku", "EUR", days_ago(70).date().replace(day=1), "MUG-01") in kept_months()


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


@pytest.mark.parametrize("days", staff_views.PERIODS)
def test_the_dashboard_reads_the_same_figures_as_from_the_live_rows(busy, days, monkeypatch):
    assert_in_step()
    span = Span(days, timezone.now(), "EUR", "vendor")

    def figures() -> tuple:
        tops = {d: staff_views.top_by(d, span) for d in DIMENSIONS}
        return (
            staff_views.currencies(span.since),
            staff_views.trend_total(span),
            tops,
            {d: staff_views.series_by(d, [r.key for r in tops[d]], span) for d in DIMENSIONS},
            # Rates compared as shown: PostgreSQL and Python divide to other precisions.
            [(r.code, r.sold, r.refunded, r.percent) for r in staff_views.refund_rates(span)],
        )

    summary = figures()
    monkeypatch.setattr(staff_views, "use_summary", lambda: False)
    live = figures()
    assert summary == live
    assert summary[1]  # something to compare


@pytest.fixture
def many_skus(acme, bolt):
    """Refunds of eight SKUs over five months, unequal and shifting amounts."""
    for index in range(24):
        sku = f"SKU-{(index * 5) % 8}"
        order = make_order(
            lines=[(acme if index % 2 else bolt, sku, 4, f"{10 + index}.00", "0.10")]
        )
        line = order.lines.get()
        open_case(
            order=order,
            lines=[LineRequest(line.pk, "damaged", quantity=1 + index % 3)],
            now=days_ago(index * 6),
        )


@pytest.mark.parametrize("days", staff_views.PERIODS)
def test_the_sku_ranking_from_months_tops_equals_ranking_every_sku(many_skus, days, monkeypatch):
    """Cut short (few candidates per month, a short top), the SKU ranking either
    proves its top from the candidates or ranks every SKU: the live figures
    either way."""
    assert_in_step()
    span = Span(days, timezone.now(), "EUR", "sku")
    outcomes = set()
    for top in (1, 2, 3, 10):
        for depth in (1, 2, 3, 50):
            monkeypatch.setattr(staff_views, "TOP", top)
            monkeypatch.setattr(staff_views, "SKU_DEPTH", depth)
            outcomes.add(staff_views.top_skus(span) is not None)
            summary = staff_views.top_by("sku", span)
            with monkeypatch.context() as live:
                live.setattr(staff_views, "use_summary", lambda: False)
                assert summary == staff_views.top_by("sku", span), (top, depth)
            assert summary
    assert outcomes == {True, False}  # both the proof and the fallback were taken
