"""Refunding a line in pieces never sums to more or less than the line.

Pure pricing on in-memory lines: Hypothesis drives random sequences of
quantity and amount pieces until the line is used up.
"""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.money import ZERO, minor_unit
from refunds.errors import RefundError
from refunds.models import ReasonPolicy
from refunds.services.liability import (
    liabilities_for,
    price_amount,
    price_quantity,
    price_shipping,
)
from refunds.services.orders import price_order_line

VENDOR_BEARS = ReasonPolicy(
    code="damaged",
    vendor_share_percent=Decimal(100),
    refund_commission_to_vendor=True,
    shipping_bearer="vendor",
)
PLATFORM_BEARS = ReasonPolicy(
    code="goodwill",
    vendor_share_percent=Decimal(0),
    refund_commission_to_vendor=False,
    shipping_bearer="platform",
)


def make_line(currency, quantity, unit_units, tax_rate, commission_rate, vendor_id=1):
    return price_order_line(
        currency,
        quantity,
        Decimal(unit_units) * minor_unit(currency),
        tax_rate,
        commission_rate,
        id=vendor_id,
        vendor_id=vendor_id,
        sku="SKU",
        refunded_quantity=0,
        refunded_net=ZERO,
        refunded_tax=ZERO,
        commission_base_refunded=ZERO,
        commission_reversed=ZERO,
    )


rates = st.sampled_from(
    [Decimal(r) for r in ("0", "0.05", "0.07", "0.10", "0.19", "0.2", "0.0725")]
)
policies = st.sampled_from(
    [
        VENDOR_BEARS,
        PLATFORM_BEARS,
        ReasonPolicy(
            code="split",
            vendor_share_percent=Decimal("33.33"),
            refund_commission_to_vendor=True,
            shipping_bearer="vendor",
        ),
        ReasonPolicy(
            code="customer_remorse",
            vendor_share_percent=Decimal(100),
            refund_commission_to_vendor=False,
            shipping_bearer="platform",
        ),
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    currency=st.sampled_from(["JPY", "EUR", "KWD"]),
    quantity=st.integers(min_value=1, max_value=40),
    unit_units=st.integers(min_value=1, max_value=10**7),
    tax_rate=rates,
    commission_rate=st.sampled_from([Decimal("0.1"), Decimal("0.15"), Decimal("0.0875")]),
    data=st.data(),
)
def test_pieces_of_a_line_sum_exactly_to_the_line(
    currency, quantity, unit_units, tax_rate, commission_rate, data
):
    line = make_line(currency, quantity, unit_units, tax_rate, commission_rate)
    unit = minor_unit(currency)
    pieces = []
    while line.refunded_net + line.refunded_tax < line.net_amount + line.tax_amount:
        remaining_qty = line.quantity - line.refunded_quantity
        remaining_gross = line.net_amount + line.tax_amount - line.refunded_net - line.refunded_tax
        policy = data.draw(policies)
        use_quantity = remaining_qty > 0 and data.draw(st.booleans())
        try:
            if use_quantity:
                q = data.draw(st.integers(min_value=1, max_value=remaining_qty))
                pieces.append(price_quantity(line, q, policy, currency, "lines[0]"))
            else:
                units = int(remaining_gross / unit)
                g = data.draw(st.integers(min_value=1, max_value=units)) * unit
                pieces.append(price_amount(line, g, policy, currency, "lines[0]"))
        except RefundError as error:
            # A quantity can outgrow what earlier amount refunds left over.
            assert error.code == "over_refund"
            g = remaining_gross
            pieces.append(price_amount(line, g, policy, currency, "lines[0]"))
        piece = pieces[-1]
        assert piece.net >= 0 and piece.tax >= 0
        assert piece.vendor_share >= 0 and piece.platform_share >= 0
        assert piece.vendor_share + piece.platform_share == piece.net
        assert piece.commission_reversal <= piece.platform_share
    assert sum(p.net for p in pieces) == line.net_amount
    assert sum(p.tax for p in pieces) == line.tax_amount
    assert line.commission_reversed <= line.commission_amount
    with pytest.raises(RefundError):
        price_amount(line, unit, VENDOR_BEARS, currency, "lines[0]")


@settings(max_examples=200, deadline=None)
@given(
    currency=st.sampled_from(["JPY", "EUR", "KWD"]),
    quantity=st.integers(min_value=1, max_value=30),
    unit_units=st.integers(min_value=1, max_value=10**6),
    commission_rate=st.sampled_from([Decimal("0.1"), Decimal("0.15"), Decimal("0.0875")]),
    data=st.data(),
)
def test_vendor_borne_pieces_give_back_exactly_the_commission_taken(
    currency, quantity, unit_units, commission_rate, data
):
    line = make_line(currency, quantity, unit_units, Decimal("0.19"), commission_rate)
    while line.refunded_quantity < line.quantity:
        q = data.draw(st.integers(min_value=1, max_value=line.quantity - line.refunded_quantity))
        price_quantity(line, q, VENDOR_BEARS, currency, "lines[0]")
    assert line.commission_reversed == line.commission_amount
    assert line.commission_base_refunded == line.net_amount


@settings(max_examples=200, deadline=None)
@given(
    currency=st.sampled_from(["JPY", "EUR", "KWD"]),
    shipping_units=st.integers(min_value=1, max_value=10**6),
    weights=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=6),
)
def test_shipping_splits_exactly_over_vendors(currency, shipping_units, weights):
    amount = Decimal(shipping_units) * minor_unit(currency)
    piece = price_shipping(
        amount, VENDOR_BEARS, {i + 1: Decimal(w) for i, w in enumerate(weights)}, currency
    )
    rows = liabilities_for([piece])
    assert sum(r.shipping_amount for r in rows) == amount
    assert sum(r.vendor_share for r in rows) == amount
    assert all(r.refund_amount == r.shipping_amount for r in rows)


def test_the_last_unit_takes_what_remains_tax_included():
    # 3 × 0.33 at 19%: net 0.99, tax 0.19 for the line, spread cumulatively.
    line = make_line("EUR", 3, 33, Decimal("0.19"), Decimal("0.1"))
    first = price_quantity(line, 1, VENDOR_BEARS, "EUR", "lines[0]")
    second = price_quantity(line, 1, VENDOR_BEARS, "EUR", "lines[0]")
    last = price_quantity(line, 1, VENDOR_BEARS, "EUR", "lines[0]")
    assert (first.tax, second.tax, last.tax) == (Decimal("0.06"), Decimal("0.07"), Decimal("0.06"))
    assert first.tax + second.tax + last.tax == line.tax_amount == Decimal("0.19")
    assert first.net + second.net + last.net == Decimal("0.99")


def test_an_amount_splits_into_net_and_tax_by_the_lines_rate():
    line = make_line("EUR", 1, 5000, Decimal("0.10"), Decimal("0.15"))
    piece = price_amount(line, Decimal("5.50"), PLATFORM_BEARS, "EUR", "lines[0]")
    assert (piece.net, piece.tax) == (Decimal("5.00"), Decimal("0.50"))
    assert (piece.vendor_share, piece.platform_share) == (Decimal("0"), Decimal("5.00"))
