"""Settlement statements, to the cent, from the vendor's payable account.

ACME (10% commission, weekly) sells mugs at 20.00 net: each sale credits its
payable 18.00; refunding one mug ("damaged", borne by ACME with its commission
given back) debits 18.00.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from ledger.models import (
    Account,
    AccountBalance,
    Entry,
    Journal,
    JournalKind,
    SettlementStatement,
)
from ledger.posting import reverse_journal
from ledger.selectors import trial_balance
from ledger.settlements.compute import (
    Period,
    due_periods,
    generate_due_statements,
    period_containing,
    statement_lines,
)
from ledger.settlements.exports import statement_csv, statement_pdf
from refunds import outbox
from refunds.models import CaseEvent, CaseStatus, EventKind, Order, RefundCase
from refunds.services.cases import (
    LineRequest,
    approve_case,
    complete_case,
    open_case,
)
from refunds.services.orders import OrderLineRequest, PaymentRequest, create_order
from tests.audit_plugin import drain_ledger as drain
from tests.factories import BY_TESTS, VendorFactory, eur_payout, platform_bears_half

D = Decimal
WEEK_1 = Period(date(2026, 3, 2), date(2026, 3, 8))  # Monday to Sunday
WEEK_2 = Period(date(2026, 3, 9), date(2026, 3, 15))
WEEK_3 = Period(date(2026, 3, 16), date(2026, 3, 22))
WEEK_4 = Period(date(2026, 3, 23), date(2026, 3, 29))


def moment(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@contextmanager
def at(when: datetime) -> Iterator[None]:
    """Everything in the block happens at `when`: events, journal dates, postings."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


def sell(
    vendor, day: date, mugs: int = 1, number: str | None = None, posted: datetime | None = None
) -> Order:
    with at(posted or moment(day, 9)):
        order = create_order(
            number=number or f"ORD-{vendor.code}-{day:%m%d}-{mugs}",
            currency="EUR",
            source="web",
            lines=[OrderLineRequest(vendor.code, "MUG-01", mugs, "20.00", "0.10")],
            payments=[PaymentRequest("card", str(D("22.00") * mugs))],
            placed_at=moment(day, 9),
        )
        drain()
    return order


def refund_one(order: Order, day: date, staff) -> RefundCase:
    with at(moment(day, 15)):
        line = order.lines.get()
        case = open_case(order=order, lines=[LineRequest(line.pk, "damaged", quantity=1)])
        approve_case(case=case, actor=staff)
        complete_case(case=case, actor=staff, gateway_reference="re_1")
        drain()
    return case


def pay(vendor, day: date, amount: str, reference: str):
    with at(moment(day, 10)):
        # Amounts the statements are about, owed or not (advance=True).
        return eur_payout(vendor, amount, day, reference, advance=True)


def trade_week_1(acme, bolt, staff) -> RefundCase:
    """Both vendors paid weekly. In week 1 ACME sells two mugs (ORD-A1), refunds
    one and is paid 18.00; BOLT sells one mug (ORD-B1). Returns the refund case."""
    for vendor in (acme, bolt):
        vendor.payout_frequency = "weekly"
        vendor.save()
    order = sell(acme, date(2026, 3, 3), mugs=2, number="ORD-A1")
    case = refund_one(order, date(2026, 3, 4), staff)
    pay(acme, date(2026, 3, 6), "18.00", "PO-A1")
    sell(bolt, date(2026, 3, 3), number="ORD-B1")
    return case


def generate(today: date, **kwargs):
    # Generated at 03:00 on `today`, taking everything posted until then.
    result = generate_due_statements(today, cutoff=moment(today, 3), **kwargs)
    assert result.failures == []
    return result.statements


def figures(statement: SettlementStatement) -> dict[str, Decimal | int]:
    return {
        "opening": statement.opening,
        "sales": statement.sales,
        "deductions": statement.deductions,
        "adjustments": statement.adjustments,
        "payouts": statement.payouts,
        "closing": statement.closing,
        "entries": statement.entry_count,
    }


def owed_in_ledger(vendor, as_of: date | None = None) -> Decimal:
    """What the ledger says ACME is owed: its payable's credit minus debit."""
    account = Account.objects.get(role="vendor_payable", vendor=vendor)
    if as_of is None:
        row = AccountBalance.objects.get(account=account, currency="EUR")
        return row.credit - row.debit
    rows = {r.account_id: r for r in trial_balance("EUR", as_of=as_of).rows}
    return -rows[account.pk].balance if account.pk in rows else D(0)


