"""Reading payout report files: Stripe's itemized CSV, the marketplace
per-line CSV and saved mappings; every refusal names its row and reason."""

import re
from datetime import date
from decimal import Decimal

import pytest

from cash.models import AmountSource, PayoutMapping, UnknownTypes
from cash.payout_files import (
    MARKETPLACE,
    STRIPE,
    PayoutFileError,
    detect_format,
    read_payout_file,
    read_type_values,
)

from .files import MARKETPLACE_COLUMNS, Txn, marketplace_report, stripe_report


def refused(data: bytes, mapping, code: str, says: str, **kwargs) -> PayoutFileError:
    with pytest.raises(PayoutFileError) as caught:
        read_payout_file(data, mapping, **kwargs)
    assert caught.value.code == code, caught.value.message
    assert says in caught.value.message, caught.value.message
    return caught.value


# ---------------------------------------------------------------- Stripe


def test_a_stripe_report_reads_each_balance_transaction_with_its_type_and_signs():
    data = stripe_report(
        [
            Txn("charge", "109.00", "3.27", source_id="ch_1", txn="txn_A"),
            Txn("refund", "-27.50", source_id="re_1", charge_id="ch_1", txn="txn_B"),
            Txn("dispute", "-50.00", "15.00", source_id="du_1", charge_id="ch_2", txn="txn_C"),
            Txn("risk_reserved_funds", "-10.00", txn="txn_D"),
            Txn("fee", "-2.00", txn="txn_E", description="Radar"),
            Txn("other_adjustment", "-0.25", txn="txn_F"),
        ]
    )
    assert detect_format(data) == "stripe"
    (payout,) = read_payout_file(data, STRIPE)
    assert (payout.payout_id, payout.currency, payout.arrival_date) == (
        "po_1QxYz",
        "EUR",
        date(2026, 11, 5),
    )
    rows = payout.rows
    assert [r.type for r in rows] == [
        "charge",
        "refund",
        "chargeback",
        "reserve",
        "fee",
        "adjustment",
    ]
    assert [r.provider_type for r in rows][-1] == "other_adjustment"
    assert [r.natural_key for r in rows][:2] == ["id:txn_A", "id:txn_B"]
    assert [(r.gross, r.fee, r.net) for r in rows[:3]] == [
        (Decimal("109.00"), Decimal("3.27"), Decimal("105.73")),
        (Decimal("-27.50"), Decimal("0.00"), Decimal("-27.50")),
        (Decimal("-50.00"), Decimal("15.00"), Decimal("-65.00")),
    ]
    assert (rows[1].gateway_reference, rows[1].charge_reference) == ("re_1", "ch_1")
    assert rows[0].row_number == 2 and rows[0].transaction_date == date(2026, 11, 2)
    # No payout row and no payout amount column: the rows' sum is the payout.
    assert payout.amount == Decimal("105.73") - Decimal("27.50") - 65 - 10 - 2 - Decimal("0.25")
    assert payout.amount_source == AmountSource.ROWS


def test_a_file_of_several_payouts_gives_one_payout_each_in_file_order():
    data = stripe_report(
        [
            Txn("charge", "20.00", "0.50", payout="po_B"),
            Txn("charge", "30.00", "0.70"),
            Txn("charge", "40.00", "0.90", payout="po_B"),
        ],
        payout="po_A",
    )
    payouts = read_payout_file(data, STRIPE)
    assert [(p.payout_id, len(p.rows), p.amount) for p in payouts] == [
        ("po_B", 2, Decimal("58.60")),
        ("po_A", 1, Decimal("29.30")),
    ]


@pytest.mark.parametrize(
    ("txn", "code", "says"),
    [
        (Txn("charge", "10.00", "0.30", net="9.80"), "net_differs", "row 3: net 9.80"),
        (Txn("charge", "10.005"), "invalid_file", "row 3 amount"),
        (Txn("charge", "ten", net="ten"), "invalid_file", "row 3 amount: 'ten' is not an amount"),
        (Txn("charge", "10.00", currency="xxx"), "invalid_file", "row 3: 'xxx' is not"),
        (Txn("charge", "10.00", created="02/11/2026"), "invalid_file", "row 3: date '02/11"),
        (Txn("charge", "10.00", payout=" "), "no_payout", "row 3: no payout id"),
        (Txn("charge", "10.00", txn="txn_1"), "duplicate_id", "row 3: id 'txn_1' is also row 2"),
        (Txn("charge", "10.00", currency="usd"), "currency_mixed", "row 3: payout po_1QxYz"),
    ],
)
def test_a_bad_row_refuses_the_file_with_its_row_number(txn, code, says):
    data = stripe_report([Txn("charge", "5.00", txn="txn_1"), txn, Txn("charge", "1.00")])
    refused(data, STRIPE, code, says)


