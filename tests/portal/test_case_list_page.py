"""case_list_page: a page of the case list read ids first, then the rows; the
same cases, in the same order, with the same figures as slicing case_list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal import selectors
from portal.selectors import CaseQuery, case_list, case_list_page
from refunds.models import RefundCase
from refunds.services.cases import LineRequest, approve_case, open_case
from tests.factories import make_order

pytest_plugins = ["tests.portal.test_portal_support"]


def shown(rows) -> list[tuple]:
    return [
        (c.pk, c.case_id, c.my_refund, c.my_vendor_share, c.my_acknowledged_at, c.order.number)
        for c in rows
    ]


@pytest.fixture
def mixed_cases(acme, bolt, alice):
    """Cases of acme, of bolt, and shared, of several amounts; some on the same
    second (ties broken by id)."""
    now = timezone.now()
    for index in range(14):
        lines = [(acme, f"PAGE-{index % 3}", 2, f"{5 + index % 4}.00", "0.10")]
        if index % 3 == 0:
            lines.append((bolt, "OTHER-1", 1, "7.00", "0.10"))
        order = make_order(lines=lines)
        first, *others = order.lines.order_by("pk")
        wanted = [LineRequest(first.pk, "damaged", quantity=1)]
        wanted += [LineRequest(line.pk, "damaged", quantity=1) for line in others]
        case = open_case(order=order, lines=wanted, now=now - timedelta(hours=index // 2))
        if index % 4 == 1:
            approve_case(case=case, actor=alice)
    order = make_order(lines=[(bolt, "BOLT-ONLY", 1, "9.00", "0.10")])
    open_case(order=order, lines=[LineRequest(order.lines.get().pk, "damaged", quantity=1)])


@pytest.mark.parametrize(
    "query",
    [
        CaseQuery(),
        CaseQuery(sort="date"),
        CaseQuery(sort="-amount"),
        CaseQuery(sort="amount"),
        CaseQuery(status="approved"),
        CaseQuery(q="PAGE-1"),
        CaseQuery(q="page", sort="-amount"),
        CaseQuery(q="BOLT-ONLY"),
        CaseQuery(waiting=True),
    ],
)
def test_a_page_read_ids_first_equals_the_sliced_list(mixed_cases, acme, query):
    assert RefundCase.objects.count() == 15
    for offset, limit in ((0, 26), (0, 4), (3, 4), (8, 5), (13, 4), (40, 26)):
        sliced = list(case_list(acme, query)[offset : offset + limit])
        assert shown(case_list_page(acme, query, offset, limit)) == shown(sliced)
    assert len(case_list_page(acme, CaseQuery(), 0, 26)) == 14
    assert case_list_page(acme, CaseQuery(q="BOLT-ONLY"), 0, 26) == []


def test_a_case_is_the_vendors_exactly_when_it_has_its_liability(mixed_cases, acme, bolt):
    mine = set(selectors.my_cases(bolt).values_list("pk", flat=True))
    assert mine == set(selectors.cases_for(bolt).values_list("pk", flat=True))
    assert len(mine) == 6
