"""DESIGN.md's worked example, to the cent."""

from decimal import Decimal

from refunds.models import CaseStatus, EventKind
from refunds.services.cases import LineRequest, open_case

D = Decimal


def test_the_order_is_priced_per_line(worked_order):
    mug, tee = worked_order.lines.order_by("sku")
    assert (mug.net_amount, mug.tax_amount, mug.commission_amount) == (D("40"), D("4"), D("4"))
    assert (tee.net_amount, tee.tax_amount, tee.commission_amount) == (D("50"), D("5"), D("7.5"))
    assert worked_order.total_amount == D("109.00")
    assert worked_order.captured_amount == D("109.00")


def test_the_refund_breakdown_matches_the_worked_example(worked_order, alice):
    mug, tee = worked_order.lines.order_by("sku")
    case = open_case(
        order=worked_order,
        lines=[
            LineRequest(order_line_id=mug.pk, quantity=1, reason="damaged"),
            LineRequest(order_line_id=tee.pk, amount="5.50", reason="late_delivery"),
        ],
        actor=alice,
    )
    assert case.status == CaseStatus.PENDING
    assert case.total_refund_amount == D("27.50")
    assert case.case_id.startswith("RFND-")
    rows = {
        row.vendor.code: (
            row.refund_amount,
            row.net_amount,
            row.tax_amount,
            row.vendor_share,
            row.platform_share,
            row.commission_reversal,
        )
        for row in case.liabilities.select_related("vendor")
    }
    assert rows == {
        "ACME": (D("22.00"), D("20.00"), D("2.00"), D("18.00"), D("2.00"), D("2.00")),
        "BOLT": (D("5.50"), D("5.00"), D("0.50"), D("0.00"), D("5.00"), D("0.00")),
    }
    assert list(case.events.values_list("kind", flat=True)) == [EventKind.OPENED]

    mug.refresh_from_db()
    tee.refresh_from_db()
    worked_order.refresh_from_db()
    assert (mug.refunded_quantity, mug.refunded_net, mug.refunded_tax) == (1, D("20"), D("2"))
    assert (tee.refunded_quantity, tee.refunded_net, tee.refunded_tax) == (0, D("5"), D("0.5"))
    assert worked_order.refunded_amount == D("27.50")