def test_a_payout_row_whose_amount_the_rows_do_not_add_up_to_refuses_the_file():
    rows = [Txn("charge", "100.00", "3.00"), Txn("refund", "-20.00")]
    good = stripe_report([*rows, Txn("payout", "-77.00")])
    (payout,) = read_payout_file(good, STRIPE)
    assert (payout.amount, payout.amount_source) == (Decimal("77.00"), AmountSource.PAYOUT_ROW)
    bad = stripe_report([*rows, Txn("payout", "-77.01")])
    refused(
        bad,
        STRIPE,
        "totals_differ",
        "payout po_1QxYz: its rows add up to 77.00 EUR, but row 4 says 77.01 EUR",
    )


def test_an_amount_given_for_the_payout_is_checked_against_its_rows():
    data = stripe_report([Txn("charge", "100.00", "3.00")])
    (payout,) = read_payout_file(data, STRIPE, given_amount=Decimal("97.00"))
    assert payout.amount_source == AmountSource.GIVEN
    refused(data, STRIPE, "totals_differ", "the amount given says 97.10 EUR",
            given_amount=Decimal("97.10"))  # fmt: skip
    two = stripe_report([Txn("charge", "1.00"), Txn("charge", "2.00", payout="po_2")])
    refused(two, STRIPE, "amount_for_several", "holds 2 payouts", given_amount=Decimal("3"))


def test_stripe_files_without_optional_columns_and_with_a_bom_still_read():
    text = (
        "\ufeffautomatic_payout_id,automatic_payout_effective_at,balance_transaction_id,"
        "created_utc,currency,gross,fee,net,reporting_category,source_id\n"
        "po_9,2026-11-09T00:00:00Z,txn_9,2026-11-08T10:00:00Z,gbp,12.00,0.40,11.60,charge,ch_9\n"
    )
    (payout,) = read_payout_file(text.encode(), STRIPE)
    assert (payout.currency, payout.arrival_date, payout.amount) == (
        "GBP",
        date(2026, 11, 9),
        Decimal("11.60"),
    )


def test_a_header_without_a_required_column_refuses_the_file():
    data = b"automatic_payout_id,balance_transaction_id,currency,fee,net,reporting_category\n"
    refused(data, STRIPE, "missing_column", "row 1: the header has no column")


# ---------------------------------------------------------------- marketplace


def test_a_marketplace_file_reads_per_line_rows_with_fees_and_tax_on_fees():
    data = marketplace_report(
        [
            ("ORD-1001", "MUG-01", "Sale", "44.00", "4.40", "0.44", "PAY-77", "2026-11-10", "EUR"),
            ("ORD-1001", "TEE-01", "sale", "55.00", "5.50", "0.55", "PAY-77", "2026-11-10", "EUR"),
            ("ORD-1001", "MUG-01", "Return", "-22.00", "0", "0", "PAY-77", "2026-11-10", "EUR"),
            ("ORD-1001", "MUG-01", "Return", "-22.00", "0", "0", "PAY-77", "2026-11-10", "EUR"),
        ]
    )
    assert detect_format(data) == "marketplace"
    (payout,) = read_payout_file(data, MARKETPLACE)
    rows = payout.rows
    assert [r.type for r in rows] == ["charge", "charge", "refund", "refund"]
    assert (rows[0].order_number, rows[0].line_reference) == ("ORD-1001", "MUG-01")
    assert (rows[0].fee, rows[0].fee_tax, rows[0].net) == (
        Decimal("4.84"),
        Decimal("0.44"),
        Decimal("39.16"),
    )
    # No id column: hashed keys; the two identical returns stay two rows.
    keys = [r.natural_key for r in rows]
    assert len(set(keys)) == 4 and all(k.startswith("hp1:") for k in keys)
    assert keys[2].rsplit(":", 1)[0] == keys[3].rsplit(":", 1)[0]
    assert payout.amount == Decimal("39.16") + Decimal("48.95") - 44
    assert payout.arrival_date == rows[0].transaction_date == date(2026, 11, 10)
    # The same file read again gives the same keys.
    assert [r.natural_key for r in read_payout_file(data, MARKETPLACE)[0].rows] == keys


def test_a_marketplace_type_it_does_not_know_refuses_the_file():
    data = marketplace_report(
        [("ORD-1", "A", "Bonus", "1.00", "0", "0", "P-1", "2026-11-10", "EUR")]
    )
    refused(data, MARKETPLACE, "unknown_type", "row 2: type 'Bonus' is not mapped")


def test_a_marketplace_file_without_currency_takes_the_one_given():
    columns = ("Order Number", "Type", "Amount", "Payout ID", "Payout Date")
    data = marketplace_report([("ORD-1", "sale", "1000", "P-1", "2026-11-10")], columns)
    refused(data, MARKETPLACE, "no_currency", "no currency column")
    (payout,) = read_payout_file(data, MARKETPLACE, currency="JPY")
    assert (payout.currency, payout.amount) == ("JPY", Decimal("1000"))


