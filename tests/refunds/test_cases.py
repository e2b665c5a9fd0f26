"""Opening cases: validation, reservation, over-refund refusal, atomicity."""

from contextlib import contextmanager
from decimal import Decimal

import pytest

from refunds.errors import RefundError
from refunds.models import CaseEvent, Order, RefundCase, RefundLine, VendorLiability
from refunds.services.cases import (
    LineRequest,
    approve_case,
    cancel_case,
    complete_case,
    open_case,
    reject_case,
)
from tests.factories import make_order

D = Decimal


def lines_of(order):
    return list(order.lines.order_by("sku"))


@contextmanager
def refused(field: str, code: str | None = None):
    """Expect a RefundError about `field` (and with `code`, if given)."""
    with pytest.raises(RefundError) as info:
        yield info
    assert info.value.field == field, info.value
    if code:
        assert info.value.code == code, info.value


def nothing_written(order):
    order.refresh_from_db()
    assert RefundCase.objects.count() == 0
    assert RefundLine.objects.count() == 0
    assert VendorLiability.objects.count() == 0
    assert CaseEvent.objects.count() == 0
    assert order.refunded_amount == 0
    assert all(line.refunded_quantity == 0 and line.refunded_net == 0 for line in order.lines.all())


def test_it_refuses_a_quantity_above_what_remains(worked_order, alice):
    mug, _ = lines_of(worked_order)
    with refused("lines[0].quantity", "over_refund"):
        open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=3)])
    nothing_written(worked_order)


def test_open_cases_reserve_their_quantity(worked_order, alice):
    mug, _ = lines_of(worked_order)
    open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=2)])
    with refused("lines[0].quantity", "over_refund"):
        open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])


def test_it_refuses_an_amount_above_the_lines_remaining_gross(worked_order):
    _, tee = lines_of(worked_order)
    open_case(order=worked_order, lines=[LineRequest(tee.pk, "goodwill", amount="50.00")])
    with refused("lines[0].amount", "over_refund"):
        open_case(order=worked_order, lines=[LineRequest(tee.pk, "goodwill", amount="5.01")])
    case = open_case(order=worked_order, lines=[LineRequest(tee.pk, "goodwill", amount="5.00")])
    assert case.total_refund_amount == D("5.00")


def test_two_lines_on_the_same_order_line_in_one_case_count_together(worked_order):
    mug, _ = lines_of(worked_order)
    with refused("lines[1].quantity", "over_refund"):
        open_case(
            order=worked_order,
            lines=[
                LineRequest(mug.pk, "damaged", quantity=1),
                LineRequest(mug.pk, "damaged", quantity=2),
            ],
        )
    nothing_written(worked_order)


def test_it_refuses_refunds_above_the_captured_payment(worked_order):
    # Only part of the order was captured (a gift card paid the rest).
    Order.objects.filter(pk=worked_order.pk).update(captured_amount=D("20.00"))
    mug, tee = lines_of(worked_order)
    open_case(order=worked_order, lines=[LineRequest(tee.pk, "goodwill", amount="15.00")])
    with refused("lines", "over_refund"):
        open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])
    open_case(order=worked_order, lines=[LineRequest(mug.pk, "goodwill", amount="5.00")])
    worked_order.refresh_from_db()
    assert worked_order.refunded_amount == worked_order.captured_amount == D("20.00")


def test_shipping_refunds_stop_at_the_shipping_charged(worked_order):
    mug, _ = lines_of(worked_order)
    case = open_case(
        order=worked_order,
        lines=[LineRequest(mug.pk, "damaged", quantity=1)],
        shipping_amount="6.00",
    )
    acme = case.liabilities.get()
    assert (acme.shipping_amount, acme.refund_amount, acme.vendor_share) == (
        D("6.00"),
        D("28.00"),
        D("24.00"),
    )
    with refused("shipping_amount", "over_refund"):
        open_case(order=worked_order, lines=[], shipping_amount="4.01", shipping_reason="goodwill")


def test_a_shipping_only_case_splits_over_the_orders_vendors(worked_order):
    case = open_case(
        order=worked_order, lines=[], shipping_amount="10.00", shipping_reason="shipping_damage"
    )
    rows = {r.vendor.code: r for r in case.liabilities.select_related("vendor")}
    # Weighted by gross: ACME 44.00, BOLT 55.00.
    assert rows["ACME"].shipping_amount + rows["BOLT"].shipping_amount == D("10.00")
    assert (rows["ACME"].shipping_amount, rows["BOLT"].shipping_amount) == (D("4.44"), D("5.56"))
    assert all(r.platform_share == r.shipping_amount for r in rows.values())


