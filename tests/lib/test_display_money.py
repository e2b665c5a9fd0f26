"""Amounts as people read them on screen: minor units and thousands separators."""

from decimal import Decimal

import pytest

from lib.money import display_amount, display_money

D = Decimal


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("10592.89", "EUR", "10,592.89 EUR"),
        ("5.78", "EUR", "5.78 EUR"),
        ("5.780", "EUR", "5.78 EUR"),  # stored with 3 places, shown with the currency's 2
        ("27.5", "EUR", "27.50 EUR"),
        ("1234567.125", "EUR", "1,234,567.12 EUR"),  # half to even
        ("7260", "JPY", "7,260 JPY"),
        ("7260.000", "JPY", "7,260 JPY"),
        ("0.650", "KWD", "0.650 KWD"),
        ("41250.5", "KWD", "41,250.500 KWD"),
        ("0", "EUR", "0.00 EUR"),
    ],
)
def test_it_shows_minor_units_and_thousands_separators(amount, currency, shown):
    assert display_money(D(amount), currency) == shown


def test_it_shows_negative_amounts_with_a_leading_minus():
    assert display_money(D("-10592.89"), "EUR") == "-10,592.89 EUR"
    assert display_money(D("-1500"), "JPY") == "-1,500 JPY"
    assert display_money(D("-0.125"), "KWD") == "-0.125 KWD"


def test_it_never_shows_minus_zero():
    assert display_money(D("-0.001"), "EUR") == "0.00 EUR"
    assert display_amount(D("-0.000"), "JPY") == "0"


def test_it_shows_no_amount_as_a_dash():
    assert display_money(None, "EUR") == "-"
    assert display_amount(None, "EUR") == "-"


def test_the_bare_amount_has_no_currency_code():
    assert display_amount(D("10592.89"), "EUR") == "10,592.89"
    assert display_amount(D("1500"), "JPY") == "1,500"


def test_an_unknown_currency_is_shown_as_stored_rather_than_refused():
    assert display_money(D("5.78"), "XXX") == "5.78 XXX"