@pytest.fixture
def weekly_acme(acme):
    acme.payout_frequency = "weekly"
    acme.save()
    return acme


@pytest.fixture
def scenario(weekly_acme, alice):
    """Week 1: two mugs sold, one refunded, 18.00 paid out. Week 2: the second
    mug refunded after the payout. Week 3: a dispute gives back half of it
    (a correction) and one more mug is sold."""
    acme = weekly_acme
    order = sell(acme, date(2026, 3, 3), mugs=2, number="ORD-W1")
    first = refund_one(order, date(2026, 3, 5), alice)
    pay(acme, date(2026, 3, 7), "18.00", "PO-W1")
    second = refund_one(order, date(2026, 3, 10), alice)
    with at(moment(date(2026, 3, 18), 11)):
        platform_bears_half(second, acme, alice)
        drain()
    sell(acme, date(2026, 3, 19), mugs=1, number="ORD-W3")
    return {"acme": acme, "first": first, "second": second}


# ---------------------------------------------------------------- periods


def test_weekly_periods_run_monday_to_sunday():
    assert period_containing(date(2026, 3, 4), "weekly") == WEEK_1
    assert period_containing(date(2026, 3, 8), "weekly") == WEEK_1
    assert period_containing(date(2026, 3, 9), "weekly") == WEEK_2


def test_monthly_periods_are_calendar_months():
    assert period_containing(date(2026, 2, 14), "monthly") == Period(
        date(2026, 2, 1), date(2026, 2, 28)
    )
    assert period_containing(date(2028, 2, 29), "monthly").end == date(2028, 2, 29)
    assert period_containing(date(2026, 12, 31), "monthly") == Period(
        date(2026, 12, 1), date(2026, 12, 31)
    )


def test_only_periods_that_ended_are_due():
    assert due_periods(WEEK_1.start, date(2026, 3, 8), "weekly") == []
    assert due_periods(WEEK_1.start, date(2026, 3, 9), "weekly") == [WEEK_1]
    assert due_periods(WEEK_1.start, date(2026, 3, 23), "weekly") == [WEEK_1, WEEK_2, WEEK_3]


def test_after_a_change_of_frequency_the_first_period_is_short():
    # Weekly statements ran to Sunday 8 March; the vendor is monthly now.
    assert due_periods(date(2026, 3, 9), date(2026, 5, 1), "monthly") == [
        Period(date(2026, 3, 9), date(2026, 3, 31)),
        Period(date(2026, 4, 1), date(2026, 4, 30)),
    ]


# ---------------------------------------------------------------- figures


def test_statements_week_by_week(scenario):
    acme = scenario["acme"]
    [week_1] = generate(date(2026, 3, 9))
    assert (week_1.period_start, week_1.period_end) == (WEEK_1.start, WEEK_1.end)
    assert figures(week_1) == {
        "opening": D("0.00"),
        "sales": D("36.00"),
        "deductions": D("18.00"),
        "adjustments": D("0.00"),
        "payouts": D("18.00"),
        "closing": D("0.00"),
        "entries": 3,
    }

    [week_2] = generate(date(2026, 3, 16))
    # The refund that landed after ACME was paid is deducted now, and the
    # balance goes negative: carried forward, not lost and not paid out.
    assert figures(week_2) == {
        "opening": D("0.00"),
        "sales": D("0.00"),
        "deductions": D("18.00"),
        "adjustments": D("0.00"),
        "payouts": D("0.00"),
        "closing": D("-18.00"),
        "entries": 1,
    }
    assert week_2.previous == week_1

    [week_3] = generate(date(2026, 3, 23))
    assert figures(week_3) == {
        "opening": D("-18.00"),
        "sales": D("18.00"),
        "deductions": D("0.00"),
        "adjustments": D("9.00"),
        "payouts": D("0.00"),
        "closing": D("9.00"),
        "entries": 2,
    }
    for statement in (week_1, week_2, week_3):
        assert statement.closing == owed_in_ledger(acme, as_of=statement.period_end)
    assert week_3.closing == owed_in_ledger(acme)


