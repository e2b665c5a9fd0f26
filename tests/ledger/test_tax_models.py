"""Posting by tax model, to the cent: docs/accounting.md's worked examples.

DESIGN's order ORD-1001 (EUR; ACME 2 × 20.00 and BOLT 1 × 50.00 at 10%;
shipping 10.00; paid 109.00 by card) and its refund (one mug, damaged; 5.50 on
the tee, late delivery: 27.50), booked with the vendors as sellers of record,
with shipping taxed or earned by vendors, with tax on commission, with a
carrier to claim from, and in more than one currency.
"""

from datetime import date
from decimal import Decimal

import pytest

from ledger import invariants
from ledger.chart import Chart
from ledger.models import Account, AccountBalance, Journal, JournalKind, TaxCode
from ledger.posting import record_payout
from ledger.selectors import trial_balance
from refunds.models import Channel, ReasonPolicy
from refunds.services.cases import (
    LineRequest,
    ShareOverride,
    dispute_case,
    resolve_dispute,
)
from tests.audit_plugin import drain_ledger as drain
from tests.factories import (
    BY_TESTS,
    complete_refund,
    complete_worked_refund,
    eur_payout,
    make_order,
    platform_bears_half,
)
from vendors.models import Vendor

D = Decimal

WORKED_SALE = {
    "1100": ("Dr", D("109.00")),
    "2000-ACME": ("Cr", D("36.00")),
    "2000-BOLT": ("Cr", D("42.50")),
    "4000": ("Cr", D("11.50")),
    "2100-VAT-10-EUR": ("Cr", D("9.00")),
    "4100": ("Cr", D("10.00")),
}


def legs(journal: Journal) -> dict[str, tuple[str, Decimal]]:
    """A journal's entries as {account code: (side, amount)}."""
    return {
        entry.account.code: ("Dr", entry.debit) if entry.debit else ("Cr", entry.credit)
        for entry in journal.entries.select_related("account")
    }


def sale(order) -> dict[str, tuple[str, Decimal]]:
    return legs(Journal.objects.get(order=order, kind=JournalKind.SALE))


def refund(case) -> dict[str, tuple[str, Decimal]]:
    return legs(Journal.objects.get(case=case, kind=JournalKind.REFUND))


def balance(code: str, currency: str = "EUR") -> Decimal:
    """Debit minus credit of an account in a currency."""
    row = AccountBalance.objects.get(account__code=code, currency=currency)
    return row.debit - row.credit


def set_tax(order, *, acme: str = "", bolt: str = "", **channel: object) -> None:
    """The order's channel settings and the vendors' tax models, before its sale posts."""
    Channel.objects.filter(pk=order.channel_id).update(**channel)
    Vendor.objects.filter(code="ACME").update(tax_model=acme)
    Vendor.objects.filter(code="BOLT").update(tax_model=bolt)


def books_agree(*currencies: str) -> None:
    for currency in currencies or ("EUR",):
        assert trial_balance(currency).balanced, currency
    assert invariants.check_invariants() == []


# ---------------------------------------------------------------- facilitator


def test_the_worked_example_books_the_platforms_part_to_refunds_and_allowances(worked_order, alice):
    case = complete_worked_refund(worked_order, alice)

    assert sale(worked_order) == WORKED_SALE
    assert refund(case) == {
        "2000-ACME": ("Dr", D("18.00")),
        "4000": ("Dr", D("2.00")),
        "5000": ("Dr", D("5.00")),
        "2100-VAT-10-EUR": ("Dr", D("2.50")),
        "1100": ("Cr", D("27.50")),
    }
    allowances = Account.objects.get(code="5000")
    assert (allowances.role, allowances.kind) == ("refunds_and_allowances", "income")
    assert allowances.debit_normal  # contra-revenue
    # A tax code for 10% of no jurisdiction was made on first use.
    code = TaxCode.objects.get(code="VAT-10")
    assert (code.jurisdiction, code.rate, code.tax_type) == ("", D("0.1000"), "10%")
    books_agree()