def test_rejecting_or_cancelling_gives_the_amount_back(worked_order, alice):
    mug, tee = lines_of(worked_order)
    first = open_case(
        order=worked_order,
        lines=[
            LineRequest(mug.pk, "damaged", quantity=2),
            LineRequest(tee.pk, "goodwill", amount="1"),
        ],
        shipping_amount="10",
    )
    reject_case(case=first, actor=alice, reason="Photos show no damage")
    second = open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=2)])
    approve_case(case=second, actor=alice)
    cancel_case(case=second, actor=alice, reason="Customer kept the mugs")
    worked_order.refresh_from_db()
    mug.refresh_from_db()
    tee.refresh_from_db()
    assert worked_order.refunded_amount == 0 and worked_order.refunded_shipping == 0
    assert (mug.refunded_quantity, mug.refunded_net, mug.refunded_tax) == (0, 0, 0)
    assert (mug.commission_base_refunded, mug.commission_reversed) == (0, 0)
    assert (tee.refunded_net, tee.refunded_tax) == (0, 0)
    open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=2)])


def test_completed_cases_keep_their_reservation(worked_order, alice):
    mug, _ = lines_of(worked_order)
    case = open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=2)])
    approve_case(case=case, actor=alice)
    complete_case(case=case, actor=alice, gateway_reference="re_123")
    with refused("lines[0].quantity", "over_refund"):
        open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])


@pytest.mark.parametrize(
    ("line", "field", "code"),
    [
        ({"quantity": 0}, "lines[0].quantity", None),
        ({"quantity": "x"}, "lines[0].quantity", None),
        ({"quantity": 1.5}, "lines[0].quantity", None),
        ({"amount": "-1"}, "lines[0].amount", None),
        ({"amount": "0"}, "lines[0].amount", None),
        ({"amount": "1.005"}, "lines[0].amount", None),
        ({"amount": 1.5}, "lines[0].amount", None),
        ({"amount": "NaN"}, "lines[0].amount", None),
        ({"amount": "1e400"}, "lines[0].amount", None),
        ({"quantity": 1, "amount": "1"}, "lines[0]", None),
        ({}, "lines[0]", None),
        ({"quantity": 1, "reason": "nope"}, "lines[0].reason", "not_found"),
        ({"quantity": 1, "reason": ""}, "lines[0].reason", "required"),
        ({"quantity": 1, "order_line": "abc"}, "lines[0].order_line", None),
        ({"quantity": 1, "order_line": 999999}, "lines[0].order_line", "not_found"),
    ],
)
def test_bad_input_is_refused_naming_the_field(worked_order, line, field, code):
    mug, _ = lines_of(worked_order)
    request = LineRequest(
        order_line_id=line.get("order_line", mug.pk),
        reason=line.get("reason", "damaged"),
        quantity=line.get("quantity"),
        amount=line.get("amount"),
    )
    with refused(field, code):
        open_case(order=worked_order, lines=[request])
    nothing_written(worked_order)


def test_it_refuses_an_order_line_of_another_order(worked_order, acme):
    other = make_order(lines=[(acme, "MUG-02", 1, "10.00", "0.10")])
    with refused("lines[0].order_line", "not_found"):
        open_case(
            order=worked_order,
            lines=[LineRequest(other.lines.get().pk, "damaged", quantity=1)],
        )


def test_it_refuses_an_empty_case_and_a_missing_order(worked_order):
    with refused("lines"):
        open_case(order=worked_order, lines=[])
    with refused("order", "not_found"):
        open_case(order=10**9, lines=[])


def test_an_inactive_reason_cannot_be_used(worked_order):
    from refunds.models import ReasonPolicy

    ReasonPolicy.objects.filter(code="goodwill").update(is_active=False)
    mug, _ = lines_of(worked_order)
    with refused("lines[0].reason", "not_found"):
        open_case(order=worked_order, lines=[LineRequest(mug.pk, "goodwill", quantity=1)])


def test_currencies_with_zero_and_three_decimals(acme):
    yen = make_order(currency="JPY", lines=[(acme, "TEA-01", 3, "1000", "0.08")])
    line = yen.lines.get()
    case = open_case(order=yen, lines=[LineRequest(line.pk, "damaged", quantity=1)])
    assert case.total_refund_amount == D("1080")
    with refused("lines[0].amount"):
        open_case(order=yen, lines=[LineRequest(line.pk, "goodwill", amount="10.5")])
    dinar = make_order(currency="KWD", lines=[(acme, "OUD-01", 1, "12.345", "0")])
    case = open_case(
        order=dinar, lines=[LineRequest(dinar.lines.get().pk, "damaged", amount="1.001")]
    )
    assert case.liabilities.get().vendor_share == D("0.901")  # 1.001 less 10% commission 0.100
