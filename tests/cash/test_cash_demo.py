"""The cash side of the demo (cash.demo, `manage.py load_cash_demo`): payout
reports and bank statements written from the demo's ledger, imported through
the import services and reconciled, with exactly the deliberate exceptions,
and a showcase case traced from the request to the bank without a gap."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from cash import demo
from cash.models import (
    BankAccount,
    BankStatementLine,
    ExceptionReason,
    LineStatus,
    OpenItem,
    PayoutException,
    PayoutProvider,
    PayoutReport,
    PayoutReportRow,
    ReconciliationPeriod,
    Suggestion,
    SuggestionStatus,
)
from cash.services.decisions import confirm_suggestion, reject_suggestion
from cash.services.imports import import_statement_file
from cash.services.payout_reports import import_payout_report
from cash.services.periods import run_period
from cash.services.trace import case_trace
from cash.services.writeoffs import approve_write_off, request_write_off
from ledger.models import Account, Payout
from tests.factories import StaffFactory

# A fixed day: the demo is dated relative to it (see refunds.demo), so the
# window, the exceptions and the showcase are the same whenever the test runs.
TODAY = date(2026, 12, 6)
MONTH = date(2026, 11, 1)  # the last complete month
STEPS = {
    "event",
    "refund_journal",
    "credit_note",
    "provider_refund",
    "provider_payout",
    "bank_line",
    "settlement_statement",
    "vendor_payout",
}


@pytest.fixture
def loaded(db, tmp_path):
    out = io.StringIO()
    call_command("load_demo", "--orders", "200", "--today", TODAY.isoformat(), stdout=out)
    call_command("load_cash_demo", "--today", TODAY.isoformat(), "--dir", str(tmp_path), stdout=out)
    return tmp_path, out.getvalue()


def period(month: date) -> dict:
    account = BankAccount.objects.get(iban=demo.loader.IBAN)
    return ReconciliationPeriod.objects.get(account=account, month=month).figures


def test_the_files_are_kept_and_a_reimport_adds_nothing(loaded):
    directory, output = loaded
    reports = sorted(directory.glob("stripe-payout-*.csv"))
    statements = sorted(directory.glob("camt053-*.xml"))
    assert len(reports) == PayoutReport.objects.count() >= 4
    assert [p.name[-11:-4] for p in statements] == ["2026-10", "2026-11", "2026-12"]
    assert f"Files (re-import them as they are): {directory}" in output
    rows, lines = PayoutReportRow.objects.count(), BankStatementLine.objects.count()
    stripe = PayoutProvider.objects.get(code="stripe")

    for path in reports:
        result = import_payout_report(data=path.read_bytes(), provider=stripe)
        assert result.already_imported and result.new_rows == 0
    for path in statements:
        assert import_statement_file(data=path.read_bytes()).already_imported
    # The same statements in rewritten files (another creation time): nothing new either.
    for path in statements:
        rewritten = path.read_bytes().replace(b"2026-12-06T06:00:00", b"2026-12-07T07:30:00")
        result = import_statement_file(data=rewritten, file_name="again.xml")
        assert sum(o.new_lines for o in result.outcomes) == 0

    assert (PayoutReportRow.objects.count(), BankStatementLine.objects.count()) == (rows, lines)


def test_the_month_reconciles_but_for_the_deliberate_exceptions(loaded):
    november = period(MONTH)
    short = Payout.objects.get(reference="SL-NORDLICHT-20261031")

    # The bank fee: the one line with no open item.
    assert november["unmatched_lines"] == {"count": 1, "total": "-12.90"}
    # The two advances (no reference) and the payout debited with the bank's charge.
    assert november["suggested"] == {
        "count": 3,
        "total": f"{-Decimal('500.00') - short.amount - Decimal('3.50'):.2f}",
    }
    assert november["unmatched_items"]["count"] == 3
    assert november["difference"] == "-16.40"  # the fee and the charge
    assert november["verdict"] == "breaks"
    unexplained = BankStatementLine.objects.exclude(status=LineStatus.MATCHED)
    charged = -short.amount - Decimal("3.50")
    assert sorted(unexplained.values_list("amount", flat=True)) == sorted(
        [Decimal("-12.90"), Decimal("-250.00"), Decimal("-250.00"), charged]
    )
    pending = Suggestion.objects.filter(status=SuggestionStatus.PENDING)
    assert pending.count() == 5  # each advance line for both advances, and the charged payout
    # The refund made in Stripe's dashboard: the one exception of the payout import.
    (exception,) = PayoutException.objects.all()
    assert exception.reason == ExceptionReason.NO_MATCH
    assert exception.row.gross == Decimal("-24.90")
    assert november["case_refunds"]["rows"] == november["case_refunds"]["matched_to_cases"] + 1
    # The month before reconciles; the month to date has nothing to explain but
    # the difference November carries into its balance until it is written off.
    assert period(date(2026, 10, 1))["verdict"] == "reconciled"
    assert period(date(2026, 10, 1))["difference"] == "0.00"
    december = period(date(2026, 12, 1))
    assert december["unmatched_lines"]["count"] == december["suggested"]["count"] == 0
    assert december["difference"] == "-16.40"
    # Every other open item is matched.
    assert OpenItem.objects.filter(remaining_minor__gt=0).count() == 3


def test_the_exceptions_can_be_worked_through_as_the_readme_says(loaded):
    account = BankAccount.objects.get(iban=demo.loader.IBAN)
    clerk, approver = StaffFactory(username="clerk"), StaffFactory(username="approver")
    payouts = {p.pk: p for p in Payout.objects.all()}
    for suggestion in Suggestion.objects.filter(status=SuggestionStatus.PENDING).order_by("id"):
        (item,) = [s.item for s in suggestion.items.all()]
        payout = payouts[item.source_id]
        if suggestion.line.counterparty == payout.vendor.name:
            confirm_suggestion(suggestion_id=suggestion.pk, user=clerk)
    for suggestion in Suggestion.objects.filter(status=SuggestionStatus.PENDING):
        reject_suggestion(suggestion_id=suggestion.pk, user=clerk)
    charges = Account.objects.get(role="provider_fees")
    fee_line = BankStatementLine.objects.get(amount=Decimal("-12.90"))
    # The payout debited with its charge: matched to its payout, 3.50 left over.
    (short_line,) = [
        line
        for line in BankStatementLine.objects.filter(account=account, allocated_minor__gt=0)
        if abs(line.amount_minor) - line.allocated_minor == 350
    ]
    for amount, line in ((Decimal("-12.90"), fee_line), (Decimal("-3.50"), short_line)):
        request = request_write_off(
            account=account,
            amount=amount,
            target_account=charges,
            reason="Bank charges",
            user=clerk,
            on_date=date(2026, 11, 30),
            line=line,
        )
        approve_write_off(request_id=request.pk, user=approver)

    figures = run_period(account=account, month=MONTH).period.figures

    assert figures["difference"] == "0.00"
    assert not Suggestion.objects.filter(status=SuggestionStatus.PENDING).exists()
    assert figures["unmatched_items"]["count"] == 0
    # Each write-off matched its line: nothing on the statement is unexplained.
    assert figures["unmatched_lines"]["count"] == 0
    assert figures["verdict"] == "reconciled"


def test_the_showcase_case_is_traced_to_the_bank_without_a_gap(loaded):
    _, output = loaded
    case = demo.showcase_case()

    assert case is not None
    trace = case_trace(case)
    assert trace.complete, trace.gaps
    assert {step.kind for step in trace.steps} == STEPS
    assert [s.kind for s in trace.steps].count("bank_line") == 2  # provider and vendor payout
    assert f"Showcase case {case.case_id}, traced to the bank: " in output
    assert demo.trace_path(case) in output


def test_a_second_load_is_refused_and_if_empty_names_the_showcase(loaded):
    out = io.StringIO()
    call_command("load_cash_demo", "--if-empty", stdout=out)

    assert "already loaded: nothing imported" in out.getvalue()
    assert "Showcase case " in out.getvalue()
    with pytest.raises(Exception, match="already has bank statements"):
        call_command("load_cash_demo", stdout=io.StringIO())