def test_a_rate_whose_code_name_is_taken_still_gets_a_code(worked_order):
    TaxCode.objects.create(code="VAT-10", jurisdiction="AT", rate=D("0.10"), tax_type="10% AT")
    drain()

    made = TaxCode.objects.get(jurisdiction="", rate=D("0.10"))
    assert made.code == "VAT-10-2"
    assert sale(worked_order)["2100-VAT-10-2-EUR"] == ("Cr", D("9.00"))


# ---------------------------------------------------------------- seller of record


@pytest.mark.parametrize(
    "tax, sold, refunded, balances",
    [
        pytest.param(
            {"acme": "seller", "bolt": "seller"},
            {
                "1100": ("Dr", D("109.00")),
                "2000-ACME": ("Cr", D("40.00")),  # 36.00 + its tax 4.00
                "2000-BOLT": ("Cr", D("47.50")),  # 42.50 + its tax 5.00
                "4000": ("Cr", D("11.50")),
                "4100": ("Cr", D("10.00")),
            },
            {
                "2000-ACME": ("Dr", D("20.00")),  # its share 18.00 + its tax back 2.00
                "2000-BOLT": ("Dr", D("0.50")),  # its tax back
                "4000": ("Dr", D("2.00")),
                "5000": ("Dr", D("5.00")),
                "1100": ("Cr", D("27.50")),
            },
            {"2000-ACME": D("-20.00"), "2000-BOLT": D("-47.00")},
            id="both vendors keep the tax on their goods",
        ),
        pytest.param(
            {"acme": "seller"},
            {
                "1100": ("Dr", D("109.00")),
                "2000-ACME": ("Cr", D("40.00")),
                "2000-BOLT": ("Cr", D("42.50")),
                "4000": ("Cr", D("11.50")),
                "2100-VAT-10-EUR": ("Cr", D("5.00")),  # BOLT's goods only
                "4100": ("Cr", D("10.00")),
            },
            {
                "2000-ACME": ("Dr", D("20.00")),
                "4000": ("Dr", D("2.00")),
                "5000": ("Dr", D("5.00")),
                "2100-VAT-10-EUR": ("Dr", D("0.50")),
                "1100": ("Cr", D("27.50")),
            },
            {"2100-VAT-10-EUR": D("-4.50")},
            id="a seller beside a facilitated vendor",
        ),
    ],
)
def test_vendors_as_sellers_of_record(worked_order, alice, tax, sold, refunded, balances):
    set_tax(worked_order, **tax)

    case = complete_worked_refund(worked_order, alice)

    assert sale(worked_order) == sold
    assert refund(case) == refunded
    # Output tax is booked for the facilitated vendors' goods only.
    taxed = Account.objects.filter(role="output_tax", balances__isnull=False)
    assert set(taxed.values_list("code", flat=True)) == {
        code for code in balances if code.startswith("2100-")
    }
    assert {code: balance(code) for code in balances} == balances
    books_agree()


def test_the_channel_sets_the_model_and_a_vendor_overrides_it(worked_order, alice):
    set_tax(worked_order, bolt="facilitator", tax_model="seller")
    drain()

    assert sale(worked_order)["2000-ACME"] == ("Cr", D("40.00"))  # the channel's: seller
    assert sale(worked_order)["2100-VAT-10-EUR"] == ("Cr", D("5.00"))  # BOLT's own: facilitator


# ---------------------------------------------------------------- shipping


