"""Daily totals (AccountDay): posting adds each journal's entries to its
account's total of the day it is posted on, in the same transaction as the
balance, and a trial balance at a past date reads them: the same figures as
summing the entries, for any date, late items included."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from ledger import invariants
from ledger.closing import close_period, parse_month
from ledger.models import Account, AccountBalance, AccountDay, Entry, JournalKind
from ledger.posting import JournalDraft, post_journals, post_one
from ledger.selectors import trial_balance
from tests.factories import BY_TESTS
from tests.threads import hold_then_race

D = Decimal
CLOSED_BY = date(2026, 6, 15)  # the close service's "today" here


@pytest.fixture
def accounts(db):
    return dict(Account.objects.values_list("code", "id"))


def sale(accounts, key: str, on: date, amount: str, *, currency: str = "EUR") -> JournalDraft:
    """Dr gateway clearing, Cr commission income and shipping income."""
    journal = JournalDraft(posting_key=key, kind=JournalKind.SALE, currency=currency, date=on)
    total = D(amount)
    journal.debit(accounts["1100"], total)
    journal.credit(accounts["4000"], total - D("1.00"))
    journal.credit(accounts["4100"], D("1.00"))
    return journal


def days(code: str, currency: str = "EUR") -> dict[date, tuple[Decimal, Decimal]]:
    return {
        row.date: (row.debit, row.credit)
        for row in AccountDay.objects.filter(account__code=code, currency=currency)
    }


def summed_entries(currency: str, as_of: date) -> list[tuple[int, Decimal, Decimal]]:
    """The trial balance at `as_of` the slow way: every entry up to the date."""
    return sorted(
        Entry.objects.filter(currency=currency, journal__date__lte=as_of)
        .values("account_id")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
        .values_list("account_id", "debit", "credit")
    )


def read(currency: str, as_of: date) -> list[tuple[int, Decimal, Decimal]]:
    return sorted((r.account_id, r.debit, r.credit) for r in trial_balance(currency, as_of).rows)


# ---------------------------------------------------------------- posting


def test_posting_adds_each_days_entries_to_its_daily_total(accounts):
    post_journals(
        [
            sale(accounts, "a", date(2026, 7, 1), "10.00"),
            sale(accounts, "b", date(2026, 7, 1), "2.50"),
            sale(accounts, "c", date(2026, 7, 3), "4.00"),
        ],
        posted_by=BY_TESTS,
    )
    post_one(sale(accounts, "d", date(2026, 7, 3), "1.25"), posted_by=BY_TESTS)

    assert days("1100") == {
        date(2026, 7, 1): (D("12.50"), D("0")),
        date(2026, 7, 3): (D("5.25"), D("0")),
    }
    assert days("4000") == {
        date(2026, 7, 1): (D("0"), D("10.50")),
        date(2026, 7, 3): (D("0"), D("3.25")),
    }
    assert days("4100") == {
        date(2026, 7, 1): (D("0"), D("2.00")),
        date(2026, 7, 3): (D("0"), D("2.00")),
    }
    balance = AccountBalance.objects.get(account__code="1100", currency="EUR")
    assert (balance.debit, balance.credit) == (D("17.75"), D("0"))
    assert invariants.days_match_entries() == []
    assert invariants.days_add_up_to_balances() == []


def test_a_key_posted_before_adds_nothing_again(accounts):
    post_one(sale(accounts, "once", date(2026, 7, 1), "10.00"), posted_by=BY_TESTS)
    post_one(sale(accounts, "once", date(2026, 7, 1), "10.00"), posted_by=BY_TESTS)

    assert days("1100") == {date(2026, 7, 1): (D("10.00"), D("0"))}


def test_each_currency_has_its_own_daily_total(accounts):
    post_one(sale(accounts, "eur", date(2026, 7, 1), "10.00"), posted_by=BY_TESTS)
    post_one(sale(accounts, "jpy", date(2026, 7, 1), "1500", currency="JPY"), posted_by=BY_TESTS)

    assert days("1100") == {date(2026, 7, 1): (D("10.00"), D("0"))}
    assert days("1100", "JPY") == {date(2026, 7, 1): (D("1500"), D("0"))}


def test_a_late_item_counts_on_the_day_it_is_posted(accounts, alice):
    post_one(sale(accounts, "jan", date(2026, 1, 20), "10.00"), posted_by=BY_TESTS)
    for month in ("2026-01", "2026-02"):
        close_period(month=parse_month(month), user=alice, process="test", today=CLOSED_BY)

    late = post_one(sale(accounts, "late", date(2026, 1, 31), "3.00"), posted_by=BY_TESTS)

    assert (late.date, late.original_date) == (date(2026, 3, 1), date(2026, 1, 31))
    assert days("1100") == {
        date(2026, 1, 20): (D("10.00"), D("0")),
        date(2026, 3, 1): (D("3.00"), D("0")),
    }
    # January's trial balance, as it was closed, does not change.
    [clearing, *_] = [r for r in trial_balance("EUR", date(2026, 1, 31)).rows if r.code == "1100"]
    assert clearing.debit == D("10.00")
    assert read("EUR", date(2026, 2, 28)) == summed_entries("EUR", date(2026, 2, 28))
    assert read("EUR", date(2026, 3, 1)) == summed_entries("EUR", date(2026, 3, 1))


# ---------------------------------------------------------------- the trial balance


def test_the_trial_balance_at_any_date_is_the_sum_of_the_entries_up_to_it(accounts, alice):
    start = date(2026, 1, 1)
    drafts = [
        sale(accounts, f"s{n}", start + timedelta(days=n * 7), f"{10 + n}.{n % 100:02d}")
        for n in range(30)
    ]
    post_journals(drafts[:20], posted_by=BY_TESTS)
    close_period(month=parse_month("2026-01"), user=alice, process="test", today=CLOSED_BY)
    # Dated in the closed January: posted on 1 February, as of which it counts.
    post_one(sale(accounts, "late", date(2026, 1, 10), "7.77"), posted_by=BY_TESTS)
    post_journals(drafts[20:], posted_by=BY_TESTS)
    post_one(sale(accounts, "jpy", date(2026, 3, 3), "900", currency="JPY"), posted_by=BY_TESTS)

    last = drafts[-1].date
    # Before the first day, on it, around the late item, both halves (the
    # selector reads whichever side of the date has fewer days), the last day, after.
    dates = [start - timedelta(days=1), start, date(2026, 1, 31), date(2026, 2, 1)]
    dates += [start + timedelta(days=n) for n in (45, 100, 101, 150, 190)]
    dates += [last - timedelta(days=1), last, last + timedelta(days=400)]
    for as_of in dates:
        assert read("EUR", as_of) == summed_entries("EUR", as_of), as_of
        assert trial_balance("EUR", as_of).balanced
    assert read("JPY", date(2026, 3, 3)) == summed_entries("JPY", date(2026, 3, 3))
    assert read("JPY", date(2026, 3, 2)) == []
    assert read("CHF", date(2026, 3, 3)) == []
    # The day after the last one is today's trial balance.
    assert trial_balance("EUR", last + timedelta(days=1)).rows == trial_balance("EUR").rows


# ---------------------------------------------------------------- the database


def test_the_database_refuses_a_negative_daily_total(accounts):
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountDay.objects.create(
            account_id=accounts["1100"], currency="EUR", date=date(2026, 7, 1), debit=D("-1")
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountDay.objects.create(
            account_id=accounts["1100"], currency="EUR", date=date(2026, 7, 1), credit=D("-1")
        )
    assert not AccountDay.objects.exists()


def test_the_database_refuses_two_totals_for_one_account_currency_and_day(accounts):
    AccountDay.objects.create(account_id=accounts["1100"], currency="EUR", date=date(2026, 7, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountDay.objects.create(
            account_id=accounts["1100"], currency="EUR", date=date(2026, 7, 1)
        )


def test_the_migrations_backfill_makes_the_daily_totals_of_the_entries(accounts):
    from importlib import import_module

    backfill = import_module("ledger.migrations.0007_account_day").BACKFILL
    post_journals(
        [sale(accounts, f"b{n}", date(2026, 7, 1 + n % 3), "5.00") for n in range(7)],
        posted_by=BY_TESTS,
    )
    posted = sorted(AccountDay.objects.values_list("account_id", "currency", "date", "debit"))
    AccountDay.objects.all().delete()

    with connection.cursor() as cursor:
        cursor.execute(backfill)

    assert sorted(AccountDay.objects.values_list("account_id", "currency", "date", "debit")) == (
        posted
    )
    assert invariants.days_match_entries() == []


# ---------------------------------------------------------------- concurrency


@pytest.fixture
def committed_accounts(transactional_db):
    return dict(Account.objects.values_list("code", "id"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_postings_to_the_same_day_at_once_both_count(committed_accounts):
    accounts = committed_accounts
    on = date(2026, 7, 1)

    results = hold_then_race(
        lambda: post_one(sale(accounts, "first", on, "10.00"), posted_by=BY_TESTS),
        lambda: post_one(sale(accounts, "second", on, "2.50"), posted_by=BY_TESTS),
    )

    assert results["blocked"], f"the second posting did not wait: {results}"
    assert days("1100") == {on: (D("12.50"), D("0"))}
    assert days("4000") == {on: (D("0"), D("10.50"))}
    assert invariants.days_match_entries() == []
    assert invariants.days_add_up_to_balances() == []
