"""The payout journal's legs balance for any rows: bank + fees + chargebacks +
reserve = what settles clearing, and the bank gets the rows' net."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cash.models import RowType
from cash.payout_files import ParsedRow
from cash.services.payout_posting import payout_legs

cents = st.integers(min_value=-(10**9), max_value=10**9).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def rows(draw) -> ParsedRow:
    return row_of(draw(st.sampled_from(RowType.values)), draw(cents), draw(cents))


@given(st.lists(rows(), max_size=40))
def test_the_legs_balance_and_the_bank_gets_the_net(payout_rows):
    legs = payout_legs(payout_rows)
    assert legs.balanced
    assert legs.bank == sum((r.net for r in payout_rows if r.type != "payout"), Decimal(0))


def test_the_worked_payout_to_the_cent():
    legs = payout_legs(
        [
            row_of("charge", Decimal("109.00"), Decimal("3.27")),
            row_of("refund", Decimal("-27.50")),
            row_of("payout", Decimal("-78.23")),
        ]
    )
    assert (legs.bank, legs.fees, legs.chargebacks, legs.reserve, legs.clearing_credit) == (
        Decimal("78.23"),
        Decimal("3.27"),
        Decimal(0),
        Decimal(0),
        Decimal("81.50"),
    )


def row_of(kind: str, gross: Decimal, fee: Decimal = Decimal(0)) -> ParsedRow:
    return ParsedRow(
        row_number=2,
        type=kind,
        provider_type=kind,
        transaction_date=None,
        available_on=None,
        currency="EUR",
        gross=gross,
        fee=fee,
        fee_tax=Decimal(0),
        net=gross - fee,
        payout_id="po_1",
        payout_date=None,
        payout_amount=None,
    )
