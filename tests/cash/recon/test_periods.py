"""Reconciliation runs per account and month: figures, sign-off, re-opening,
reports, write-offs with a second person's approval."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from cash.models import BankAccount, PeriodReopening, ReconciliationPeriod, WriteOffRequest
from cash.reconciliation_tasks import reconcile_periods
from cash.services.periods import reopen, report_csv, report_pdf, run_period, sign_off
from cash.services.writeoffs import approve_write_off, reject_write_off, request_write_off
from ledger.models import Account
from lib.errors import DomainError
from tests.factories import StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOVEMBER = date(2026, 11, 1)


def test_a_run_matches_the_payout_and_the_books_agree_with_the_statement(banked, account):
    outcome = run_period(account=account, month=date(2026, 11, 17))
    period = outcome.period
    assert outcome.ran and period.month == NOVEMBER
    figures = period.figures
    assert figures["matched"] == {"count": 1, "total": "78.23"}
    assert figures["unmatched_lines"] == {"count": 0, "total": "0.00"}
    assert figures["statement_closing_balance"] == "78.23"
    assert figures["ledger_balance"] == "78.23"
    assert figures["difference"] == "0.00"
    assert figures["case_refunds"]["matched_to_cases"] == 1
    assert figures["case_refunds"]["total"] == "-27.50"
    assert figures["verdict"] == "reconciled"


def _import_a_fee_line(user, reference: str) -> None:
    """A second November statement, after the banked one: a -12.00 bank fee
    with nothing in the books to explain it."""
    from cash.services.imports import import_statement_file
    from tests.cash.statement_files import Entry, camt

    import_statement_file(
        data=camt(
            [Entry("-12.00", booked="2026-11-20", acct_svcr_ref=reference)],
            opening="78.23",
            statement_id="STMT-2026-11-B",
        ),
        user=user,
    )


def test_an_unexplained_line_is_a_break(banked, account, alice):
    _import_a_fee_line(alice, "BANK-0002")
    figures = run_period(account=account, month=NOVEMBER).period.figures
    assert figures["unmatched_lines"] == {"count": 1, "total": "-12.00"}
    assert figures["difference"] == "-12.00"
    assert figures["verdict"] == "breaks"
    assert "BANK-0002" in report_csv(ReconciliationPeriod.objects.get())


def test_sign_off_locks_the_month_and_reopening_is_audited(banked, account, alice):
    period = run_period(account=account, month=NOVEMBER).period
    signed = sign_off(period=period, user=alice)
    assert (signed.signed_off_by, signed.signed_off_at is not None) == (alice, True)
    frozen = dict(signed.figures)

    again = run_period(account=account, month=NOVEMBER)
    assert not again.ran and again.period.figures == frozen
    with pytest.raises(DomainError) as twice:
        sign_off(period=signed, user=alice)
    assert twice.value.field == "period"

    with pytest.raises(DomainError) as no_reason:
        reopen(period=signed, user=alice, reason="  ")
    assert no_reason.value.field == "reason"
    bob = StaffFactory(username="bob")
    reopened = reopen(period=signed, user=bob, reason="Late bank line for the 30th")
    assert not reopened.signed_off
    audit = PeriodReopening.objects.get()
    assert (audit.reopened_by, audit.was_signed_off_by) == (bob, alice)
    assert audit.reason == "Late bank line for the 30th"
    assert run_period(account=account, month=NOVEMBER).ran


def test_signing_needs_a_run_and_a_named_user(account, alice):
    period = ReconciliationPeriod.objects.create(account=account, month=NOVEMBER)
    with pytest.raises(DomainError):
        sign_off(period=period, user=alice)
    with pytest.raises(DomainError) as nobody:
        sign_off(period=period, user=None)
    assert nobody.value.field == "user"


def test_reports_in_csv_and_pdf(banked, account, alice):
    period = sign_off(period=run_period(account=account, month=NOVEMBER).period, user=alice)
    text = report_csv(period)
    assert "Ledger balance at period end,78.23" in text
    assert "Signed off,alice at" in text
    pdf = report_pdf(period)
    assert pdf.startswith(b"%PDF") and pdf == report_pdf(period)  # invariant bytes


def test_the_beat_task_runs_every_account_and_leaves_signed_months(banked, account, alice):
    assert reconcile_periods("2026-11-30") == {"ran": 1, "locked": 0}
    sign_off(period=ReconciliationPeriod.objects.get(), user=alice)
    assert reconcile_periods("2026-11-30") == {"ran": 0, "locked": 1}


def _expense() -> Account:
    account = Account.objects.filter(kind="expense").order_by("code").first()
    assert account is not None
    return account


def _write_off(
    account: BankAccount, user: Any, amount: str, on_date: date | None = None, reason: str = "x"
) -> WriteOffRequest:
    """A write-off to the first expense account."""
    return request_write_off(
        account=account,
        amount=amount,
        target_account=_expense(),
        reason=reason,
        user=user,
        on_date=on_date,
    )


def test_a_write_off_needs_another_persons_approval_and_posts_a_journal(account, alice):
    bob = StaffFactory(username="bob")
    request = _write_off(account, alice, "-0.01", date(2026, 11, 30), reason="Bank rounding")
    with pytest.raises(DomainError) as own:
        approve_write_off(request_id=request.pk, user=alice)
    assert own.value.field == "decided_by"

    approved = approve_write_off(request_id=request.pk, user=bob)
    journal = approved.journal
    # Its date beside it: the key to the journals, partitioned by month of date.
    assert WriteOffRequest.objects.get(pk=request.pk).journal_date == journal.date
    assert (approved.status, approved.decided_by) == ("approved", bob)
    assert journal.posted_by_user_id == bob.pk if hasattr(journal, "posted_by_user_id") else True
    legs = {(e.account_id, e.debit, e.credit) for e in journal.entries.all()}
    assert legs == {
        (_expense().pk, Decimal("0.01"), Decimal("0")),
        (account.ledger_account_id, Decimal("0"), Decimal("0.01")),
    }
    with pytest.raises(DomainError):
        approve_write_off(request_id=request.pk, user=bob)


def test_the_database_refuses_a_self_approved_write_off(account, alice):
    request = _write_off(account, alice, "5.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        WriteOffRequest.objects.filter(pk=request.pk).update(decided_by=alice)


def test_a_write_off_is_refused_in_a_signed_month_and_can_be_rejected(banked, account, alice):
    bob = StaffFactory(username="bob")
    sign_off(period=run_period(account=account, month=NOVEMBER).period, user=alice)
    with pytest.raises(DomainError) as locked:
        _write_off(account, alice, "1.00", date(2026, 11, 3))
    assert locked.value.code == "signed_off"
    december = _write_off(account, alice, "1.00", date(2026, 12, 3))
    assert reject_write_off(request_id=december.pk, user=bob).status == "rejected"


@pytest.mark.parametrize(
    ("amount", "field"), [("abc", "amount"), ("0", "amount"), ("1.001", "amount")]
)
def test_bad_write_off_amounts_name_the_field(account, alice, amount, field):
    with pytest.raises(DomainError) as bad:
        _write_off(account, alice, amount)
    assert bad.value.field == field


def test_a_bank_fee_written_off_against_its_line_explains_the_line(banked, account, alice):
    """A fee on the statement with nothing in the books: the approved write-off
    posts it and matches the line, so the month reconciles."""
    from cash.models import BankStatementLine

    _import_a_fee_line(alice, "BANK-FEE-1")
    assert run_period(account=account, month=NOVEMBER).period.figures["verdict"] == "breaks"
    fee = BankStatementLine.objects.get(amount=Decimal("-12.00"))
    bob = StaffFactory(username="bob")
    request = request_write_off(
        account=account,
        amount="-12.00",
        target_account=_expense(),
        reason="Account fee for November",
        user=alice,
        line=fee,
    )
    fee.refresh_from_db()
    assert fee.status == "unmatched"  # nothing moves before the approval

    approve_write_off(request_id=request.pk, user=bob)
    fee.refresh_from_db()
    assert (fee.status, fee.allocated_minor) == ("matched", 1200)
    figures = run_period(account=account, month=NOVEMBER).period.figures
    assert figures["unmatched_lines"]["count"] == 0
    assert figures["difference"] == "0.00"
    assert figures["verdict"] == "reconciled"
    # The write-off is an open item of its own kind, allocated once: a later
    # run's sync adds nothing for it.
    from cash.models import OpenItem
    from cash.services.sources import sync_open_items

    item = OpenItem.objects.get(kind="write_off", source_id=request.pk)
    assert item.remaining_minor == 0
    sync_open_items()
    assert OpenItem.objects.filter(kind="write_off").count() == 1


def test_a_write_off_on_a_line_must_fit_what_is_left_of_it(banked, account, alice):
    """Checked when it is asked for, not at approval: the line's direction, and
    at most what of the line is not matched yet."""
    from cash.models import BankStatementLine

    payout_line = BankStatementLine.objects.get(amount=Decimal("78.23"))
    run_period(account=account, month=NOVEMBER)
    payout_line.refresh_from_db()
    assert payout_line.status == "matched"  # nothing of it is left
    for amount, says in (("-0.50", "with its sign"), ("0.50", "not matched yet")):
        with pytest.raises(DomainError) as refused:
            request_write_off(
                account=account,
                amount=amount,
                target_account=_expense(),
                reason="Rounding",
                user=alice,
                line=payout_line,
            )
        assert refused.value.field == "amount"
        assert says in str(refused.value)
    assert not WriteOffRequest.objects.exists()