@pytest.fixture
def eu_order(acme, bolt):
    """A German order: ACME 2 × 20.00 at 7%, BOLT 1 × 50.00 at 19%, shipping
    5.90 that follows the goods, 108.20 by card; DE's own tax codes."""
    TaxCode.objects.create(code="DE-7", jurisdiction="DE", rate=D("0.07"), tax_type="7%")
    TaxCode.objects.create(code="DE-19", jurisdiction="DE", rate=D("0.19"), tax_type="19%")
    order = make_order(
        number="ORD-2001",
        shipping="5.90",
        subsource="de-store",
        lines=[(acme, "MUG-01", 2, "20.00", "0.07"), (bolt, "TEE-01", 1, "50.00", "0.19")],
    )
    set_tax(order, jurisdiction="DE", shipping_tax="follow_goods")
    return order


def test_shipping_follows_the_goods_by_their_share_and_rate(eu_order):
    drain()

    # 5.90 over the goods' net 40:50 -> 2.62 at 7% (2.45 + 0.17) and 3.28 at 19% (2.76 + 0.52).
    assert sale(eu_order) == {
        "1100": ("Dr", D("108.20")),
        "2000-ACME": ("Cr", D("36.00")),
        "2000-BOLT": ("Cr", D("42.50")),
        "4000": ("Cr", D("11.50")),
        "2100-DE-7-EUR": ("Cr", D("2.97")),  # 2.80 goods + 0.17 shipping
        "2100-DE-19-EUR": ("Cr", D("10.02")),  # 9.50 goods + 0.52 shipping
        "4100": ("Cr", D("5.21")),
    }
    books_agree()


@pytest.mark.parametrize(
    "reason, refunded, shipping_income",
    [
        pytest.param(
            "late_delivery",
            {
                "4100": ("Dr", D("5.21")),
                "2100-DE-7-EUR": ("Dr", D("0.17")),
                "2100-DE-19-EUR": ("Dr", D("0.52")),
                "1100": ("Cr", D("5.90")),
            },
            D("0"),
            id="the platform bears it: its income and the tax are reversed",
        ),
        # The breakdown puts 2.47 on ACME and 3.43 on BOLT (by the goods' gross);
        # they bear the shipping's net 5.21 in that proportion; the tax goes back.
        pytest.param(
            "damaged",
            {
                "2000-ACME": ("Dr", D("2.18")),
                "2000-BOLT": ("Dr", D("3.03")),
                "2100-DE-7-EUR": ("Dr", D("0.17")),
                "2100-DE-19-EUR": ("Dr", D("0.52")),
                "1100": ("Cr", D("5.90")),
            },
            D("-5.21"),  # the platform keeps what it earned
            id="the vendors bear it: they pay its net",
        ),
    ],
)
def test_a_shipping_refund(eu_order, alice, reason, refunded, shipping_income):
    drain()

    case = complete_refund(eu_order, alice, shipping="5.90", reason=reason)

    assert refund(case) == refunded
    assert AccountBalance.objects.get(account__code="4100").credit == D("5.21")
    assert balance("4100") == shipping_income
    books_agree()


def test_shipping_at_a_fixed_rate_gets_a_tax_code_of_its_own(worked_order, alice):
    set_tax(worked_order, shipping_tax="fixed", shipping_tax_rate=D("0.19"))

    complete_worked_refund(worked_order, alice)

    assert sale(worked_order) == {
        **WORKED_SALE,
        "2100-VAT-19-EUR": ("Cr", D("1.60")),
        "4100": ("Cr", D("8.40")),  # 10.00 / 1.19
    }
    assert TaxCode.objects.get(code="VAT-19").tax_type == "19%"
    books_agree()


def test_shipping_vendors_earn_is_credited_to_them(worked_order):
    set_tax(worked_order, shipping_earned_by="vendor")
    drain()

    # 10.00 over the goods' net 40:50.
    assert sale(worked_order) == {
        "1100": ("Dr", D("109.00")),
        "2000-ACME": ("Cr", D("40.44")),
        "2000-BOLT": ("Cr", D("48.06")),
        "4000": ("Cr", D("11.50")),
        "2100-VAT-10-EUR": ("Cr", D("9.00")),
    }
    assert trial_balance("EUR").balanced


