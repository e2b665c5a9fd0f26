"""The staff dashboard's monthly sums (RefundMonth), folded off the write path
from RefundDay's daily rows: the folded figures equal the daily rows' figures
(month boundaries, the partial first month and the current month included),
folding again changes nothing, and a later change reaches a month at its
next fold."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from portal import staff_selectors
from portal.staff_selectors import (
    DIMENSIONS,
    PERIODS,
    Span,
    dashboard_figures,
    ranked,
    refund_rates,
    top_by,
    top_skus,
    with_folded_months,
)
from refunds.models import RefundCase, RefundDay, RefundMonth, RefundMonthFold
from refunds.services.cases import LineRequest, cancel_case, open_case, reject_case
from refunds.services.refund_months import fold_month, fold_refund_months, foldable_months
from tests.factories import make_order
from tests.portal.test_portal_support import logged_in
from tests.refund_day import expected, kept

pytest_plugins = ["tests.portal.test_portal_support"]

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="RefundDay is kept by PostgreSQL triggers"
)


def month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def random_cases(rng: random.Random, vendors, alice, cases: int, now: datetime) -> None:
    """Cases over 15 months on a dozen SKUs of skewed sales, orders placed a few
    days before, some released, some moved to another day outside the services;
    and a few on either side of the current month's first midnight."""
    boundary = month_start(now)
    moments = [boundary - timedelta(seconds=1), boundary, boundary + timedelta(minutes=1), now]
    moments += [
        now - timedelta(days=rng.randint(0, 450), hours=rng.randint(0, 23)) for _ in range(cases)
    ]
    for when in moments:
        when = min(when, now)
        sku = f"SKU-{min(int(12 ** rng.random()), 11):02d}"
        order = make_order(
            lines=[(rng.choice(vendors), sku, 3, f"{rng.randint(1, 60)}.00", "0.10")],
            currency=rng.choice(["EUR", "EUR", "GBP"]),
            shipping=rng.choice(["0", "4.00"]),
            placed_at=when - timedelta(days=rng.randint(0, 5)),
        )
        line = order.lines.get()
        case = open_case(
            order=order,
            lines=[LineRequest(line.pk, "damaged", quantity=rng.randint(1, 3))],
            now=when,
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


def month_sums() -> dict[tuple, tuple]:
    """RefundDay's rows of every folded month through its fold's last day,
    added up per (kind, currency, month, key)."""
    folded = dict(RefundMonthFold.objects.values_list("month", "through"))
    totals: dict[tuple, list] = {}
    for row in RefundDay.objects.all():
        month = row.day.replace(day=1)
        if month in folded and row.day <= folded[month]:
            sums = totals.setdefault((row.kind, row.currency, month, row.key), [0, 0, 0])
            sums[0] += row.amount
            sums[1] += row.refunded
            sums[2] += row.count
    return {k: tuple(v) for k, v in totals.items() if v != [0, 0, 0]}


def months_kept() -> dict[tuple, tuple]:
    return {
        (row.kind, row.currency, row.month, row.key): (row.amount, row.refunded, row.count)
        for row in RefundMonth.objects.all()
    }


def unfolded(span: Span) -> Span:
    return Span(span.days, span.now, span.currency, span.by)


@pytest.mark.parametrize("seed", [1, 2])
def test_folded_months_give_the_daily_rows_figures(acme, bolt, alice, seed):
    now = timezone.now()
    random_cases(random.Random(seed), [acme, bolt], alice, cases=45, now=now)
    assert kept() == expected()
    folded = fold_refund_months(now=now)
    assert folded == foldable_months(now)
    assert len(folded) >= 14
    today = now.astimezone(UTC).date()
    if today.day > 1:  # the current month up to yesterday; today stays daily
        fold = RefundMonthFold.objects.get(month=month_start(now).date())
        assert fold.through == today - timedelta(days=1)
    assert months_kept() == month_sums()

    for days in PERIODS:
        for currency in ("EUR", "GBP", "USD"):
            for by in DIMENSIONS:
                daily = Span(days, now, currency, by)
                span = with_folded_months(daily)
                if days == 365:
                    assert len(span.folded) >= 10
                for dimension in DIMENSIONS:
                    assert top_by(dimension, span) == top_by(dimension, daily), (days, dimension)
                assert refund_rates(span) == refund_rates(daily)
            # The whole page's figures, folded (as the view reads them) and not.
            folded_figures = dashboard_figures(daily)
            assert folded_figures.folded_at == now
            RefundMonthFold.objects.all().delete()
            assert dashboard_figures(daily) == replace(folded_figures, folded_at=None)
            fold_refund_months(now=now)


@pytest.mark.parametrize("seed", [3, 4])
def test_the_top_skus_proof_ranks_what_the_whole_sum_ranks(acme, bolt, alice, seed):
    """With tiny tops and first rounds, so that the bound matters and some
    proofs read the months deeper."""
    now = timezone.now()
    random_cases(random.Random(seed), [acme, bolt], alice, cases=60, now=now)
    fold_refund_months(now=now)
    rounds: list[int] = []
    real_ranked = staff_selectors.ranked

    def counted(dimension, span, keys=None):
        if keys is not None:
            rounds[-1] += 1
        return real_ranked(dimension, span, keys)

    for top, first in ((1, 1), (2, 1), (3, 2), (10, 40)):
        for days in PERIODS:
            for currency in ("EUR", "GBP"):
                daily = Span(days, now, currency, "sku")
                with pytest.MonkeyPatch.context() as patch:
                    patch.setattr(staff_selectors, "TOP", top)
                    patch.setattr(staff_selectors, "MONTH_DEPTH_FIRST", first)
                    patch.setattr(staff_selectors, "ranked", counted)
                    rounds.append(0)
                    proved = top_skus(with_folded_months(daily))
                    whole = real_ranked("sku", daily)
                assert proved == whole, (top, days, currency)
                assert len(proved) <= top
    # The spans' first months are partial and folded: listed from their monthly sums.
    assert any(with_folded_months(Span(d, now, "EUR", "sku")).first_month_folded for d in PERIODS)
    assert max(rounds) > 1  # some proofs needed a deeper round
    assert min(rounds) <= 1


def test_a_sku_first_in_no_month_can_top_the_period(acme):
    """Each month's largest SKU sells in that month only; another sells a bit
    less in every month, so more over the period: the bound sends the proof deeper."""
    now = timezone.now()
    mid_month = month_start(now).replace(day=15, hour=12)

    def refund(sku: str, amount: str, months_ago: int) -> None:
        when = mid_month
        for _ in range(months_ago):
            when = (when.replace(day=1) - timedelta(days=1)).replace(day=15)
        order = make_order(lines=[(acme, sku, 1, "100.00", "0")], placed_at=when)
        line = order.lines.get()
        open_case(order=order, lines=[LineRequest(line.pk, "damaged", amount=amount)], now=when)

    for months_ago in range(1, 5):
        refund(f"SPIKE-{months_ago}", "100.00", months_ago)
        refund("STEADY", "60.00", months_ago)
    fold_refund_months(now=now)
    daily = Span(365, now, "EUR", "sku")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staff_selectors, "TOP", 1)
        patch.setattr(staff_selectors, "MONTH_DEPTH_FIRST", 1)
        proved = top_skus(with_folded_months(daily))
        assert proved == ranked("sku", daily)
    assert [(row["key"], row["amount"]) for row in proved] == [("STEADY", Decimal("240.000"))]


