"""The sale's tax rules that documents and books share (refunds/tax.py)."""

from decimal import Decimal as D

import pytest

from refunds.models import Channel, ShippingEarner, ShippingTax
from refunds.tax import GoodsShare, ShippingPart, split_shipping, tax_model_of
from vendors.models import TaxModel, Vendor

GOODS = [GoodsShare(1, D("40.00"), D("0.10")), GoodsShare(2, D("50.00"), D("0.20"))]


def channel(**fields):
    return Channel(source="web", **fields)


def test_a_vendor_overrides_its_channels_tax_model():
    web = channel(tax_model=TaxModel.FACILITATOR)
    assert tax_model_of(Vendor(code="a"), web) == TaxModel.FACILITATOR
    assert tax_model_of(Vendor(code="b", tax_model=TaxModel.SELLER), web) == TaxModel.SELLER
    assert tax_model_of(Vendor(code="c"), channel(tax_model=TaxModel.SELLER)) == TaxModel.SELLER


def test_untaxed_shipping_earned_by_the_platform_is_one_part():
    assert split_shipping(D("10.00"), GOODS, channel(), "EUR") == [
        ShippingPart(None, D("0"), D("10.00"), D("10.00"), D("0.00"))
    ]


def test_shipping_following_the_goods_takes_their_rates_by_net_share():
    parts = split_shipping(D("10.00"), GOODS, channel(shipping_tax=ShippingTax.FOLLOW_GOODS), "EUR")
    # 40:50 of 10.00 -> 4.44 at 10% and 5.56 at 20%; tax extracted from each gross.
    assert parts == [
        ShippingPart(None, D("0.10"), D("4.44"), D("4.04"), D("0.40")),
        ShippingPart(None, D("0.20"), D("5.56"), D("4.63"), D("0.93")),
    ]
    assert sum(p.gross for p in parts) == D("10.00")


def test_a_fixed_rate_and_vendors_earning_shipping():
    web = channel(
        shipping_tax=ShippingTax.FIXED,
        shipping_tax_rate=D("0.19"),
        shipping_earned_by=ShippingEarner.VENDOR,
    )
    parts = split_shipping(D("9.99"), GOODS, web, "EUR")
    assert [(p.earner_vendor_id, p.gross) for p in parts] == [(1, D("4.44")), (2, D("5.55"))]
    assert all(p.rate == D("0.19") and p.net + p.tax == p.gross for p in parts)


def test_no_shipping_no_parts_and_goods_needed_to_follow_them():
    assert split_shipping(D("0.00"), GOODS, channel(), "EUR") == []
    with pytest.raises(ValueError):
        split_shipping(D("1.00"), [], channel(shipping_tax=ShippingTax.FOLLOW_GOODS), "EUR")
