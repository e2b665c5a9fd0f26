"""What open_case returns is what it wrote: the lines, liabilities and event
in the case's prefetch cache carry the ids and values of their rows (written
in one batch after the case, refunds.services._opening_sql.write_rest), and
the codes of the case's vendors come back read with the order's lines."""

from __future__ import annotations

import pytest
from django.db import connection

from refunds.models import CaseEvent, RefundLine, VendorLiability
from refunds.services.cases import LineRequest, open_case
from refunds.services.opening import opened_vendor_codes
from tests.factories import make_order, worked_refund_lines


def _rows(model, case, *fields):
    return list(model.objects.filter(case=case).order_by("id").values_list("id", *fields))


def test_open_case_returns_its_rows_with_their_ids(acme, bolt, worked_order):
    case = open_case(
        order=worked_order,
        lines=worked_refund_lines(worked_order),
        shipping_amount="2.00",
        shipping_reason="late_delivery",
    )
    assert [(line.pk, line.kind, line.gross_amount) for line in case.lines.all()] == _rows(
        RefundLine, case, "kind", "gross_amount"
    )
    assert [(row.pk, row.vendor_id, row.refund_amount) for row in case.liabilities.all()] == _rows(
        VendorLiability, case, "vendor_id", "refund_amount"
    )
    assert [(event.pk, event.kind) for event in case.events.all()] == _rows(CaseEvent, case, "kind")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="read with the lines on PostgreSQL")
def test_the_vendors_codes_come_back_in_the_databases_order(acme, bolt):
    order = make_order(
        shipping="3.00",
        lines=[(bolt, "TEE-01", 1, "50.00", "0.10"), (acme, "MUG-01", 2, "20.00", "0.10")],
    )
    tee, _mug = order.lines.order_by("id")
    case = open_case(order=order, lines=[LineRequest(tee.pk, "damaged", quantity=1)])
    assert list(opened_vendor_codes(case).items()) == [(bolt.pk, "BOLT")]
    # Shipping alone reads every line of the order: both vendors, by code.
    shipping = open_case(order=order, lines=[], shipping_amount="3.00", shipping_reason="damaged")
    assert list(opened_vendor_codes(shipping).items()) == [(acme.pk, "ACME"), (bolt.pk, "BOLT")]
    assert opened_vendor_codes(type(case).objects.get(pk=case.pk)) is None