def test_refund_deductions_are_listed_line_by_line_with_their_case_ids(scenario):
    generate(date(2026, 3, 23))
    week_1, week_2, week_3 = SettlementStatement.objects.order_by("period_start")
    assert [(line.label, line.reference, line.amount) for line in statement_lines(week_1)] == [
        ("Sale", "ORD-W1", D("36.00")),
        ("Refund deduction", scenario["first"].case_id, D("-18.00")),
        ("Payout", "PO-W1", D("-18.00")),
    ]
    [deduction] = statement_lines(week_2)
    assert deduction.case_id == scenario["second"].case_id
    assert deduction.date == date(2026, 3, 10)
    assert [(line.label, line.reference, line.amount) for line in statement_lines(week_3)] == [
        ("Adjustment (dispute correction)", scenario["second"].case_id, D("9.00")),
        ("Sale", "ORD-W3", D("18.00")),
    ]


def test_catching_up_makes_the_same_statements_as_running_every_week(scenario):
    made = generate(date(2026, 3, 25))
    assert [(s.period_start, s.closing) for s in made] == [
        (WEEK_1.start, D("0.00")),
        (WEEK_2.start, D("-18.00")),
        (WEEK_3.start, D("9.00")),
    ]
    assert [s.opening for s in made] == [D("0.00"), D("0.00"), D("-18.00")]


def test_generation_is_idempotent(scenario):
    assert len(generate(date(2026, 3, 23))) == 3
    assert generate(date(2026, 3, 23)) == []
    assert generate(date(2026, 3, 24)) == []
    assert SettlementStatement.objects.count() == 3


def test_a_negative_balance_is_carried_forward_through_quiet_weeks(weekly_acme, alice):
    order = sell(weekly_acme, date(2026, 3, 3), mugs=1)
    pay(weekly_acme, date(2026, 3, 6), "18.00", "PO-1")
    refund_one(order, date(2026, 3, 10), alice)
    made = generate(date(2026, 3, 30))
    # Weeks 3 and 4 see no entry, but ACME still owes 18.00: each says so.
    assert [(s.period_start, s.opening, s.closing, s.entry_count) for s in made] == [
        (WEEK_1.start, D("0.00"), D("0.00"), 2),
        (WEEK_2.start, D("0.00"), D("-18.00"), 1),
        (WEEK_3.start, D("-18.00"), D("-18.00"), 0),
        (WEEK_4.start, D("-18.00"), D("-18.00"), 0),
    ]
    # A sale in week 5 is set off against it: nothing is owed either way.
    sell(weekly_acme, date(2026, 4, 1), mugs=1)
    [week_5] = generate(date(2026, 4, 6))
    assert (week_5.opening, week_5.sales, week_5.closing) == (D("-18.00"), D("18.00"), D("0.00"))


def test_an_entry_posted_after_its_period_was_stated_goes_to_the_next_statement(scenario):
    generate(date(2026, 3, 23))
    week_2 = SettlementStatement.objects.get(period_start=WEEK_2.start)
    # On 24 March staff find the 7 March payout bounced and reverse it, dated
    # 14 March: week 2 was already stated.
    payout_journal = Journal.objects.get(kind=JournalKind.PAYOUT)
    with at(moment(date(2026, 3, 24), 10)):
        reverse_journal(
            payout_journal, on=date(2026, 3, 14), memo="Payout PO-W1 bounced", posted_by=BY_TESTS
        )
        drain()

    [week_4] = generate(date(2026, 3, 30))
    assert figures(week_4) == {
        "opening": D("9.00"),
        "sales": D("0.00"),
        "deductions": D("0.00"),
        "adjustments": D("18.00"),
        "payouts": D("0.00"),
        "closing": D("27.00"),
        "entries": 1,
    }
    [late] = statement_lines(week_4)
    assert (late.date, late.late, late.reference) == (date(2026, 3, 14), True, "PO-W1")
    # What was stated stays stated.
    week_2.refresh_from_db()
    assert week_2.closing == D("-18.00")
    assert [line.reference for line in statement_lines(week_2)] == [scenario["second"].case_id]
    assert week_4.closing == owed_in_ledger(scenario["acme"]) == D("27.00")


def test_a_monthly_vendor_gets_one_statement_for_the_month(scenario):
    acme = scenario["acme"]
    acme.payout_frequency = "monthly"
    acme.save()
    assert generate(date(2026, 3, 31)) == []
    [march] = generate(date(2026, 4, 1))
    assert (march.period_start, march.period_end, march.frequency) == (
        date(2026, 3, 1),
        date(2026, 3, 31),
        "monthly",
    )
    assert figures(march) == {
        "opening": D("0.00"),
        "sales": D("54.00"),
        "deductions": D("36.00"),
        "adjustments": D("9.00"),
        "payouts": D("18.00"),
        "closing": D("9.00"),
        "entries": 6,
    }