def test_payout_dates_or_amounts_that_disagree_within_a_payout_refuse_the_file():
    columns = (*MARKETPLACE_COLUMNS_NO_CURRENCY, "Payout Amount")
    data = marketplace_report(
        [
            ("ORD-1", "A", "sale", "10.00", "1.00", "0", "P-1", "2026-11-10", "9.00"),
            ("ORD-2", "B", "sale", "10.00", "1.00", "0", "P-1", "2026-11-11", "9.00"),
        ],
        columns,
    )
    refused(data, MARKETPLACE, "payout_date_mixed", "row 3: payout P-1 is dated 2026-11-11",
            currency="EUR")  # fmt: skip
    data = marketplace_report(
        [
            ("ORD-1", "A", "sale", "10.00", "1.00", "0", "P-1", "2026-11-10", "18.00"),
            ("ORD-2", "B", "sale", "10.00", "1.00", "0", "P-1", "2026-11-10", "18.00"),
        ],
        columns,
    )
    (payout,) = read_payout_file(data, MARKETPLACE, currency="EUR")
    assert payout.amount_source == AmountSource.PAYOUT_COLUMN


MARKETPLACE_COLUMNS_NO_CURRENCY = tuple(c for c in MARKETPLACE_COLUMNS if c != "Currency")


# ---------------------------------------------------------------- saved mappings


def channel_mapping(**fields) -> PayoutMapping:
    """A channel's export: semicolons, decimal commas, day-first dates, unsigned
    amounts, fees as negative numbers, its own words for types (not saved)."""
    values = {
        "name": "Channel X",
        "delimiter": ";",
        "decimal_comma": True,
        "date_format": "%d.%m.%Y",
        "id_column": "Buchungs-ID",
        "type_column": "Art",
        "type_values": "charge = Verkauf\nrefund = Erstattung\nfee = Gebühr",
        "date_column": "Datum",
        "gross_column": "Betrag",
        "fee_column": "Gebühr",
        "unsigned_amounts": True,
        "fees_negative": True,
        "currency": "EUR",
        "order_column": "Bestellung",
        "payout_id_column": "Auszahlung",
        "payout_date_column": "Auszahlungsdatum",
    }
    values.update(fields)
    return PayoutMapping(**values)


CHANNEL_FILE = (
    "Export Kanal X\n"
    "Buchungs-ID;Datum;Art;Bestellung;Betrag;Gebühr;Auszahlung;Auszahlungsdatum\n"
    "B-1;02.11.2026;Verkauf;ORD-1;1.234,50;-12,35;A-7;06.11.2026\n"
    "B-2;03.11.2026;Erstattung;ORD-1;34,50;0,00;A-7;06.11.2026\n"
    "B-3;03.11.2026;Gebühr;;5,00;0,00;A-7;06.11.2026\n"
).encode()


def test_a_saved_mapping_reads_a_channels_own_export():
    mapping = channel_mapping(skip_rows=1)
    (payout,) = read_payout_file(CHANNEL_FILE, mapping)
    rows = payout.rows
    assert [(r.type, r.gross, r.fee) for r in rows] == [
        ("charge", Decimal("1234.50"), Decimal("12.35")),
        ("refund", Decimal("-34.50"), Decimal("0.00")),
        ("fee", Decimal("-5.00"), Decimal("0.00")),
    ]
    assert rows[0].natural_key == "id:B-1" and rows[0].row_number == 3
    assert payout.amount == Decimal("1234.50") - Decimal("12.35") - Decimal("34.50") - 5
    assert payout.arrival_date == date(2026, 11, 6)


def test_a_saved_mapping_refuses_what_it_does_not_name():
    refused(
        CHANNEL_FILE,
        channel_mapping(skip_rows=0),
        "missing_column",
        "row 1: the header has no column 'Buchungs-ID'",
    )
    mapping = channel_mapping(skip_rows=1, type_values="charge = Verkauf")
    refused(CHANNEL_FILE, mapping, "unknown_type", "row 4: type 'Erstattung' is not mapped")
    lenient = channel_mapping(
        skip_rows=1, type_values="charge = Verkauf", unknown_types=UnknownTypes.ADJUSTMENT
    )
    refused(
        CHANNEL_FILE, lenient, "unsigned_amount", "row 4: a row of type adjustment needs a signed"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("charges = sale", "line 1: write `type = their words`"),
        ("charge = sale\nrefund = sale", "line 2: 'sale' is already a charge, not a refund"),
        ("fee = refund", "'refund' is already a refund"),
    ],
)
def test_type_values_that_do_not_read_are_refused(text, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        read_type_values(text)
    mapping = channel_mapping(skip_rows=1, type_values=text)
    error = refused(CHANNEL_FILE, mapping, "invalid_mapping", says)
    assert error.field == "mapping"
