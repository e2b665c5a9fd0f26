"""The case search's SKU part reads the vendor's distinct SKUs through
`order_line_vendor_sku_idx` on PostgreSQL: the same matches as `icontains`
(substring, any case, %, _ and \\ taken literally), the vendor's own lines only."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q

from portal.selectors import matching_case_ids
from refunds.models import RefundCase, RefundLine
from tests.portal.test_portal_support import single_vendor_case

pytest_plugins = ["tests.portal.test_portal_support"]

SKUS = ["LAMP-7", "lamp-77", "XLAMP-70", "AB%C_1", "ABXC-1", "a\\b-2", "MUG-01", "Ünï-3", "Z"]
TERMS = ["lamp-7", "LAMP", "amp-7", "7", "%", "_", "b%c", "B_C", "\\", "a\\b", "ünï", "Q", "-"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the index is PostgreSQL's")
def test_sku_matches_are_icontains_matches_of_the_vendors_own_lines(acme, bolt):
    for sku in SKUS:
        single_vendor_case(acme, sku=sku)
        single_vendor_case(bolt, sku=sku)  # the same SKUs at another vendor: never found
    found_any = set()
    for term in TERMS:
        found = set(matching_case_ids(acme, term).values_list("pk", flat=True))
        by_sku = set(
            RefundLine.objects.filter(vendor=acme, order_line__sku__icontains=term).values_list(
                "case_id", flat=True
            )
        )
        by_id_or_number = set(
            RefundCase.objects.filter(
                Q(case_id__icontains=term) | Q(order__number__icontains=term)
            ).values_list("pk", flat=True)
        )
        assert found == by_sku | by_id_or_number, term
        found_any |= by_sku
    assert len(found_any) == len(SKUS) - 1  # every case of acme but Z's has a SKU match
    assert set(matching_case_ids(acme, "LAMP-7").values_list("pk", flat=True)) == set(
        RefundLine.objects.filter(
            vendor=acme, order_line__sku__in=["LAMP-7", "lamp-77", "XLAMP-70"]
        ).values_list("case_id", flat=True)
    )