def test_folding_again_changes_nothing_and_a_later_change_waits_for_the_next_fold(acme, alice):
    now = timezone.now()
    last_month = (month_start(now) - timedelta(days=10)).replace(hour=12)
    order = make_order(lines=[(acme, "LATE-01", 2, "30.00", "0.10")], placed_at=last_month)
    case = open_case(
        order=order,
        lines=[LineRequest(order.lines.get().pk, "damaged", quantity=1)],
        now=last_month,
    )
    fold_refund_months(now=now)
    first = months_kept()
    assert first == month_sums()
    assert ("sku", "EUR", last_month.date().replace(day=1), "LATE-01") in first
    stamps = dict(RefundMonthFold.objects.values_list("month", "folded_at"))

    fold_refund_months(now=now + timedelta(minutes=10))
    assert months_kept() == first  # idempotent
    assert RefundMonthFold.objects.count() == len(stamps)
    assert all(
        stamp == now + timedelta(minutes=10)
        for stamp in RefundMonthFold.objects.values_list("folded_at", flat=True)
    )

    # The case rejected after the fold: the daily rows drop it at once, the
    # month at its next fold (its SKU's row deleted: nothing left to sum).
    reject_case(case=case, actor=alice, reason="No")
    assert months_kept() == first
    fold_refund_months(now=now, recent=2)  # this month and the last
    assert months_kept() == month_sums()
    assert ("sku", "EUR", last_month.date().replace(day=1), "LATE-01") not in months_kept()
    span = Span(365, now, "EUR", "sku")
    assert top_by("sku", with_folded_months(span)) == top_by("sku", span)


