"""The ledger auditor: quiet on consistent books, and each check catches the
break it is there for (made by hand, as a bug or a careless script would)."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from ledger import invariants
from ledger.models import Account, AccountBalance, AccountDay, Journal, JournalKind, Payout
from ledger.posting import JournalDraft, post_one, reverse_journal
from refunds.models import CaseEvent, Order, OrderLine, OutboxMessage, RefundCase, VendorLiability
from refunds.services.cases import (
    LineRequest,
    approve_case,
    close_case,
    complete_case,
    open_case,
    reject_case,
)
from tests.audit_plugin import build_scenario, drain_ledger
from tests.factories import (
    BY_TESTS,
    eur_payout,
    make_order,
    platform_bears_half,
    worked_refund_lines,
)

pytestmark = pytest.mark.postgres

D = Decimal


def checks_failing() -> set[str]:
    return {finding.check for finding in invariants.check_invariants()}


@pytest.fixture
def books(worked_order, acme, bolt, alice):
    """The worked example with a case in most states, a correction and a payout."""
    mug, tee = worked_order.lines.order_by("sku")
    completed = open_case(
        order=worked_order,
        lines=worked_refund_lines(worked_order),
    )
    approve_case(case=completed, actor=alice)
    complete_case(case=completed, actor=alice, gateway_reference="re_27_50")
    platform_bears_half(completed, acme, alice)
    close_case(case=completed, actor=alice)
    rejected = open_case(order=worked_order, lines=[LineRequest(tee.pk, "goodwill", amount="3")])
    reject_case(case=rejected, actor=alice, reason="No")
    pending = open_case(
        order=worked_order,
        lines=[LineRequest(mug.pk, "customer_remorse", quantity=1)],
        shipping_amount="2.00",
    )
    jpy = make_order(currency="JPY", shipping="500", lines=[(bolt, "TEE-JP", 2, "3800", "0.10")])
    drain_ledger()
    eur_payout(bolt, "30.00", date(2026, 11, 30))
    return {"completed": completed, "rejected": rejected, "pending": pending, "jpy": jpy}


def test_consistent_books_have_no_findings(books):
    assert invariants.check_invariants() == []
    assert Journal.objects.filter(kind=JournalKind.CORRECTION).count() == 1


def test_a_realistic_scenario_has_no_findings(db):
    summary = build_scenario(orders=15)
    assert summary["journals"] > 15
    assert invariants.check_invariants() == []


def test_the_command_prints_every_check_and_exits_0(books, capsys):
    call_command("check_ledger")
    out = capsys.readouterr().out
    for check in invariants.CHECKS:
        assert f"ok   {check.name}" in out
    assert f"All {len(invariants.CHECKS)} ledger checks passed." in out


def test_audit_ledger_is_check_ledger_under_its_old_name_with_a_note(books, capsys):
    call_command("audit_ledger")
    captured = capsys.readouterr()
    assert "audit_ledger is deprecated" in captured.err
    assert "use `manage.py check_ledger`" in captured.err
    assert f"All {len(invariants.CHECKS)} ledger checks passed." in captured.out
    Order.objects.filter(pk=books["jpy"].pk).update(refunded_amount=1)
    with pytest.raises(CommandError) as info:
        call_command("audit_ledger")
    assert info.value.returncode == 1


def test_the_command_exits_1_and_shows_the_findings(books, capsys):
    Order.objects.filter(pk=books["jpy"].pk).update(refunded_amount=1)
    with pytest.raises(CommandError) as info:
        call_command("check_ledger")
    assert info.value.returncode == 1
    out = capsys.readouterr().out
    assert "FAIL refund_counters" in out
    assert f"order {books['jpy'].number}: counter" in out
    assert "ok   journals_balance" in out


def test_the_command_can_drain_the_backlog_first(books, acme, capsys):
    make_order(lines=[(acme, "MUG-02", 1, "9.00", "0")])
    with pytest.raises(CommandError):
        call_command("check_ledger")
    assert "FAIL outbox_backlog" in capsys.readouterr().out
    call_command("check_ledger", "--drain")
    assert "Drained 1 ledger outbox messages." in capsys.readouterr().out


def test_the_checks_cost_a_fixed_number_of_queries(books, acme, django_assert_max_num_queries):
    # One per check, and ledger_entry's lock in a savepoint of the test's
    # transaction (ledger.detached.attached_months_held): SAVEPOINT, LOCK, RELEASE.
    queries = len(invariants.CHECKS) + 3
    with django_assert_max_num_queries(queries):
        invariants.check_invariants()
    for n in range(20):
        make_order(lines=[(acme, f"BULK-{n}", 2, "7.00", "0.10")])
    drain_ledger()
    with django_assert_max_num_queries(queries):
        assert invariants.check_invariants() == []


def test_the_findings_are_capped_and_counted(books, acme):
    orders = [make_order(lines=[(acme, f"LOST-{n}", 1, "1.00", "0")]) for n in range(4)]
    OutboxMessage.objects.filter(order__in=orders).delete()
    findings = invariants.sales_posted(limit=3)
    assert len(findings) == 4
    assert findings[-1].detail == "1 more findings not shown"


# ---------------------------------------------------------------- each check


def test_an_unbalanced_journal(books):
    with _stray_journal([("1100", "10.00", "0"), ("4000", "0", "9.00")]) as journal:
        findings = invariants.journals_balance()
    assert [f.subject for f in findings] == [f"journal {journal} (stray)"]
    assert "debits 10 and credits 9 do not balance" in findings[0].detail


def test_a_journal_short_of_its_declared_entries(books):
    with _stray_journal([("1100", "10.00", "0"), ("4000", "0", "10.00")], declared=3):
        [finding] = invariants.journals_balance()
    assert "declares 3 entries but has 2" in finding.detail


def test_an_entry_in_another_currency(books):
    with _stray_journal([("1100", "10.00", "0", "EUR"), ("4000", "0", "10.00", "JPY")]):
        [finding] = invariants.journals_balance()
    assert "1 entries in another currency than EUR" in finding.detail


def test_a_balance_that_drifted_from_its_entries(books):
    AccountBalance.objects.filter(account__code="4000", currency="EUR").update(debit=D("99"))
    assert checks_failing() == {
        "balances_match_entries",
        "days_add_up_to_balances",
        "trial_balance",
    }
    [finding] = invariants.balances_match_entries()
    assert finding.subject == "account 4000 EUR"
    assert [f.subject for f in invariants.trial_balance_nets_to_zero()] == ["trial balance EUR"]


def test_a_daily_total_that_drifted_from_its_entries(books):
    day = AccountDay.objects.filter(account__code="4000", currency="EUR").earliest("date")
    AccountDay.objects.filter(pk=day.pk).update(credit=day.credit + D("0.01"))
    assert checks_failing() == {"days_match_entries", "days_add_up_to_balances"}
    [finding] = invariants.days_match_entries()
    assert finding.subject == f"account 4000 EUR on {day.date}"
    assert finding.detail.startswith("daily total says Dr ")
    [finding] = invariants.days_add_up_to_balances()
    assert finding.subject == "account 4000 EUR"


def test_entries_without_a_daily_total(books):
    AccountDay.objects.filter(account__code="5000").delete()
    [finding] = invariants.days_match_entries()
    assert finding.detail.endswith("but no daily total")
    assert [f.subject for f in invariants.days_add_up_to_balances()] == ["account 5000 EUR"]


def test_entries_without_a_balance_row(books):
    AccountBalance.objects.filter(account__code="5000").delete()
    [finding] = invariants.balances_match_entries()
    assert finding.detail == "entries (Dr 15, Cr 0) but no balance row"


def test_a_backlog_is_reported_once_and_not_as_broken_books(books, acme, alice):
    order = make_order(lines=[(acme, "MUG-03", 2, "10.00", "0.10")])
    case = open_case(order=order, lines=[LineRequest(order.lines.get().pk, "damaged", quantity=1)])
    approve_case(case=case, actor=alice)
    complete_case(case=case, actor=alice)
    findings = invariants.check_invariants()
    assert {f.check for f in findings} == {"outbox_backlog"}
    assert findings[0].subject == "3 pending ledger messages"
    assert "leave out the 1 orders and 1 cases they concern" in findings[0].detail
    drain_ledger()
    assert invariants.check_invariants() == []


def test_failed_messages_are_reported_as_parked(books, acme):
    make_order(lines=[(acme, "MUG-04", 1, "10.00", "0")])
    OutboxMessage.objects.filter(consumer="ledger").update(failed_at="2026-11-22T10:00Z")
    [finding] = invariants.check_invariants()
    assert finding.subject == "1 failed for good (parked for staff) ledger messages"


def test_an_order_whose_sale_was_never_posted(books, acme):
    order = make_order(lines=[(acme, "MUG-05", 1, "10.00", "0")])
    OutboxMessage.objects.filter(order=order).delete()
    assert checks_failing() == {"sales_posted", "vendor_payables"}
    [finding] = invariants.sales_posted()
    assert finding.subject == f"order {order.number}"
    assert finding.detail == "has 0 sale journals, expected exactly 1"
    [payable] = invariants.vendor_payables()
    assert payable.subject == "vendor ACME EUR"


def test_an_order_posted_twice(books, worked_order):
    _post({"1100": "5.00", "4100": "-5.00"}, kind="sale", order_id=worked_order.pk)
    assert checks_failing() == {"sales_posted"}
    [finding] = invariants.sales_posted()
    assert finding.detail == "has 2 sale journals, expected exactly 1"


def test_a_payout_without_its_journal(books, acme):
    Payout.objects.create(vendor=acme, currency="EUR", amount=D("5"), paid_on=date(2026, 11, 30))
    assert checks_failing() == {"payouts_posted", "vendor_payables"}
    [finding] = invariants.payouts_posted()
    assert finding.detail == "has 0 payout journals, expected exactly 1"


def test_a_completed_case_without_its_refund_journal(books, alice):
    case = books["pending"]
    approve_case(case=case, actor=alice)
    complete_case(case=case, actor=alice)
    OutboxMessage.objects.filter(case=case).delete()
    assert checks_failing() == {
        "refunds_posted",
        "case_postings_match_liabilities",
        "vendor_payables",
    }
    [finding] = invariants.refunds_posted()
    assert finding.detail == "is completed with 0 refund journals, expected 1"


def test_a_refund_journal_for_a_case_never_completed(books):
    case = books["pending"]
    _post({"5000": "1.00", "1100": "-1.00"}, kind="refund", case_id=case.pk)
    assert checks_failing() == {"refunds_posted"}
    [finding] = invariants.refunds_posted()
    assert finding.subject == f"case {case.case_id}"
    assert finding.detail == "is pending, never completed, but has 1 journals"


def test_a_refund_journal_that_differs_from_the_completion_snapshot(books):
    case = books["completed"]
    event = case.events.get(from_status="approved", to_status="completed")
    event.data["liabilities"][0]["vendor_share"] = "17.00"
    event.data["liabilities"][0]["platform_share"] = "3.00"
    CaseEvent.objects.filter(pk=event.pk).update(data=event.data)
    assert checks_failing() == {"refund_journals_match_completion"}
    findings = {f.subject: f.detail for f in invariants.refund_journals_match_completion()}
    assert findings == {
        f"case {case.case_id} leg payable:ACME": (
            "completion snapshot says 17 EUR (net debit), the journals post 18"
        ),
        f"case {case.case_id} leg platform": (
            "completion snapshot says 6 EUR (net debit), the journals post 5"
        ),
    }


def test_liabilities_changed_after_completion_without_a_correction(books):
    case = books["completed"]
    VendorLiability.objects.filter(case=case, vendor__code="ACME").update(
        vendor_share=D("8.00"), platform_share=D("12.00")
    )
    assert checks_failing() == {"case_postings_match_liabilities", "vendor_payables"}
    legs = {f.subject.rsplit(" ", 1)[1] for f in invariants.case_postings_match_liabilities()}
    assert legs == {"payable:ACME", "platform"}
    [payable] = invariants.vendor_payables()
    assert payable.detail == (
        "payable less receivable is 27 in the ledger but sales 36 - refunds 8 - payouts 0 = 28"
    )


def test_a_reversed_refund_is_a_difference_while_the_case_stands(books):
    reverse_journal(
        Journal.objects.get(case=books["completed"], kind=JournalKind.REFUND),
        on=date(2026, 11, 30),
        posted_by=BY_TESTS,
    )
    # The credit note still says the tax went back; the books no longer do.
    assert checks_failing() == {
        "case_postings_match_liabilities",
        "vendor_payables",
        "output_tax_matches_documents",
    }


def test_a_journal_that_moves_a_payable_without_a_source(books):
    _post({"2000-BOLT": "2.00", "1000": "-2.00"}, kind="payout")
    assert checks_failing() == {"vendor_payables"}
    [finding] = invariants.vendor_payables()
    assert finding.subject == "vendor BOLT EUR"
    assert finding.detail == (
        "payable less receivable is 10.5 in the ledger but sales 42.5 - refunds 0 - payouts 30 "
        "= 12.5"
    )


def test_counters_that_disagree_with_the_cases(books, worked_order):
    mug = worked_order.lines.get(sku="MUG-01")
    OrderLine.objects.filter(pk=mug.pk).update(refunded_quantity=1)
    [finding] = invariants.refund_counters()
    assert finding.subject == f"order ORD-1001 line {mug.pk} MUG-01"
    assert finding.detail == "counter <> open and completed cases: refunded_quantity 1 <> 2"


def test_a_released_case_does_not_count(books):
    # The rejected case's 3.00 is not reserved: counting it is a finding.
    Order.objects.filter(pk=books["rejected"].order_id).update(
        refunded_amount=D("27.50") + D("24.00") + D("3.00")
    )
    [finding] = invariants.refund_counters()
    assert "refunded_amount 54.500 <> 51.500" in finding.detail


def test_a_case_whose_liabilities_do_not_add_up(books):
    case = books["pending"]
    # Still a valid row (refund = net + tax + shipping), but 1.00 of tax became net.
    VendorLiability.objects.filter(case=case).update(
        net_amount=D("21.00"), tax_amount=D("1.00"), vendor_share=D("21.00")
    )
    assert checks_failing() == {"case_breakdowns"}
    [finding] = invariants.case_breakdowns()
    assert finding.subject == f"case {case.case_id}"


def test_a_total_that_is_not_its_lines(books):
    case = books["pending"]
    RefundCase.objects.filter(pk=case.pk).update(total_refund_amount=D("1"))
    assert "case_breakdowns" in checks_failing()


# ---------------------------------------------------------------- helpers


@contextmanager
def _stray_journal(legs: list[tuple[str, ...]], *, declared: int | None = None) -> Iterator[int]:
    """A journal written with raw SQL, past posting's checks and its balances.

    PostgreSQL would refuse it at commit; rolling back to a savepoint afterwards
    drops it before Django's test teardown makes the deferred checks run.
    """
    savepoint = transaction.savepoint()
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_journal (posting_key, kind, currency, date, memo,"
                " entry_count, created_at, posted_by_process) VALUES ('stray', 'sale', 'EUR',"
                " '2026-11-22', '', %s, now(), 'script') RETURNING id",
                [declared or len(legs)],
            )
            journal = cursor.fetchone()[0]
            for code, debit, credit, *currency in legs:
                cursor.execute(
                    "INSERT INTO ledger_entry (journal_id, date, account_id, currency, debit,"
                    " credit, label) SELECT %s, '2026-11-22', id, %s, %s, %s, 'sale'"
                    " FROM ledger_account WHERE code = %s",
                    [journal, currency[0] if currency else "EUR", debit, credit, code],
                )
        yield journal
    finally:
        transaction.savepoint_rollback(savepoint)


def _post(legs: dict[str, str], *, kind: str, key: str = "stray", **links: int) -> Journal:
    """A balanced journal posted the normal way (balances kept), but with no
    source behind it. `legs` maps account codes to signed amounts (+ debit)."""
    accounts = dict(Account.objects.values_list("code", "id"))
    draft = JournalDraft(
        posting_key=key, kind=kind, currency="EUR", date=date(2026, 11, 30), **links
    )
    for code, amount in legs.items():
        draft.debit(accounts[code], D(amount))
    journal = post_one(draft, posted_by=BY_TESTS)
    assert journal is not None
    return journal