def test_taxed_shipping_vendors_earn_by_their_tax_model(worked_order, alice):
    set_tax(
        worked_order,
        acme="seller",
        shipping_earned_by="vendor",
        shipping_tax="fixed",
        shipping_tax_rate=D("0.19"),
    )
    drain()

    # ACME's 4.44 gross (it remits its tax); BOLT's 5.56 = net 4.67 + tax 0.89.
    assert sale(worked_order) == {
        "1100": ("Dr", D("109.00")),
        "2000-ACME": ("Cr", D("44.44")),
        "2000-BOLT": ("Cr", D("47.17")),
        "4000": ("Cr", D("11.50")),
        "2100-VAT-10-EUR": ("Cr", D("5.00")),
        "2100-VAT-19-EUR": ("Cr", D("0.89")),
    }

    case = complete_refund(worked_order, alice, shipping="10.00", reason="late_delivery")

    # Each vendor gives back what it earned and the platform, which bears the
    # refund, pays each its net (ACME 3.73, BOLT 4.67): ACME is left to
    # reclaim its 0.71 of tax, BOLT's 0.89 comes off output tax.
    assert refund(case) == {
        "2000-ACME": ("Dr", D("0.71")),
        "2100-VAT-19-EUR": ("Dr", D("0.89")),
        "5000": ("Dr", D("8.40")),
        "1100": ("Cr", D("10.00")),
    }
    assert (balance("2000-ACME"), balance("2000-BOLT")) == (D("-43.73"), D("-47.17"))
    books_agree()


@pytest.mark.parametrize(
    "channel, balances",
    [
        pytest.param(
            {"shipping_earned_by": "vendor"},
            {"2000-ACME": D("-36.00"), "2000-BOLT": D("-42.50")},
            id="shipping it earned: it gives it back",
        ),
        pytest.param(
            {},
            {"4100": D("-10.00")},
            id="the platform's untaxed shipping: it pays it",
        ),
    ],
)
def test_a_vendor_that_bears_a_shipping_refund(worked_order, alice, channel, balances):
    set_tax(worked_order, **channel)
    drain()

    case = complete_refund(worked_order, alice, shipping="10.00", reason="damaged")

    assert refund(case) == {
        "2000-ACME": ("Dr", D("4.44")),
        "2000-BOLT": ("Dr", D("5.56")),
        "1100": ("Cr", D("10.00")),
    }
    assert {code: balance(code) for code in balances} == balances
    books_agree()


# ---------------------------------------------------------------- commission tax


def test_commission_carries_the_platforms_tax(worked_order, alice, settings):
    settings.COMMISSION_TAX_RATE = "0.19"

    case = complete_worked_refund(worked_order, alice)

    # 19% of ACME's 4.00 (0.76) and of BOLT's 7.50 (1.425, to even: 1.42).
    assert sale(worked_order) == {
        **WORKED_SALE,
        "2000-ACME": ("Cr", D("35.24")),
        "2000-BOLT": ("Cr", D("41.08")),
        "2100-VAT-19-EUR": ("Cr", D("2.18")),
    }
    # The 2.00 of commission given back to ACME takes its 0.38 of tax with it.
    assert refund(case) == {
        "2000-ACME": ("Dr", D("17.62")),
        "4000": ("Dr", D("2.00")),
        "5000": ("Dr", D("5.00")),
        "2100-VAT-10-EUR": ("Dr", D("2.50")),
        "2100-VAT-19-EUR": ("Dr", D("0.38")),
        "1100": ("Cr", D("27.50")),
    }
    assert balance("2100-VAT-19-EUR") == D("-1.80")
    books_agree()


