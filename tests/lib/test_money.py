"""Allocation and rounding: parts always add back to the whole."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.money import allocate, format_amount, is_in_minor_units, minor_unit, quantize

CURRENCIES = ["JPY", "EUR", "KWD"]


@st.composite
def amounts(draw, currency: str | None = None, allow_negative: bool = False):
    currency = currency or draw(st.sampled_from(CURRENCIES))
    low = -(10**12) if allow_negative else 0
    units = draw(st.integers(min_value=low, max_value=10**12))
    return currency, Decimal(units) * minor_unit(currency)


weights = st.lists(
    st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=12,
).filter(lambda ws: sum(ws) > 0)


@given(amounts(allow_negative=True), weights)
def test_parts_sum_exactly_to_the_whole(amount, ws):
    currency, total = amount
    parts = allocate(total, ws, currency)
    assert sum(parts) == total
    assert len(parts) == len(ws)
    assert all(is_in_minor_units(p, currency) for p in parts)


@given(amounts(), weights)
def test_each_part_is_within_one_minor_unit_of_its_exact_share(amount, ws):
    currency, total = amount
    parts = allocate(total, ws, currency)
    unit = minor_unit(currency)
    weight_sum = sum(ws)
    for part, weight in zip(parts, ws, strict=True):
        exact = total * weight / weight_sum
        assert abs(part - exact) < unit


@given(amounts(), st.integers(min_value=1, max_value=50))
def test_equal_weights_differ_by_at_most_one_minor_unit(amount, n):
    currency, total = amount
    parts = allocate(total, [Decimal(1)] * n, currency)
    assert max(parts) - min(parts) <= minor_unit(currency)


def test_it_rounds_half_to_even_at_the_minor_unit():
    assert quantize(Decimal("0.125"), "EUR") == Decimal("0.12")
    assert quantize(Decimal("0.135"), "EUR") == Decimal("0.14")
    assert quantize(Decimal("2.5"), "JPY") == Decimal("2")
    assert quantize(Decimal("1.0005"), "KWD") == Decimal("1.000")


def test_it_formats_amounts_with_the_currencys_minor_digits():
    assert format_amount(Decimal("27.5"), "EUR") == "27.50"
    assert format_amount(Decimal("1500.000"), "JPY") == "1500"
    assert format_amount(Decimal("1.2"), "KWD") == "1.200"


def test_it_refuses_to_allocate_a_non_zero_amount_over_zero_weights():
    with pytest.raises(ValueError):
        allocate(Decimal("1.00"), [Decimal(0)], "EUR")
    assert allocate(Decimal("0"), [Decimal(0), Decimal(0)], "EUR") == [Decimal("0.00")] * 2


def test_the_odd_cent_goes_to_the_largest_remainder():
    assert allocate(Decimal("10.00"), [Decimal(1)] * 3, "EUR") == [
        Decimal("3.34"),
        Decimal("3.33"),
        Decimal("3.33"),
    ]
    assert allocate(Decimal("100"), [Decimal(1)] * 3, "JPY") == [
        Decimal("34"),
        Decimal("33"),
        Decimal("33"),
    ]