def test_one_statement_per_currency(weekly_acme, alice):
    sell(weekly_acme, date(2026, 3, 3))
    with at(moment(date(2026, 3, 4), 9)):
        create_order(
            number="ORD-GBP",
            currency="GBP",
            source="web",
            lines=[OrderLineRequest("ACME", "MUG-01", 1, "10.00", "0")],
            payments=[PaymentRequest("card", "10.00")],
            placed_at=moment(date(2026, 3, 4), 9),
        )
        drain()
    made = generate(date(2026, 3, 9))
    assert sorted((s.currency, s.sales) for s in made) == [("EUR", D("18.00")), ("GBP", D("9.00"))]


def test_vendors_without_entries_and_quiet_periods_get_no_statement(weekly_acme, bolt):
    sell(weekly_acme, date(2026, 3, 3))
    pay(weekly_acme, date(2026, 3, 4), "18.00", "PO-1")
    made = generate(date(2026, 3, 30))
    # Week 1 balances to zero; weeks 2 to 4 have nothing to say.
    assert [(s.vendor_id, s.period_start) for s in made] == [(weekly_acme.pk, WEEK_1.start)]


# ---------------------------------------------------------------- exports


def test_the_csv_lists_every_line_with_its_case_id_and_running_balance(scenario):
    generate(date(2026, 3, 23))
    week_1 = SettlementStatement.objects.get(period_start=WEEK_1.start)
    rows = list(csv.DictReader(io.StringIO("".join(statement_csv(week_1)))))
    assert [(r["Type"], r["Case ID"], r["Amount"], r["Balance"]) for r in rows] == [
        ("Opening balance", "", "", "0.00"),
        ("Sale", "", "36.00", "36.00"),
        ("Refund deduction", scenario["first"].case_id, "-18.00", "18.00"),
        ("Payout", "", "-18.00", "0.00"),
        ("Closing balance", "", "", "0.00"),
    ]
    assert rows[1]["Order number"] == "ORD-W1"
    assert rows[3]["Payout reference"] == "PO-W1"


def test_the_pdf_is_a_pdf(scenario):
    generate(date(2026, 3, 16))
    week_2 = SettlementStatement.objects.get(period_start=WEEK_2.start)
    pdf = statement_pdf(week_2)
    assert pdf.startswith(b"%PDF")
    assert pdf == statement_pdf(week_2)  # deterministic


# ---------------------------------------------------------------- on demand


def test_the_command_generates_on_demand(scenario):
    out = io.StringIO()
    call_command("generate_statements", "--date", "2026-03-16", "--vendor", "ACME", stdout=out)
    assert "2 statements" in out.getvalue()
    assert SettlementStatement.objects.count() == 2
    out = io.StringIO()
    call_command("generate_statements", "--date", "2026-03-16", stdout=out)
    assert "0 statements" in out.getvalue()


def test_entries_of_the_last_minutes_wait_unless_all_posted_is_asked(acme):
    acme.payout_frequency = "weekly"
    acme.save()
    sell(acme, date(2026, 3, 3), posted=moment(date(2026, 3, 10), 3))
    just_after = moment(date(2026, 3, 10), 3) + timedelta(minutes=1)
    out = io.StringIO()
    with at(just_after):
        call_command("generate_statements", "--date", "2026-03-10", stdout=out)
        assert "0 statements" in out.getvalue()
        call_command("generate_statements", "--date", "2026-03-10", "--all-posted", stdout=out)
    statement = SettlementStatement.objects.get(vendor=acme)
    assert (statement.sales, statement.closing) == (D("18.00"), D("18.00"))
    assert "closing 18.00\n" in out.getvalue()


# ---------------------------------------------------------------- the demo data