def test_only_days_before_today_are_folded(acme, alice):
    now = timezone.now()
    today = now.astimezone(UTC).date()
    for when in (now, now - timedelta(days=1)):
        order = make_order(lines=[(acme, "NOW-01", 1, "10.00", "0.10")], placed_at=when)
        open_case(
            order=order, lines=[LineRequest(order.lines.get().pk, "damaged", quantity=1)], now=when
        )
    assert fold_refund_months(now=now) == foldable_months(now)
    yesterday = today - timedelta(days=1)
    fold = RefundMonthFold.objects.get(month=yesterday.replace(day=1))
    assert fold.through == yesterday
    # Exactly yesterday's rows: today's case is not in the month's sums.
    assert months_kept() == {
        (kind, currency, day.replace(day=1), key): sums
        for (kind, currency, day, key), sums in kept().items()
        if day == yesterday
    }
    assert months_kept()[("sku", "EUR", yesterday.replace(day=1), "NOW-01")][2] == 1
    with pytest.raises(ValueError, match="no day before today"):
        fold_month(today.replace(day=1), now=now.replace(day=1))
    # The day after, today is folded too; both spans agree with the daily rows.
    tomorrow = now + timedelta(days=1)
    fold_refund_months(now=tomorrow, recent=1)
    assert RefundMonthFold.objects.get(month=today.replace(day=1)).through == today
    for days in PERIODS:
        for by in DIMENSIONS:
            daily = Span(days, tomorrow, "EUR", by)
            span = with_folded_months(daily)
            assert span.folded
            for dimension in DIMENSIONS:
                assert top_by(dimension, span) == top_by(dimension, daily)
            assert refund_rates(span) == refund_rates(daily)


def test_the_page_says_when_past_months_were_summed(alice, acme):
    now = timezone.now()
    before = month_start(now) - timedelta(days=40)
    order = make_order(lines=[(acme, "OLD-01", 1, "10.00", "0.10")], placed_at=before)
    open_case(
        order=order, lines=[LineRequest(order.lines.get().pk, "damaged", quantity=1)], now=before
    )
    client = logged_in(alice)
    response = client.get("/staff/", {"days": "365", "by": "sku"})
    assert response.context["folded_at"] is None
    assert 'id="folded-at"' not in response.content.decode()
    stamp = now - timedelta(minutes=5)
    fold_refund_months(now=stamp)
    response = client.get("/staff/", {"days": "365", "by": "sku"})
    assert response.context["folded_at"] == stamp
    assert f"as summed at {stamp:%Y-%m-%d %H:%M} UTC" in response.content.decode()
    tops = {key: rows for key, _name, _counted, rows, _chart in response.context["tops"]}
    assert [row.key for row in tops["sku"]] == ["OLD-01"]