def test_a_correction_moves_commission_tax_with_the_commission(worked_order, alice, acme, settings):
    settings.COMMISSION_TAX_RATE = "0.19"
    case = complete_worked_refund(worked_order, alice)

    platform_bears_half(case, acme, alice)
    drain()

    # The reversal falls from 2.00 to 1.00, its tax from 0.38 to 0.19.
    correction = Journal.objects.get(case=case, kind=JournalKind.CORRECTION)
    assert legs(correction) == {
        "2000-ACME": ("Cr", D("8.81")),  # 9.00 less the 0.19 of tax no longer given back
        "4000": ("Cr", D("1.00")),
        "5000": ("Dr", D("10.00")),
        "2100-VAT-19-EUR": ("Cr", D("0.19")),
    }
    books_agree()


# ---------------------------------------------------------------- carrier claims


@pytest.fixture
def lost_parcel(db):
    return ReasonPolicy.objects.create(
        code="lost_parcel",
        label="Lost by the carrier",
        vendor_share_percent=D("0"),
        refund_commission_to_vendor=False,
        shipping_bearer="platform",
        platform_share_to="carrier_claims",
    )


def test_a_carrier_claim_policy_charges_the_platforms_part_to_the_carrier(
    worked_order, alice, bolt, lost_parcel
):
    drain()
    tee = worked_order.lines.get(sku="TEE-01")

    case = complete_refund(
        worked_order,
        alice,
        [LineRequest(tee.pk, "lost_parcel", amount="5.50")],
        shipping="10.00",
        reason="lost_parcel",
    )

    assert refund(case) == {
        "1200": ("Dr", D("15.00")),  # the tee's net 5.00 and the shipping 10.00
        "2100-VAT-10-EUR": ("Dr", D("0.50")),
        "1100": ("Cr", D("15.50")),
    }
    assert balance("4100") == D("-10.00")  # the carrier pays for the shipping
    books_agree()

    # A dispute resolved after completion moves half the tee's net to BOLT:
    # the same legs, the difference posted.
    dispute_case(case=case, vendor=bolt, message="Not lost", actor=alice)
    resolve_dispute(
        case=case,
        message="Half each",
        actor=alice,
        shares={"BOLT": ShareOverride("2.50", "12.50", "0")},
    )
    drain()
    correction = Journal.objects.get(case=case, kind=JournalKind.CORRECTION)
    assert legs(correction) == {"2000-BOLT": ("Dr", D("2.50")), "1200": ("Cr", D("2.50"))}
    books_agree()


# ---------------------------------------------------------------- currencies and banks


def test_output_tax_and_banks_are_per_currency(acme, bolt):
    usd_bank = Account.objects.create(code="1010", name="Bank USD", kind="asset", role="bank")
    Account.objects.filter(pk=usd_bank.pk).update(currency="USD")
    eur = make_order(lines=[(acme, "MUG-01", 1, "20.00", "0.10")], shipping="0")
    usd = make_order(lines=[(bolt, "TEE-01", 2, "15.00", "0.10")], currency="USD")
    drain()

    assert sale(eur)["2100-VAT-10-EUR"] == ("Cr", D("2.00"))
    assert sale(usd)["2100-VAT-10-USD"] == ("Cr", D("3.00"))
    tax_accounts = Account.objects.filter(role="output_tax", tax_code__code="VAT-10")
    assert {(a.code, a.currency) for a in tax_accounts} == {
        ("2100-VAT-10-EUR", "EUR"),
        ("2100-VAT-10-USD", "USD"),
    }
    chart = Chart()
    bank = Account.objects.get(code="1000")
    assert chart.bank_for("USD") == usd_bank.pk
    assert chart.bank_for("EUR") == bank.pk  # the bank of no currency
    assert chart.bank_for_method("card", "USD") == bank.pk  # card settles to 1000

    record_payout(
        vendor=bolt,
        amount=D("25.50"),
        currency="USD",
        paid_on=date(2026, 11, 30),
        posted_by=BY_TESTS,
    )
    eur_payout(acme, "18.00", date(2026, 11, 30))
    assert balance("1010", "USD") == D("-25.50")
    assert balance("1000", "EUR") == D("-18.00")
    books_agree("EUR", "USD")