@pytest.mark.postgres
def test_closing_balances_equal_the_ledger_after_the_demo_data(db):
    from refunds import demo

    demo.load_demo(orders=60, seed=7, today=date(2025, 7, 1))
    # The demo posts nothing: post its sales and completed refunds as the
    # outbox would have, and pay some vendors out.
    completed = CaseEvent.objects.filter(
        kind=EventKind.STATUS_CHANGED, to_status=CaseStatus.COMPLETED
    ).select_related("case")
    outbox.emit_many(
        [("order.paid", order, None, None) for order in Order.objects.all()]
        + [("case.status_changed", None, event.case, event) for event in completed]
    )
    drain()
    assert Journal.objects.filter(kind=JournalKind.REFUND).exists()
    payables = Account.objects.filter(role="vendor_payable").select_related("vendor")
    for account in payables[:3]:
        pay(account.vendor, date(2025, 3, 3), "25.00", f"PO-{account.vendor.code}")
    VendorFactory(code="QUIET")  # no entries at all

    result = generate_due_statements(date(2025, 7, 1), cutoff=timezone.now())
    assert result.failures == []
    statements = list(SettlementStatement.objects.select_related("account"))
    assert statements
    by_currency: dict[str, dict[int, Decimal]] = {}
    for statement in statements:
        as_of = statement.period_end
        if as_of not in by_currency.setdefault(statement.currency, {}):
            rows = trial_balance(statement.currency, as_of=as_of).rows
            by_currency[statement.currency][as_of] = {r.account_id: -r.balance for r in rows}
        owed = by_currency[statement.currency][as_of].get(statement.account_id, D(0))
        assert statement.closing == owed, statement
    # Every payable's latest statement closes at today's balance less what is
    # dated after its period (the days of a period that has not ended yet).
    for balance in AccountBalance.objects.filter(account__role="vendor_payable"):
        latest = (
            SettlementStatement.objects.filter(
                account_id=balance.account_id, currency=balance.currency
            )
            .order_by("-period_end")
            .first()
        )
        assert latest is not None
        after = Entry.objects.filter(
            account_id=balance.account_id,
            currency=balance.currency,
            journal__date__gt=latest.period_end,
        ).aggregate(debit=Sum("debit", default=D(0)), credit=Sum("credit", default=D(0)))
        assert latest.closing + after["credit"] - after["debit"] == balance.credit - balance.debit
        # Statements chain: each opening is the previous closing.
        chain = SettlementStatement.objects.filter(
            account_id=balance.account_id, currency=balance.currency
        ).order_by("period_start")
        closings = [D(0)] + [s.closing for s in chain]
        assert [s.opening for s in chain] == closings[:-1]


def test_a_ledger_that_does_not_add_up_stores_nothing(scenario):
    # Tamper with the maintained balance (as a bug or a manual edit would).
    AccountBalance.objects.filter(account__vendor=scenario["acme"]).update(
        credit=AccountBalance.objects.get(account__vendor=scenario["acme"]).credit + 1
    )
    result = generate_due_statements(date(2026, 3, 23), cutoff=moment(date(2026, 3, 23), 3))
    assert [(v, c) for v, c, _ in result.failures] == [(scenario["acme"].pk, "EUR")]
    assert result.statements == []
    assert not SettlementStatement.objects.exists()


def test_the_cutoff_leaves_entries_posted_later_to_the_next_statement(scenario):
    # Week 1 is stated on 9 March at 03:00. A sale of Sunday 8 March reaches
    # the ledger at 04:00 (the outbox was slow): it is in week 2, marked late.
    generate(date(2026, 3, 9))
    sell(
        scenario["acme"],
        date(2026, 3, 8),
        number="ORD-SUNDAY",
        posted=moment(date(2026, 3, 9), 4),
    )
    week_1 = SettlementStatement.objects.get(period_start=WEEK_1.start)
    assert "ORD-SUNDAY" not in [line.reference for line in statement_lines(week_1)]
    generate(date(2026, 3, 16))
    week_2 = SettlementStatement.objects.get(period_start=WEEK_2.start)
    assert [(line.reference, line.late) for line in statement_lines(week_2)] == [
        ("ORD-SUNDAY", True),
        (scenario["second"].case_id, False),
    ]
    assert (week_2.opening, week_2.sales) == (week_1.closing, D("18.00"))
    assert week_2.closing == owed_in_ledger(scenario["acme"], as_of=WEEK_2.end) == D("0.00")


def test_an_entry_committed_after_its_statement_was_cut_is_refused_loudly(scenario):
    """A sale stamped 02:00 (before the 03:00 cutoff of week 1's statement) that
    only commits after the statement was made is in no statement: the next run
    must say so, not fold it silently into week 2's opening balance."""
    generate(date(2026, 3, 9))
    sell(
        scenario["acme"],
        date(2026, 3, 8),
        number="ORD-STALLED",
        posted=moment(date(2026, 3, 9), 2),
    )
    result = generate_due_statements(date(2026, 3, 16), cutoff=moment(date(2026, 3, 16), 3))
    assert result.statements == []
    [(vendor_id, currency, error)] = result.failures
    assert (vendor_id, currency) == (scenario["acme"].pk, "EUR")
    assert "closed at" in error and "committed after it was made" in error
