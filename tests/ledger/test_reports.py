"""The reports (ledger.reports): the tax report tied to the output-tax
accounts, accrued refunds at a date, receivables aging, and the reporting
currency by the dated exchange rates; DESIGN's worked example to the cent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from ledger.chart import ensure_payable_accounts
from ledger.models import Account, ExchangeRate, JournalKind, TaxCode
from ledger.posting import JournalDraft, post_one
from ledger.reports import (
    ACCRUED_STATUSES,
    MissingRate,
    accrued_refunds,
    customer_aging,
    import_rates_csv,
    report_csv,
    tax_report,
    vendor_aging,
)
from lib.errors import DomainError
from refunds.services.cases import approve_case, open_case
from refunds.statuses import CaseStatus
from tests.factories import (
    BY_TESTS,
    complete_worked_refund,
    drain_ledger,
    make_order,
    worked_refund_lines,
)

D = Decimal


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def worked_books(worked_order, alice):
    return complete_worked_refund(worked_order, alice)


def by_code(report, currency="EUR"):
    return {(r["tax_code"], r["currency"]): r for r in report.rows if r["currency"] == currency}


def post(legs: dict[int, str], on, key: str, currency: str = "EUR") -> None:
    """A journal of `legs` (account id: + debit / - credit)."""
    draft = JournalDraft(posting_key=key, kind=JournalKind.REVERSAL, currency=currency, date=on)
    for account, amount in legs.items():
        draft.debit(account, D(amount))
    post_one(draft, posted_by=BY_TESTS)


def test_the_accrued_statuses_are_approved_only():
    assert ACCRUED_STATUSES == (CaseStatus.APPROVED,)


def test_the_tax_report_of_the_worked_example_to_the_cent(worked_books, today):
    report = tax_report(date_from=today.replace(day=1), date_to=today)

    rows = by_code(report)
    vat10 = rows[("VAT-10", "EUR")]
    # Invoice lines 40.00 and 50.00 at 10% (tax 9.00); credit note 20.00 and 5.00 (tax 2.50).
    assert (vat10["sales"], vat10["credits"], vat10["net"], vat10["tax"]) == (
        D("90.00"),
        D("25.00"),
        D("65.00"),
        D("6.50"),
    )
    assert vat10["booked_tax"] == D("6.50")
    assert vat10["difference"] == D("0.00")
    assert vat10["jurisdiction"] == TaxCode.objects.get(code="VAT-10").jurisdiction
    # Untaxed: shipping 10.00 and commission 4.00 + 7.50 invoiced; ACME's 2.00 credited back.
    vat0 = rows[("VAT-0", "EUR")]
    assert (vat0["sales"], vat0["credits"], vat0["net"], vat0["tax"]) == (
        D("21.50"),
        D("2.00"),
        D("19.50"),
        D("0.00"),
    )
    assert all(row["difference"] == 0 for row in report.rows)
    # EUR is the reporting currency: the same amounts.
    assert vat10["reporting_tax"] == D("6.50")
    assert vat10["reporting_net"] == D("65.00")


def test_a_tampered_journal_shows_a_difference(worked_books, today):
    account = Account.objects.get(tax_code__code="VAT-10", currency="EUR")
    post(
        {Account.objects.get(code="1100").pk: "1.00", account.pk: "-1.00"},
        today,
        "tampered",
    )

    vat10 = by_code(tax_report(date_from=today, date_to=today))[("VAT-10", "EUR")]

    assert vat10["tax"] == D("6.50")
    assert vat10["booked_tax"] == D("7.50")
    assert vat10["difference"] == D("-1.00")


def test_documents_outside_the_dates_are_left_out(worked_books, today):
    report = tax_report(date_from=today - timedelta(days=40), date_to=today - timedelta(days=35))
    assert report.rows == []


def test_date_from_after_date_to_is_refused(today):
    with pytest.raises(DomainError, match="date_from must be on or before date_to"):
        tax_report(date_from=today, date_to=today - timedelta(days=1))


def test_two_currencies_convert_by_the_rate_on_or_before_the_date(
    worked_books, acme, alice, today, settings
):
    settings.REPORTING_CURRENCY = "EUR"
    usd = make_order(number="ORD-USD", currency="USD", lines=[(acme, "MUG-01", 3, "33.33", "0.10")])
    drain_ledger()
    assert usd.invoices.exists()

    with pytest.raises(MissingRate) as missing:
        tax_report(date_from=today, date_to=today)
    assert f"No exchange rate for USD to EUR on or before {today:%Y-%m-%d}" in str(missing.value)

    ExchangeRate.objects.create(date=today - timedelta(days=3), currency="USD", rate=D("0.9"))
    ExchangeRate.objects.create(date=today + timedelta(days=1), currency="USD", rate=D("5"))
    report = tax_report(date_from=today, date_to=today)

    usd10 = by_code(report, "USD")[("VAT-10", "USD")]
    # 3 x 33.33 = 99.99, tax 10.00 (9.999 to the cent); at 0.9: 89.99 and 9.00.
    assert (usd10["sales"], usd10["tax"], usd10["difference"]) == (D("99.99"), D("10.00"), 0)
    assert usd10["reporting_net"] == D("89.99")
    assert usd10["reporting_tax"] == D("9.00")
    assert by_code(report)[("VAT-10", "EUR")]["reporting_tax"] == D("6.50")
    # In the transaction currency alone, no rate is needed.
    ExchangeRate.objects.all().delete()
    assert tax_report(date_from=today, date_to=today, convert=False).rows


def test_accrued_refunds_are_the_cases_approved_at_the_date(worked_order, alice, today):
    case = open_case(order=worked_order, lines=worked_refund_lines(worked_order), actor=alice)
    assert accrued_refunds(at=today).rows == []  # pending

    approve_case(case=case, actor=alice)

    rows = {r["vendor"]: r for r in accrued_refunds(at=today).rows}
    assert rows["ACME"]["gross"] == D("22.00")
    # Of its net 20.00 the vendor bears 18.00, the platform 2.00 (the commission back).
    assert (rows["ACME"]["vendor_share"], rows["ACME"]["platform_share"]) == (
        D("18.00"),
        D("2.00"),
    )
    assert rows["BOLT"]["gross"] == D("5.50")
    assert rows["BOLT"]["platform_share"] == D("5.00")  # net 5.00 + tax 0.50
    assert rows["ACME"]["cases"] == 1
    assert rows["ACME"]["reporting_gross"] == D("22.00")
    # The day before the approval, nothing was approved.
    assert accrued_refunds(at=today - timedelta(days=1)).rows == []


def test_a_completed_case_is_no_longer_accrued(worked_books, today):
    assert accrued_refunds(at=today).rows == []


def test_vendor_aging_buckets_a_payable_debit_by_when_it_arose(worked_books, acme, today):
    payable = ensure_payable_accounts([acme.pk])[acme.pk]
    post(
        {payable: "50.00", Account.objects.get(code="1100").pk: "-50.00"},
        today - timedelta(days=45),
        "advance",
    )

    [row] = [r for r in vendor_aging(at=today).rows if r["party"] == "ACME"]

    # Sale Cr 36.00, refund Dr 18.00 today, advance Dr 50.00 45 days ago: Dr 32.00,
    # the refund's 18.00 (0-30) and 14.00 of the advance (31-60).
    assert row["source"] == "payable debit balance"
    assert row["total"] == D("32.00")
    assert (row["days_0_30"], row["days_31_60"], row["days_61_90"], row["days_over_90"]) == (
        D("18.00"),
        D("14.00"),
        D("0"),
        D("0"),
    )
    # 45 days before, only the advance was open, 0 days old.
    [before] = vendor_aging(at=today - timedelta(days=45)).rows
    assert (before["total"], before["days_0_30"]) == (D("50.00"), D("50.00"))


def test_vendors_in_credit_are_not_receivables(worked_books, today):
    assert vendor_aging(at=today).rows == []


def test_customer_aging_is_the_open_gateway_clearing(worked_books, today):
    [row] = customer_aging(at=today).rows
    # 109.00 paid by card, 27.50 refunded to it.
    assert (row["party"], row["currency"], row["total"], row["days_0_30"]) == (
        "card",
        "EUR",
        D("81.50"),
        D("81.50"),
    )


def test_the_csv_has_the_same_rows(worked_books, today):
    report = tax_report(date_from=today, date_to=today)
    lines = report_csv(report).splitlines()
    assert lines[0].startswith("Tax code,Jurisdiction,Currency,Sales (taxable net)")
    assert any(
        line.startswith("VAT-10,") and ",90.00,25.00,65.00,6.50,6.50,0.00," in line
        for line in lines
    )


def test_rates_import_from_csv_all_or_nothing(db, tmp_path):
    result = import_rates_csv("date,currency,rate\n2026-01-02,usd,0.91\n2026-01-03,USD,0.92\n")
    assert (result.created, result.updated) == (2, 0)
    with pytest.raises(DomainError, match="Line 3: 'XXX' is not a supported currency"):
        import_rates_csv("date,currency,rate\n2026-01-02,USD,0.5\n2026-01-04,XXX,1\n")
    assert ExchangeRate.objects.get(date="2026-01-02").rate == D("0.91")
    path = tmp_path / "rates.csv"
    path.write_text("date,currency,rate\n2026-01-02,USD,0.95\n")
    call_command("import_exchange_rates", str(path))
    assert ExchangeRate.objects.get(date="2026-01-02").rate == D("0.95")
