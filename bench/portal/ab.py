"""--ab: issue 14's reads before and after, alternated in one process.

The machine is shared, so two runs minutes apart compare the load as much as
the code. Here each read is timed old and new in turn, request after request,
and the medians and their ratio are printed.

- staff dashboard figures (`portal.staff_selectors.dashboard_figures`): after,
  whole past months from RefundMonth (the folded months); before, every day
  from RefundDay (the same function with no folded months, which is the
  previous computation: same SQL shape, every (day, key) row of the period);
- the case list searched by SKU (`portal.selectors.case_list_page` with `q`):
  after, the vendor's SKUs through `order_line_vendor_sku_idx`; before, the
  trigram index (`old_matching_case_ids`, the previous code), on the same
  terms as the page measured (the bench's random SKUs of the vendor).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import unquote_plus

from bench.common import load_average
from bench.portal.data import World


def alternate(
    name: str, before: Callable[[], Any], after: Callable[[], Any], times: int
) -> tuple[str, str, str, str, str]:
    """Median ms of `before` and `after`, timed in turn `times` times each (once each untimed)."""
    assert before() == after(), f"{name}: before and after disagree"
    old, new = [], []
    for turn in range(times):
        pair = ((before, old), (after, new)) if turn % 2 == 0 else ((after, new), (before, old))
        for read, into in pair:
            started = time.perf_counter_ns()
            read()
            into.append(time.perf_counter_ns() - started)
    old_ms, new_ms = statistics.median(old) / 1e6, statistics.median(new) / 1e6
    return name, f"{old_ms:.1f}", f"{new_ms:.1f}", f"{old_ms / new_ms:.1f}x", load_average()


def old_matching_case_ids(vendor: Any, term: str) -> Any:
    """portal.selectors.matching_case_ids before issue 14: SKUs through the trigram index."""
    from refunds.models import RefundCase, RefundLine

    by_case_id = RefundCase.objects.filter(case_id__icontains=term).values("pk").order_by()
    by_order = RefundCase.objects.filter(order__number__icontains=term).values("pk").order_by()
    by_sku = (
        RefundLine.objects.filter(vendor=vendor, order_line__sku__icontains=term)
        .values("case_id")
        .order_by()
    )
    return by_case_id.union(by_order, by_sku)


def compare_before_after(args: argparse.Namespace, world: World, search_urls: list[str]) -> None:
    from django.utils import timezone

    from bench.common import print_table
    from portal import staff_selectors
    from portal.staff_selectors import Span, dashboard_figures

    now = timezone.now()
    rows = []
    for days, by in ((30, "vendor"), (90, "reason"), (365, "sku")):
        span = Span(days, now, "EUR", by)

        def folded(span: Span = span) -> Any:
            # The same figures but for the note saying when the months were summed.
            return replace(dashboard_figures(span), folded_at=None)

        def daily(span: Span = span) -> Any:
            real = staff_selectors.with_folded_months
            staff_selectors.with_folded_months = lambda span: span  # type: ignore[assignment]
            try:
                return dashboard_figures(span)
            finally:
                staff_selectors.with_folded_months = real

        rows.append(alternate(f"staff figures {days} d by {by}", daily, folded, args.ab))
    from portal import selectors
    from portal.selectors import CaseQuery, case_list_page
    from vendors.models import Vendor

    vendor = Vendor.objects.get(pk=world.vendor_ids[0])
    terms = [unquote_plus(url.split("q=", 1)[1]) for url in search_urls]
    turn = {"old": 0, "new": 0}

    def search(which: str) -> Any:
        term = terms[turn[which] % len(terms)]
        turn[which] += 1
        return [c.pk for c in case_list_page(vendor, CaseQuery(q=term), 0, 26)]

    def new_search() -> Any:
        return search("new")

    def old_search() -> Any:
        real = selectors.matching_case_ids
        selectors.matching_case_ids = old_matching_case_ids
        try:
            return search("old")
        finally:
            selectors.matching_case_ids = real

    rows.append(alternate("case list, search SKU (first page)", old_search, new_search, args.ab))
    print()
    print(f"before / after in one process, {args.ab} alternations each (median ms):")
    print_table(("read", "before", "after", "before/after", "load after"), rows, left=1)
