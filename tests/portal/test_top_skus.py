"""The staff dashboard's top SKUs, proved from RefundDay's monthly SKU sums
(`skumonth`): the months stay equal to the live rows after random writes, and
the proof ranks exactly what adding up every daily row ranks."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from portal import staff_selectors
from portal.staff_selectors import Span, ranked, top_skus
from refunds.models import RefundCase, RefundDay
from refunds.services.cases import LineRequest, cancel_case, open_case, reject_case
from tests.factories import make_order
from tests.refund_day import expected, kept

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="RefundDay is kept by PostgreSQL triggers"
)


def random_cases(rng: random.Random, vendors, alice, cases: int) -> None:
    """Cases over 15 months on a dozen SKUs of skewed sales, some released,
    some moved to another day or currency outside the services."""
    now = timezone.now()
    for _ in range(cases):
        sku = f"SKU-{min(int(12 ** rng.random()), 11):02d}"
        order = make_order(
            lines=[(rng.choice(vendors), sku, 3, f"{rng.randint(1, 60)}.00", "0.10")],
            currency=rng.choice(["EUR", "EUR", "GBP"]),
            shipping=rng.choice(["0", "4.00"]),
        )
        line = order.lines.get()
        case = open_case(
            order=order,
            lines=[LineRequest(line.pk, "damaged", quantity=rng.randint(1, 3))],
            now=now - timedelta(days=rng.randint(0, 450), hours=rng.randint(0, 23)),
        )
        roll = rng.random()
        if roll < 0.15:
            reject_case(case=case, actor=alice, reason="No")
        elif roll < 0.25:
            cancel_case(case=case, actor=alice, reason="Asked by the customer")
        elif roll < 0.3:
            RefundCase.objects.filter(pk=case.pk).update(
                initiated_at=now - timedelta(days=rng.randint(0, 450))
            )


@pytest.mark.parametrize("seed", [1, 2])
def test_the_months_follow_random_writes_and_prove_the_same_top(acme, bolt, alice, seed):
    rng = random.Random(seed)
    random_cases(rng, [acme, bolt], alice, cases=45)
    assert kept() == expected()
    assert RefundDay.objects.filter(kind="skumonth").exists()

    now = timezone.now()
    rounds = []
    real_ranked = staff_selectors.ranked

    def counted(dimension, span, keys=None):
        if keys is not None:
            rounds[-1] += 1
        return real_ranked(dimension, span, keys)

    for top, first in ((1, 1), (2, 1), (3, 2), (10, 40)):
        for days in staff_selectors.PERIODS:
            for currency in ("EUR", "GBP", "USD"):
                span = Span(days, now, currency, "sku")
                with pytest.MonkeyPatch.context() as patch:
                    patch.setattr(staff_selectors, "TOP", top)
                    patch.setattr(staff_selectors, "MONTH_DEPTH_FIRST", first)
                    patch.setattr(staff_selectors, "ranked", counted)
                    rounds.append(0)
                    proved, summed = top_skus(span), real_ranked("sku", span)
                assert proved == summed, (top, days, currency)
                assert len(proved) <= top
    # Some proofs read the months deeper than the first round, some did not.
    assert max(rounds) > 1
    assert min(rounds) == 1


def test_a_released_best_seller_leaves_the_top(acme, alice):
    """The months bound a SKU from above, and a released case lowers its months:
    the proof follows it down."""
    now = timezone.now()
    cases = []
    for index in range(6):
        order = make_order(lines=[(acme, "BEST-01", 3, "50.00", "0.10")])
        line = order.lines.get()
        cases.append(
            open_case(
                order=order,
                lines=[LineRequest(line.pk, "damaged", quantity=3)],
                now=now - timedelta(days=40 * index),
            )
        )
    for index in range(4):
        order = make_order(lines=[(acme, f"SMALL-{index}", 1, "5.00", "0.10")])
        open_case(order=order, lines=[LineRequest(order.lines.get().pk, "damaged", quantity=1)])
    span = Span(365, now, "EUR", "sku")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staff_selectors, "TOP", 1)
        patch.setattr(staff_selectors, "MONTH_DEPTH_FIRST", 1)
        assert [row["key"] for row in top_skus(span)] == ["BEST-01"]
        for case in cases:
            reject_case(case=case, actor=alice, reason="No")
        assert top_skus(span) == ranked("sku", span)
        assert [row["key"] for row in top_skus(span)] == ["SMALL-0"]
    assert kept() == expected()


def test_a_sku_first_in_no_month_can_top_the_period(acme):
    """Each month's largest SKU sells in that month only; another sells a bit
    less in every month, so more over the period. Reading only the months'
    first SKUs would miss it: the bound sends the proof deeper."""
    this_month = timezone.now().replace(day=15, hour=12)

    def refund(sku: str, amount: str, months_ago: int) -> None:
        when = this_month
        for _ in range(months_ago):
            when = (when.replace(day=1) - timedelta(days=1)).replace(day=15)
        order = make_order(lines=[(acme, sku, 1, "100.00", "0")])
        line = order.lines.get()
        open_case(order=order, lines=[LineRequest(line.pk, "damaged", amount=amount)], now=when)

    for months_ago in range(1, 5):
        refund(f"SPIKE-{months_ago}", "100.00", months_ago)
        refund("STEADY", "60.00", months_ago)
    span = Span(365, timezone.now(), "EUR", "sku")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staff_selectors, "TOP", 1)
        patch.setattr(staff_selectors, "MONTH_DEPTH_FIRST", 1)
        proved = top_skus(span)
        assert proved == ranked("sku", span)
    assert [(row["key"], row["amount"]) for row in proved] == [("STEADY", Decimal("240.000"))]
