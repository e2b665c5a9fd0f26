"""The staff dashboard: who may see it, its figures on a small dataset, and a
number of queries that does not grow with the data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.staff_selectors import Span
from refunds.services.cases import (
    LineRequest,
    approve_case,
    dispute_case,
    open_case,
    reject_case,
)
from refunds.services.orders import OrderLineRequest, PaymentRequest, create_order
from tests.factories import UserFactory, make_order
from tests.portal.test_portal_support import logged_in

pytest_plugins = ["tests.portal.test_portal_support"]

D = Decimal
URL = "/staff/"


def days_ago(days: int, hours: int = 1):
    return timezone.now() - timedelta(days=days, hours=hours)


@pytest.fixture
def cases(worked_order, acme, bolt, alice):
    """ORD-1001 (placed now): ACME 2 mugs at 22.00 gross, BOLT a tee at 55.00.

    pending   1 day old   ACME mug             22.00 damaged
    approved  5 days old  BOLT tee amount       5.50 late delivery
    disputed  10 days     ACME mug (by ACME)   22.00 damaged
    rejected  today       ACME mug of ORD-2    (released: counts nowhere)
    pending   40 days     BOLT tee of ORD-OLD  (placed 45 days ago)
    """
    mug, tee = worked_order.lines.order_by("sku")
    fresh = open_case(
        order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)], now=days_ago(1)
    )
    approved = open_case(
        order=worked_order,
        lines=[LineRequest(tee.pk, "late_delivery", amount="5.50")],
        now=days_ago(5),
    )
    approve_case(case=approved, actor=alice)
    disputed = open_case(
        order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)], now=days_ago(10)
    )
    dispute_case(case=disputed, vendor=acme, message="Not broken", actor=None)
    second = make_order(number="ORD-2", lines=[(acme, "MUG-01", 1, "20.00", "0.10")])
    rejected = open_case(
        order=second, lines=[LineRequest(second.lines.get().pk, "damaged", quantity=1)]
    )
    reject_case(case=rejected, actor=alice, reason="Not eligible")
    old_order = create_order(
        number="ORD-OLD",
        currency="EUR",
        source="web",
        lines=[OrderLineRequest("BOLT", "TEE-01", 1, "50.00", "0.10")],
        payments=[PaymentRequest("card", "55.00")],
        placed_at=days_ago(45),
    )
    old = open_case(
        order=old_order,
        lines=[LineRequest(old_order.lines.get().pk, "damaged", quantity=1)],
        now=days_ago(40),
    )
    return {"fresh": fresh, "approved": approved, "disputed": disputed, "old": old}


def test_anonymous_people_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_people_who_are_not_staff_are_refused(vera):
    assert logged_in(vera).get(URL).status_code == 403


def test_staff_who_may_not_see_cases_are_refused(db):
    clerk = UserFactory(username="clerk", is_staff=True)
    assert logged_in(clerk).get(URL).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_refundcase"))
    assert logged_in(clerk).get(URL).status_code == 200


def test_the_admin_index_links_to_the_dashboard(alice):
    response = logged_in(alice).get(reverse("admin:index"))
    assert f'href="{URL}"' in response.content.decode()


def test_the_figures_on_a_small_dataset(alice, cases):
    response = logged_in(alice).get(URL)
    assert response.status_code == 200
    context = response.context

    ages = {row.status: row.counts for row in context["ages"]}
    assert ages == {
        "pending": [1, 0, 0, 1],
        "approved": [0, 1, 0, 0],
        "completed": [0, 0, 0, 0],
        "disputed": [0, 0, 1, 0],
    }
    assert context["open_total"] == 4
    assert context["disputed_total"] == 1

    # The last 30 days, EUR: the rejected case and the 40-day-old one are out.
    assert context["refund_total"] == D("49.50")
    assert context["refund_cases"] == 3
    tops = {
        key: [(row.label, row.amount, row.count) for row in rows]
        for key, _, _, rows, _ in context["tops"]
    }
    assert tops["vendor"] == [
        ("ACME · Acme Mugs", D("44.00"), 2),
        ("BOLT · Bolt Tees", D("5.50"), 1),
    ]
    assert tops["sku"] == [("MUG-01", D("44.00"), 2), ("TEE-01", D("5.50"), 1)]
    assert tops["reason"] == [("Arrived damaged", D("44.00"), 2), ("Late delivery", D("5.50"), 1)]
    assert len(context["trend_chart"].series[0].dots) == 31  # a point a day

    # Sold on orders placed in the last 30 days: ACME 44.00 + 22.00 (ORD-2,
    # whose case was rejected), of which 44.00 refunded; BOLT 55.00, 5.50.
    rates = [(row.code, row.sold, row.refunded, row.percent) for row in context["rates"]]
    assert rates == [
        ("ACME", D("66.00"), D("44.00"), D("66.7")),
        ("BOLT", D("55.00"), D("5.50"), D("10.0")),
    ]

    [(case, waiting, age)] = context["disputes"]
    assert case == cases["disputed"]
    assert case.disputed_by == "ACME"
    assert (waiting, age) == (0, 10)
    body = response.content.decode()
    assert cases["disputed"].case_id in body
    # Charts are inline SVG; nothing is fetched from elsewhere.
    assert '<svg class="chart"' in body
    assert 'src="http' not in body and 'href="http' not in body


def test_the_period_selector_widens_the_window(alice, cases):
    response = logged_in(alice).get(URL, {"days": "90", "by": "reason"})
    context = response.context
    assert context["span"] == Span(90, context["span"].now, "EUR", "reason")
    assert context["refund_total"] == D("104.50")  # the 40-day-old case is in
    assert [series.name for series in context["trend_chart"].series] == [
        "All refunds",
        "Arrived damaged",
        "Late delivery",
    ]
    # An unknown period falls back to 30 days.
    assert logged_in(alice).get(URL, {"days": "7"}).context["span"].days == 30


def test_the_number_of_queries_does_not_grow_with_the_data(
    alice, cases, acme, bolt, django_assert_max_num_queries
):
    client = logged_in(alice)
    client.get(URL)  # warm the session

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL, {"days": "365"}).status_code == 200
        return len(captured)

    before = queries()
    for index in range(15):
        vendor = acme if index % 2 else bolt
        order = make_order(lines=[(vendor, f"SKU-{index}", 3, "10.00", "0.10")])
        line = order.lines.get()
        case = open_case(
            order=order,
            lines=[LineRequest(line.pk, "damaged", quantity=1)],
            now=days_ago(index * 7),
        )
        if index % 3 == 0:
            dispute_case(case=case, vendor=vendor, message="No", actor=None)
    assert queries() == before
    # The session, the user, and the dashboard's twelve queries (the eleven
    # figures' and the folded months': portal.staff_selectors.with_folded_months).
    with django_assert_max_num_queries(14):
        client.get(URL, {"days": "90", "by": "sku"})
