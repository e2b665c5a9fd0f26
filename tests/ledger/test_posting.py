"""Posting rules, to the cent, with DESIGN's worked example."""

from datetime import date
from decimal import Decimal

import pytest

from ledger.models import Account, AccountBalance, Entry, Journal, JournalKind
from ledger.posting import reverse_journal
from refunds import outbox
from refunds.models import OutboxMessage
from refunds.services.cases import (
    dispute_case,
    resolve_dispute,
)
from tests.audit_plugin import drain_ledger as drain
from tests.factories import BY_TESTS, complete_worked_refund, eur_payout, platform_bears_half

D = Decimal


def legs(journal):
    result = {}
    for entry in journal.entries.select_related("account"):
        name = entry.account.name
        result[name] = ("Dr", entry.debit) if entry.debit else ("Cr", entry.credit)
    return result


def balance(code):
    row = AccountBalance.objects.get(account__code=code, currency="EUR")
    return row.debit - row.credit


@pytest.fixture
def completed_case(worked_order, alice):
    return complete_worked_refund(worked_order, alice, gateway_reference="re_27_50")


def test_the_sale_journal_matches_the_worked_example(worked_order):
    drain()
    journal = Journal.objects.get(order=worked_order, kind=JournalKind.SALE)
    assert legs(journal) == {
        "Gateway clearing - card": ("Dr", D("109.00")),
        "Vendor payable - Acme Mugs": ("Cr", D("36.00")),
        "Vendor payable - Bolt Tees": ("Cr", D("42.50")),
        "Commission income": ("Cr", D("11.50")),
        "Output tax VAT-10 EUR": ("Cr", D("9.00")),
        "Shipping income": ("Cr", D("10.00")),
    }
    assert journal.posting_key == f"sale:{worked_order.pk}"


def test_the_refund_journal_matches_the_worked_example(completed_case):
    journal = Journal.objects.get(case=completed_case, kind=JournalKind.REFUND)
    assert legs(journal) == {
        "Vendor payable - Acme Mugs": ("Dr", D("18.00")),
        "Commission income": ("Dr", D("2.00")),
        "Refunds and allowances (contra-revenue)": ("Dr", D("5.00")),
        "Output tax VAT-10 EUR": ("Dr", D("2.50")),
        "Gateway clearing - card": ("Cr", D("27.50")),
    }
    assert balance("1100") == D("81.50")
    assert balance("2000-ACME") == D("-18.00")
    assert balance("2000-BOLT") == D("-42.50")
    assert balance("4000") == D("-9.50")
    assert balance("2100-VAT-10-EUR") == D("-6.50")
    assert balance("5000") == D("5.00")
    assert not OutboxMessage.objects.filter(consumer="ledger").exists()


def test_each_source_posts_exactly_once(completed_case, worked_order):
    before = Journal.objects.count()
    outbox.emit("order.paid", order=worked_order)
    event = completed_case.events.get(to_status="completed")
    outbox.emit("case.status_changed", case=completed_case, event=event)
    drain()
    assert Journal.objects.count() == before
    assert balance("1100") == D("81.50")


def test_a_dispute_resolved_after_completion_posts_the_difference(completed_case, acme, alice):
    platform_bears_half(completed_case, acme, alice, message="Platform bears half of the net")
    drain()
    correction = Journal.objects.get(case=completed_case, kind=JournalKind.CORRECTION)
    assert legs(correction) == {
        "Vendor payable - Acme Mugs": ("Cr", D("9.00")),
        "Commission income": ("Cr", D("1.00")),
        "Refunds and allowances (contra-revenue)": ("Dr", D("10.00")),
    }
    assert balance("2000-ACME") == D("-27.00")
    assert balance("1100") == D("81.50")


def test_a_resolution_without_new_shares_posts_nothing(completed_case, acme, alice):
    dispute_case(case=completed_case, vendor=acme, message="?", actor=alice)
    resolve_dispute(case=completed_case, message="Upheld", actor=alice)
    drain()
    assert not Journal.objects.filter(kind=JournalKind.CORRECTION).exists()


def test_a_payout_debits_the_vendor_and_credits_the_bank(worked_order, acme):
    drain()
    payout = eur_payout(acme, "36.00", date(2026, 11, 30), "PO-1")
    assert legs(payout.journals.get()) == {
        "Vendor payable - Acme Mugs": ("Dr", D("36.00")),
        "Bank": ("Cr", D("36.00")),
    }
    assert balance("2000-ACME") == 0


def test_a_reversal_mirrors_the_journal(completed_case):
    journal = Journal.objects.get(case=completed_case, kind=JournalKind.REFUND)
    reversal = reverse_journal(journal, on=date(2026, 11, 30), posted_by=BY_TESTS)
    assert reversal.reverses == journal
    assert balance("1100") == D("109.00")
    assert reverse_journal(journal, on=date(2026, 11, 30), posted_by=BY_TESTS) is None  # only once


def test_vendor_payable_accounts_are_created_per_vendor(worked_order):
    drain()
    codes = set(Account.objects.filter(role="vendor_payable").values_list("code", flat=True))
    assert codes == {"2000-ACME", "2000-BOLT"}
    assert Entry.objects.filter(account__code="2000-ACME").count() == 1


def test_the_trial_balance_nets_to_zero(completed_case):
    from ledger.selectors import account_balance, trial_balance

    today = trial_balance("EUR")
    assert today.balanced and today.total_debit == D("109.00") + D("27.50")
    assert {r.code: r.balance for r in today.rows}["1100"] == D("81.50")
    past = trial_balance("EUR", as_of=date(2000, 1, 1))
    assert past.rows == []
    assert account_balance(Account.objects.get(code="5000"), "EUR") == D("5.00")
