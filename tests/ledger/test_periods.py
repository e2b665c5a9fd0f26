"""Accounting periods: months close in order, a closed month takes no journal
(the services post a late item on the first open day and keep its date; the
database refuses one dated in it), reopening needs a reason, everything is
audited, and a close never lets a concurrent posting slip into its month."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger import invariants
from ledger.closing import PeriodError, close_period, parse_month, period_rows, reopen_period
from ledger.models import (
    Account,
    AccountingPeriod,
    Journal,
    JournalKind,
    Payout,
    PeriodAction,
    PeriodEvent,
    PeriodStatus,
)
from ledger.periods import first_open_day, posting_dates
from ledger.posting import JournalDraft, post_one
from tests.audit_plugin import drain_ledger
from tests.factories import BY_TESTS, StaffFactory, eur_payout, make_order
from tests.threads import hold_then_race

D = Decimal
TODAY = date(2026, 6, 15)  # the close service's "today" in these tests


@pytest.fixture
def accounts(db):
    return dict(Account.objects.values_list("code", "id"))


def draft(accounts, key: str, on: date, amount: str = "10.00") -> JournalDraft:
    journal = JournalDraft(posting_key=key, kind=JournalKind.SALE, currency="EUR", date=on)
    journal.debit(accounts["1100"], D(amount))
    journal.credit(accounts["4000"], D(amount))
    return journal


def close(month: str, user, **kwargs) -> AccountingPeriod:
    return close_period(month=parse_month(month), user=user, process="test", today=TODAY, **kwargs)


def status_of(month: str) -> str:
    return AccountingPeriod.objects.get(month=parse_month(month)).status


# ---------------------------------------------------------------- posting dates


def test_a_late_item_is_posted_on_the_first_open_day_and_keeps_its_date(accounts, alice):
    post_one(draft(accounts, "jan", date(2026, 1, 20)), posted_by=BY_TESTS)
    close("2026-01", alice)
    close("2026-02", alice)

    journal = post_one(draft(accounts, "late", date(2026, 1, 31)), posted_by=BY_TESTS)

    assert (journal.date, journal.original_date) == (date(2026, 3, 1), date(2026, 1, 31))
    stored = Journal.objects.get(posting_key="late")
    assert (stored.date, stored.original_date) == (date(2026, 3, 1), date(2026, 1, 31))


def test_an_item_in_an_open_period_keeps_its_date_and_has_no_original_date(accounts, alice):
    post_one(draft(accounts, "jan", date(2026, 1, 20)), posted_by=BY_TESTS)
    close("2026-01", alice)

    journal = post_one(draft(accounts, "feb", date(2026, 2, 3)), posted_by=BY_TESTS)

    assert (journal.date, journal.original_date) == (date(2026, 2, 3), None)


def test_every_rule_benefits_a_sale_of_a_closed_month_is_posted_late(acme, alice):
    order = make_order(
        lines=[(acme, "MUG-01", 1, "20.00", "0.10")],
        placed_at=datetime(2026, 3, 10, 12, tzinfo=UTC),
    )
    AccountingPeriod.objects.create(month=date(2026, 3, 1))
    close("2026-03", alice)

    drain_ledger()

    sale = Journal.objects.get(order=order, kind=JournalKind.SALE)
    assert (sale.date, sale.original_date) == (date(2026, 4, 1), date(2026, 3, 10))


def test_a_payout_dated_in_a_closed_month_is_posted_on_the_first_open_day(acme, alice):
    AccountingPeriod.objects.create(month=date(2026, 4, 1))
    close("2026-04", alice)

    payout = eur_payout(acme, "5.00", date(2026, 4, 30), advance=True)

    payout.refresh_from_db()
    journal = payout.journals.get()
    assert payout.paid_on == date(2026, 4, 30)  # the payout says when it was paid
    assert (journal.date, journal.original_date) == (date(2026, 5, 1), date(2026, 4, 30))


def test_posting_makes_the_period_of_each_month_it_posts_in(accounts):
    post_one(draft(accounts, "a", date(2026, 7, 4)), posted_by=BY_TESTS)
    post_one(draft(accounts, "b", date(2026, 9, 30)), posted_by=BY_TESTS)

    assert set(AccountingPeriod.objects.values_list("month", "status")) == {
        (date(2026, 7, 1), PeriodStatus.OPEN),
        (date(2026, 9, 1), PeriodStatus.OPEN),
    }


def test_posting_dates_before_the_first_month_of_the_books_count_as_closed(accounts, alice):
    post_one(draft(accounts, "may", date(2026, 5, 2)), posted_by=BY_TESTS)
    close("2026-05", alice)

    assert posting_dates([date(2025, 12, 24), date(2026, 6, 2)]) == {
        date(2025, 12, 24): date(2026, 6, 1),
        date(2026, 6, 2): date(2026, 6, 2),
    }
    # No open period row is made for the month before the books.
    assert not AccountingPeriod.objects.filter(month=date(2025, 12, 1)).exists()


# ---------------------------------------------------------------- closing and reopening


def test_closing_records_who_and_when_and_an_audit_row(accounts, alice):
    post_one(draft(accounts, "jan", date(2026, 1, 5)), posted_by=BY_TESTS)

    period = close("2026-01", alice)

    period.refresh_from_db()
    assert period.status == PeriodStatus.CLOSED
    assert period.closed_by == alice and period.closed_at is not None
    (event,) = PeriodEvent.objects.all()
    assert (event.action, event.user, event.process, event.reason) == (
        PeriodAction.CLOSE,
        alice,
        "test",
        "",
    )
    assert event.created_at == period.closed_at
    assert first_open_day() == date(2026, 2, 1)


def refused_and_unchanged(field: str, code: str, message: str):
    """A PeriodError about `field` with `code` whose message contains `message`,
    and no period or event changed."""

    class Check:
        def __enter__(self):
            self.before = (
                list(AccountingPeriod.objects.order_by("month").values_list()),
                PeriodEvent.objects.count(),
            )
            self.raises = pytest.raises(PeriodError)
            self.info = self.raises.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.raises.__exit__(*exc)
            error = self.info.value
            assert (error.field, error.code) == (field, code), error
            assert message in error.message, error.message
            after = (
                list(AccountingPeriod.objects.order_by("month").values_list()),
                PeriodEvent.objects.count(),
            )
            assert after == self.before, "a refused close or reopen changed something"
            return handled

    return Check()


def test_months_close_in_order(accounts, alice):
    post_one(draft(accounts, "jan", date(2026, 1, 5)), posted_by=BY_TESTS)
    post_one(draft(accounts, "mar", date(2026, 3, 5)), posted_by=BY_TESTS)

    with refused_and_unchanged("month", "invalid_transition", "Close 2026-02 first"):
        close("2026-03", alice)

    close("2026-01", alice)
    close("2026-02", alice)  # no journal in February: its period is made now
    close("2026-03", alice)
    assert [r.status for r in period_rows(TODAY)] == ["open"] * 3 + ["closed"] * 3


def test_the_first_month_of_the_books_closes_without_a_previous_one(accounts, alice):
    post_one(draft(accounts, "apr", date(2026, 4, 5)), posted_by=BY_TESTS)

    close("2026-04", alice)

    assert status_of("2026-04") == PeriodStatus.CLOSED


@pytest.mark.parametrize(
    ("month", "code", "message"),
    [
        ("2026-06", "not_ended", "2026-06 has not ended: it can be closed from 2026-07-01"),
        ("2026-01", "invalid_transition", "2026-01 is already closed (by alice on"),
        (
            "2025-11",
            "invalid_transition",
            "2025-11 is already closed: the books are closed through 2026-01",
        ),
    ],
)
def test_a_month_that_has_not_ended_or_is_closed_does_not_close(
    accounts, alice, month, code, message
):
    post_one(draft(accounts, "jan", date(2026, 1, 5)), posted_by=BY_TESTS)
    close("2026-01", alice)

    with refused_and_unchanged("month", code, message):
        close(month, alice)


def test_reopening_needs_a_reason_and_is_audited(accounts, alice):
    post_one(draft(accounts, "jan", date(2026, 1, 5)), posted_by=BY_TESTS)
    close("2026-01", alice)
    bob = StaffFactory(username="bob")

    with refused_and_unchanged("reason", "required", "Say why"):
        reopen_period(month=date(2026, 1, 1), user=bob, process="test", reason="  ")

    period = reopen_period(
        month=date(2026, 1, 1), user=bob, process="test", reason="Supplier invoice missed"
    )

    assert (period.status, period.closed_by, period.closed_at) == (PeriodStatus.OPEN, None, None)
    assert list(
        PeriodEvent.objects.order_by("id").values_list("action", "user__username", "reason")
    ) == [
        (PeriodAction.CLOSE, "alice", ""),
        (PeriodAction.REOPEN, "bob", "Supplier invoice missed"),
    ]
    # Open again: a journal dated in it keeps its date.
    assert post_one(draft(accounts, "again", date(2026, 1, 31)), posted_by=BY_TESTS).date == date(
        2026, 1, 31
    )


def test_only_the_latest_closed_month_reopens(accounts, alice):
    post_one(draft(accounts, "jan", date(2026, 1, 5)), posted_by=BY_TESTS)
    close("2026-01", alice)
    close("2026-02", alice)

    with refused_and_unchanged("month", "invalid_transition", "Reopen 2026-02 first"):
        reopen_period(month=date(2026, 1, 1), user=alice, process="test", reason="why")
    with refused_and_unchanged("month", "invalid_transition", "2026-03 is open"):
        reopen_period(month=date(2026, 3, 1), user=alice, process="test", reason="why")


@pytest.mark.parametrize("value", ["2026-13", "2026-1", "March", "", None, "2026-03-01"])
def test_a_month_is_written_yyyy_mm(value):
    with pytest.raises(PeriodError) as refused:
        parse_month(value)
    assert refused.value.field == "month"
    assert "YYYY-MM" in refused.value.message


def test_period_rows_list_every_month_of_the_books_newest_first(accounts, alice):
    post_one(draft(accounts, "feb", date(2026, 2, 5)), posted_by=BY_TESTS)
    post_one(draft(accounts, "apr", date(2026, 4, 5)), posted_by=BY_TESTS)
    close("2026-02", alice)

    rows = period_rows(TODAY)

    assert [(r.label, r.status, r.closed_by) for r in rows] == [
        ("2026-06", "open", ""),
        ("2026-05", "open", ""),
        ("2026-04", "open", ""),
        ("2026-03", "open", ""),
        ("2026-02", "closed", "alice"),
    ]


# ---------------------------------------------------------------- the database


@pytest.mark.postgres
def test_the_database_refuses_a_journal_dated_in_a_closed_period(accounts, alice):
    post_one(draft(accounts, "jan", date(2026, 1, 5)), posted_by=BY_TESTS)
    close("2026-01", alice)

    with pytest.raises(IntegrityError, match="is dated 2026-01-31, in a closed period"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_journal (posting_key, kind, currency, date, memo, "
                "entry_count, created_at, posted_by_process) "
                "VALUES ('raw', 'sale', 'EUR', '2026-01-31', '', 2, now(), 'script')"
            )


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    ["UPDATE ledger_periodevent SET reason = 'edited'", "DELETE FROM ledger_periodevent"],
)
def test_the_audit_rows_are_never_changed(accounts, alice, statement):
    post_one(draft(accounts, "jan", date(2026, 1, 5)), posted_by=BY_TESTS)
    close("2026-01", alice)

    with pytest.raises(Exception, match="Cannot update or delete"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


@pytest.mark.postgres
def test_a_period_month_is_a_first_day(db):
    with pytest.raises(IntegrityError, match="not the first day of a month"):
        with transaction.atomic():
            AccountingPeriod.objects.create(month=date(2026, 3, 2))


def test_the_database_refuses_a_reopen_without_a_reason_and_a_closed_period_without_who(
    accounts, alice
):
    post_one(draft(accounts, "jan", date(2026, 1, 5)), posted_by=BY_TESTS)
    period = AccountingPeriod.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        PeriodEvent.objects.create(
            period=period, action=PeriodAction.REOPEN, user=alice, process="x", reason=""
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountingPeriod.objects.filter(pk=period.pk).update(status=PeriodStatus.CLOSED)


def test_the_checker_finds_a_journal_posted_into_a_month_after_it_closed(accounts, alice):
    post_one(draft(accounts, "jan", date(2026, 1, 5)), posted_by=BY_TESTS)
    close("2026-01", alice)
    assert invariants.journals_in_open_periods() == []
    # As if it had closed before the journal was posted (no trigger on SQLite).
    AccountingPeriod.objects.filter(month=date(2026, 1, 1)).update(
        closed_at=datetime(2025, 12, 31, tzinfo=UTC)
    )

    (finding,) = invariants.journals_in_open_periods()

    assert finding.subject.endswith("(jan)")
    assert "dated 2026-01-05 in the period of 2026-01-01, closed at 2025-12-31" in finding.detail


# ---------------------------------------------------------------- races


@pytest.fixture
def committed_books(transactional_db):
    """January posted in and committed, February's period made: both open."""
    accounts = dict(Account.objects.values_list("code", "id"))
    post_one(draft(accounts, "jan", date(2026, 1, 5)), posted_by=BY_TESTS)
    AccountingPeriod.objects.create(month=date(2026, 2, 1))
    return accounts, StaffFactory(username="carol")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_posting_that_meets_a_close_waits_and_moves_to_the_first_open_day(committed_books):
    accounts, carol = committed_books

    results = hold_then_race(
        lambda: close("2026-01", carol),
        lambda: post_one(draft(accounts, "late", date(2026, 1, 31)), posted_by=BY_TESTS),
    )

    assert results["blocked"], f"the posting did not wait for the close: {results}"
    assert isinstance(results["first"], AccountingPeriod), results
    journal = Journal.objects.get(posting_key="late")
    assert (journal.date, journal.original_date) == (date(2026, 2, 1), date(2026, 1, 31))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_close_that_meets_a_posting_waits_and_closes_over_it(committed_books):
    accounts, carol = committed_books

    results = hold_then_race(
        lambda: post_one(draft(accounts, "in-time", date(2026, 1, 31)), posted_by=BY_TESTS),
        lambda: close("2026-01", carol),
    )

    assert results["blocked"], f"the close did not wait for the posting: {results}"
    assert isinstance(results["second"], AccountingPeriod), results
    journal = Journal.objects.get(posting_key="in-time")
    assert (journal.date, journal.original_date) == (date(2026, 1, 31), None)
    assert status_of("2026-01") == PeriodStatus.CLOSED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_payout_that_meets_a_close_of_its_month_is_posted_after_it(committed_books, acme):
    _, carol = committed_books

    results = hold_then_race(
        lambda: close("2026-01", carol),
        lambda: eur_payout(acme, "1.00", date(2026, 1, 30), advance=True),
    )

    assert results["blocked"], results
    assert isinstance(results["second"], Payout), results
    journal = results["second"].journals.get()
    assert (journal.date, journal.original_date) == (date(2026, 2, 1), date(2026, 1, 30))
