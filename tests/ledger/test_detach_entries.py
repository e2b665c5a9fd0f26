"""Detaching closed months of ledger_entry (refunds.partitions, rule
ledger.partitions.entries_kept, ledger.detached): every read that adds up the
entries from the first month gives the same answer before and after, reads
of a detached month's entries say so, and a month is kept (with the reason)
while detaching it would change an answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.models import F

from cash.services.periods import period_figures
from ledger.closing import PeriodError, close_period, reopen_period
from ledger.detached import EntriesDetachedError, first_attached_day
from ledger.exports import export_lines
from ledger.invariants import check_invariants
from ledger.models import (
    CarriedDebit,
    DetachedCaseJournals,
    DetachedCaseLeg,
    DetachedJournalMonth,
    DetachedMonth,
    DetachedSource,
    Entry,
    Journal,
    JournalKind,
    Payout,
    SettlementStatement,
)
from ledger.partitions import entries_detached
from ledger.posting import reverse_journal
from ledger.receivables import payable_debits_at
from ledger.reports.aging import customer_aging, vendor_aging
from ledger.reports.tax import tax_report
from ledger.selectors import trial_balance
from ledger.settlements.compute import generate_due_statements, statement_page
from refunds.models import Order, OutboxMessage, RefundCase
from refunds.partitions import create_ahead, detach, monthly_partitions
from refunds.services.cases import LineRequest, approve_case, complete_case, open_case
from refunds.services.orders import OrderLineRequest, PaymentRequest, create_order
from tests.api.conftest import client_for
from tests.audit_plugin import drain_ledger as drain
from tests.factories import BY_TESTS, StaffFactory, eur_payout, main_eur_bank_account

pytestmark = [pytest.mark.postgres]

D = Decimal
ENTRIES = "ledger_entry"
JAN, FEB, MAR, APR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)
JAN_END, FEB_END, MAR_END = date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)


def moment(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@contextmanager
def at(when: datetime) -> Iterator[None]:
    """Everything in the block happens at `when`: events, journal dates, postings."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


def sell(vendor, day: date, mugs: int = 1, posted: datetime | None = None) -> Order:
    with at(posted or moment(day, 9)):
        order = create_order(
            number=f"ORD-{vendor.code}-{day:%m%d}-{mugs}",
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
        return eur_payout(vendor, amount, day, reference, advance=True)


def generate(today: date) -> list[SettlementStatement]:
    with at(moment(today, 3)):
        result = generate_due_statements(today, cutoff=moment(today, 3))
    assert result.failures == []
    return result.statements


def close(month: date, user, today: date) -> None:
    with at(moment(today, 8)):
        close_period(month=month, user=user, process="test", today=today)


@pytest.fixture
def months_2024():
    """ledger_entry's months January to May 2024, dropped after the test
    (attached or detached: a transactional test's flush keeps tables)."""
    create_ahead(4, today=JAN, tables=[ENTRIES])
    yield
    with connection.cursor() as cursor:
        for month in range(1, 6):
            cursor.execute(f"DROP TABLE IF EXISTS ledger_entry_y2024m{month:02d}")


@pytest.fixture
def books(months_2024, acme, bolt, alice):
    """ACME (weekly) and BOLT (monthly) trade from January to March 2024 with
    refunds, advances (debit balances a close moves to receivables), a
    reversal dated back into a stated week, an item of January posted after
    January closed (dated 1 February), and statements generated as they fall
    due. January and February are closed; March is open."""
    acme.payout_frequency = "weekly"
    acme.save()
    bolt.payout_frequency = "monthly"
    bolt.save()
    # January.
    mugs = sell(acme, date(2024, 1, 9), mugs=2)
    refund_one(mugs, date(2024, 1, 10), alice)
    pay(acme, date(2024, 1, 12), "60.00", "PO-A1")
    tees = sell(bolt, date(2024, 1, 15), mugs=3)
    sale = sell(acme, date(2024, 1, 16), mugs=4)
    generate(date(2024, 2, 1))
    # 3 February: the 16 January sale is reversed, dated 20 January (a week
    # already stated: a late line of the next statement).
    with at(moment(date(2024, 2, 3), 10)):
        reverse_journal(
            Journal.objects.get(kind=JournalKind.SALE, order=sale),
            on=date(2024, 1, 20),
            memo="Sale reversed",
            posted_by=BY_TESTS,
        )
        drain()
    sell(bolt, date(2024, 1, 30), posted=moment(date(2024, 2, 2), 9))
    generate(date(2024, 2, 5))
    close(JAN, alice, date(2024, 2, 6))
    # February, and a January item posted after January closed.
    sell(acme, date(2024, 2, 7), mugs=3)
    sell(acme, date(2024, 1, 31), posted=moment(date(2024, 2, 9), 9))
    refund_one(tees, date(2024, 2, 12), alice)
    pay(acme, date(2024, 2, 20), "30.00", "PO-A2")
    sell(bolt, date(2024, 2, 22), mugs=2)
    generate(date(2024, 3, 1))
    generate(date(2024, 3, 4))
    close(FEB, alice, date(2024, 3, 5))
    # March.
    sell(acme, date(2024, 3, 5), mugs=2)
    pay(bolt, date(2024, 3, 8), "200.00", "PO-B1")
    later = sell(acme, date(2024, 3, 12), mugs=1)
    generate(date(2024, 3, 18))
    refund_one(later, date(2024, 3, 19), alice)
    sell(bolt, date(2024, 3, 20), mugs=1)
    return {"acme": acme, "bolt": bolt, "bank": main_eur_bank_account()}


# Balances at any day; aging (which needs the debits, not only the balance)
# at the detached months' last days and from the first attached one on.
DAYS = (date(2024, 1, 15), JAN_END, date(2024, 2, 10), FEB_END, MAR_END, date(2024, 4, 30))
AGING_DAYS = (JAN_END, FEB_END, date(2024, 3, 1), date(2024, 3, 10), MAR_END, date(2024, 6, 30))


def reads(books: dict[str, Any]) -> dict[str, Any]:
    """Every read that adds up entries from the first month, at days in and
    after the months to be detached."""
    found: dict[str, Any] = {}
    for day in DAYS:
        found[f"payable debits {day}"] = payable_debits_at(day)
        found[f"trial balance {day}"] = trial_balance("EUR", as_of=day).rows
    for day in AGING_DAYS:
        found[f"vendor aging {day}"] = vendor_aging(at=day, convert=False).rows
        found[f"customer aging {day}"] = customer_aging(at=day, convert=False).rows
    for month in (JAN, FEB, MAR):
        figures = period_figures(books["bank"], month)
        found[f"reconciliation {month}"] = figures
    found["tax report"] = tax_report(date_from=JAN, date_to=MAR_END, convert=False).rows
    found["tax report March"] = tax_report(date_from=MAR, date_to=MAR_END, convert=False).rows
    found["trial balance now"] = trial_balance("EUR").rows
    for statement in SettlementStatement.objects.filter(period_start__gte=MAR):
        found[f"statement {statement.pk} lines"] = statement_page(statement, 0, 1000)
    found["check_ledger"] = check_invariants()
    return found


def next_statements() -> list[tuple]:
    return [
        (
            s.vendor_id,
            s.period_start,
            s.period_end,
            s.opening,
            s.sales,
            s.deductions,
            s.adjustments,
            s.payouts,
            s.closing,
            s.entry_count,
        )
        for s in generate(APR)
    ]


def simulated_next_statements() -> list[tuple]:
    """What generating on 1 April makes, rolled back."""
    with transaction.atomic():
        made = next_statements()
        transaction.set_rollback(True)
    return made


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_detaching_closed_months_changes_no_read(books, alice):
    before = reads(books)
    # The sale reversed while its order stands (and its invoice) is the books'
    # only difference from their sources, in January (the same after the
    # detach: check_ledger is a read too).
    assert {(f.check, f.subject) for f in before["check_ledger"]} == {
        ("vendor_payables", "vendor ACME EUR"),
        ("output_tax_matches_documents", "output tax VAT-10 EUR 2024-01"),
    }, before["check_ledger"]
    assert before["payable debits 2024-03-31"]  # BOLT's advance
    assert any(row["total"] for row in before["vendor aging 2024-01-31"])
    assert any(row["days_31_60"] for row in before["customer aging 2024-03-10"])
    assert any(row["days_0_30"] for row in before["customer aging 2024-01-31"])
    assert vendor_aging(at=date(2024, 2, 10), convert=False).rows
    statements = simulated_next_statements()
    assert statements
    january_statement = SettlementStatement.objects.filter(period_end__lt=FEB).first()
    assert statement_page(january_statement, 0, 1000)

    verdicts = {v.month.start: v for v in detach(1, tables=[ENTRIES])}

    assert verdicts[JAN].reason == "" and verdicts[FEB].reason == ""
    assert verdicts[MAR].reason == "2024-03 is not a closed accounting period"
    assert entries_detached(JAN) and entries_detached(FEB)
    assert first_attached_day() == MAR
    assert not Entry.objects.filter(date__lt=MAR).exists()
    assert list(DetachedMonth.objects.values_list("month", flat=True)) == [JAN, FEB]
    # What the reads take in place of the detached entries was recorded.
    assert CarriedDebit.objects.filter(day=FEB_END).exists()
    assert DetachedCaseLeg.objects.filter(month=JAN).exists()
    assert any(row["days_over_90"] for row in before["customer aging 2024-06-30"])

    after = reads(books)
    assert after.keys() == before.keys()
    for key, value in before.items():
        assert after[key] == value, key
    assert next_statements() == statements

    # Reads of the detached entries themselves say so.
    with pytest.raises(EntriesDetachedError):
        vendor_aging(at=date(2024, 2, 10), convert=False)
    with pytest.raises(EntriesDetachedError):
        statement_page(january_statement, 0, 1000)
    with pytest.raises(ValueError, match="detached"):
        export_lines("journal", JAN, MAR_END)
    assert list(export_lines("journal", MAR, MAR_END))

    # February, the latest closed month, cannot reopen any more.
    with pytest.raises(PeriodError, match="detached"):
        with at(moment(date(2024, 4, 1))):
            reopen_period(month=FEB, user=alice, process="test", reason="a late invoice")

    # The next close reclassifies from the daily totals: BOLT's advance.
    close(MAR, alice, date(2024, 4, 2))
    moved = Journal.objects.filter(kind=JournalKind.RECLASSIFICATION, date=MAR_END)
    assert [(j.entries.get(debit__gt=0).debit, j.currency) for j in moved.order_by("id")] == [
        (d.amount, d.currency) for d in before["payable debits 2024-03-31"]
    ]
    assert check_invariants() == before["check_ledger"]


class Forgetful(dict):
    """A memory of verified months that keeps nothing."""

    def __setitem__(self, key: str, value: Any) -> None:
        pass


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_closed_month_stays_until_its_statements_are_generated(
    months_2024, acme, alice, monkeypatch
):
    acme.payout_frequency = "monthly"
    acme.save()
    sell(acme, date(2024, 1, 9), mugs=2)
    # A January sale posted on 2 February: after January's statement is cut
    # (1 February, below), so a late line of February's.
    sell(acme, date(2024, 1, 31), posted=moment(date(2024, 2, 2), 9))
    close(JAN, alice, date(2024, 2, 6))
    sell(acme, date(2024, 2, 9), mugs=1)
    close(FEB, alice, date(2024, 3, 6))

    verdicts = {v.month.start: v for v in detach(1, tables=[ENTRIES])}
    assert "vendor payable 2000-ACME EUR" in verdicts[JAN].reason
    assert "generate them first" in verdicts[JAN].reason
    assert verdicts[FEB].reason.startswith("an earlier month is still attached")
    assert not entries_detached(JAN) and first_attached_day() is None

    generate(date(2024, 2, 1))
    verdicts = {v.month.start: v for v in detach(1, dry_run=True, tables=[ENTRIES])}
    assert "generate them first" in verdicts[JAN].reason  # the late sale is in none
    assert not entries_detached(JAN)

    generate(date(2024, 3, 1))
    # As if each period had been reopened and closed again between the two
    # asks of the rule: under the lock it checks the month again.
    monkeypatch.setattr("ledger.detached._VERIFIED", Forgetful())
    verdicts = {v.month.start: v for v in detach(1, tables=[ENTRIES])}
    assert (verdicts[JAN].reason, verdicts[FEB].reason) == ("", "")
    assert first_attached_day() == MAR
    assert check_invariants() == []
    # A detached month's daily totals are held to what its detach recorded.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_accountday SET debit = debit + 1 WHERE date = %s", [date(2024, 1, 9)]
        )
    assert "detached_months" in {f.check for f in check_invariants()}
    # February's statement carries January's late sale: archived with it.
    february = SettlementStatement.objects.get(period_start=FEB)
    with pytest.raises(EntriesDetachedError):
        statement_page(february, 0, 100)
    # The API says so before it streams anything: a 410 problem, CSV and PDF.
    api = client_for(StaffFactory(username="fiona"))
    for kind in ("csv", "pdf"):
        answer = api.get(f"/api/v1/settlement-statements/{february.pk}/{kind}/")
        assert answer.status_code == 410, answer.content
        assert answer.json()["code"] == "statement_archived"
    with pytest.raises(PeriodError, match="detached"):
        with at(moment(date(2024, 3, 9))):
            reopen_period(month=FEB, user=alice, process="test", reason="a late invoice")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_month_detached_by_hand_before_it_keeps_the_later_ones(months_2024, acme, alice):
    acme.payout_frequency = "monthly"
    acme.save()
    sell(acme, date(2024, 1, 9))
    close(JAN, alice, date(2024, 2, 6))
    sell(acme, date(2024, 2, 9))
    close(FEB, alice, date(2024, 3, 6))
    generate(date(2024, 3, 1))
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_entry DETACH PARTITION ledger_entry_y2024m01")
    try:
        verdicts = {v.month.start: v for v in detach(1, dry_run=True, tables=[ENTRIES])}
        assert verdicts[FEB].reason.startswith(
            "2024-01 has entries but is neither attached nor recorded as detached"
        ), verdicts[FEB].reason
        assert first_attached_day() is None
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE ledger_entry ATTACH PARTITION ledger_entry_y2024m01 "
                "FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')"
            )


# ---------------------------------------------------------------- journals months

JOURNALS = "ledger_journal"


@pytest.fixture
def journal_months_2024(months_2024):
    """ledger_journal's months January to May 2024 too, gone after the test
    (emptied as the flush would, then detached and dropped)."""
    create_ahead(4, today=JAN, tables=[JOURNALS])
    yield
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE ledger_journal CASCADE")
        attached = {m.name for m in monthly_partitions(JOURNALS)}
        for month in range(1, 6):
            name = f"ledger_journal_y2024m{month:02d}"
            if name in attached:
                cursor.execute(f"ALTER TABLE ledger_journal DETACH PARTITION {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


def findings_of(check: str) -> list[str]:
    return [f"{f.subject}: {f.detail}" for f in check_invariants() if f.check == check]


@contextmanager
def tampered() -> Iterator[None]:
    """The block's changes, rolled back after it."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_journals_month_goes_after_its_entries_and_check_ledger_stays_exact(
    journal_months_2024, books, alice
):
    close(MAR, alice, date(2024, 4, 2))
    before = check_invariants()
    assert {(f.check, f.subject) for f in before} == {
        ("vendor_payables", "vendor ACME EUR"),
        ("output_tax_matches_documents", "output tax VAT-10 EUR 2024-01"),
    }, before
    # Journals before their entries: refused.
    verdicts = {v.month.start: v for v in detach(1, dry_run=True, tables=[JOURNALS])}
    assert verdicts[FEB].reason == (
        "its entries month ledger_entry_y2024m02 is attached: entries go first"
    )

    verdicts = {v.month.name: v for v in detach(1, tables=[ENTRIES, JOURNALS])}

    assert (verdicts["ledger_entry_y2024m01"].reason, verdicts["ledger_entry_y2024m02"].reason) == (
        "",
        "",
    )
    assert "generate them first" in verdicts["ledger_entry_y2024m03"].reason
    # January's sale reversed on 20 January points into January: it stays
    # (PostgreSQL would refuse too); February goes all the same (journals
    # months need not go in order: the checks read each one's record).
    assert verdicts["ledger_journal_y2024m01"].reason == (
        "rows of ledger_journal still point at its journals"
    )
    assert verdicts["ledger_journal_y2024m02"].reason == ""
    assert verdicts["ledger_journal_y2024m03"].reason == (
        "its entries month ledger_entry_y2024m03 is attached: entries go first"
    )
    assert [m.start for m in monthly_partitions(JOURNALS) if m.start < APR] == [JAN, MAR]
    assert not Journal.objects.filter(date__gte=FEB, date__lt=MAR).exists()
    february = DetachedJournalMonth.objects.get(month=FEB)
    assert (february.journals, february.entries) == (
        DetachedMonth.objects.get(month=FEB).journals,
        DetachedMonth.objects.get(month=FEB).entries,
    )
    assert set(DetachedSource.objects.filter(month=FEB).values_list("kind", "journals")) == {
        ("sale", 3),
        ("payout", 1),
    }
    tees = RefundCase.objects.get(order__number="ORD-BOLT-0115-3")
    assert DetachedCaseJournals.objects.filter(month=FEB, case_id=tees.pk, refunds=1).exists()

    # check_ledger says what it said before, from the records.
    assert check_invariants() == before

    # Then the books change behind the records, and check_ledger finds it.
    with tampered():  # an order of a detached journals month captured more
        Order.objects.filter(number="ORD-ACME-0207-3").update(
            captured_amount=F("captured_amount") + 1
        )
        assert findings_of("sales_posted") == [
            AnyString("orders EUR of detached journals months: 3 without an attached journal")
        ]
    with tampered():  # an order whose sale journal is nowhere
        with at(moment(date(2024, 4, 3), 9)):
            order = create_order(
                number="ORD-LOST",
                currency="EUR",
                source="web",
                lines=[OrderLineRequest(books["acme"].code, "MUG-01", 1, "20.00", "0.10")],
                payments=[PaymentRequest("card", "22.00")],
                placed_at=moment(date(2024, 4, 3), 9),
            )
        OutboxMessage.objects.filter(consumer="ledger", order=order).delete()
        found = findings_of("sales_posted")
        assert len(found) == 1 and "difference 1 orders, 22 EUR" in found[0], found
    with tampered():  # a payout of a detached journals month changed
        Payout.objects.filter(reference="PO-A2").update(amount=F("amount") + 5)
        found = findings_of("payouts_posted")
        assert len(found) == 1 and "difference 0 payouts, 5 EUR" in found[0], found
    with tampered():  # a second refund journal recorded for a case
        DetachedCaseJournals.objects.create(month=JAN, case_id=tees.pk, refunds=1, journals=1)
        assert findings_of("refunds_posted") == [
            f"case {tees.case_id}: is completed with 2 refund journals, expected 1"
        ]
    with tampered():  # a record of sources with no journals behind it
        DetachedSource.objects.create(
            month=JAN, kind="payout", currency="EUR", journals=1, amount=D("5"), source_ids=0
        )
        assert {f.check for f in check_invariants()} - {f.check for f in before} == {
            "detached_months",
            "payouts_posted",
        }
    with tampered():  # the completed case's refund journal is nowhere
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE ledger_detachedcasejournals DISABLE TRIGGER USER;"
                "DELETE FROM ledger_detachedcasejournals WHERE case_id = %s;"
                "ALTER TABLE ledger_detachedcasejournals ENABLE TRIGGER USER",
                [tees.pk],
            )
        assert findings_of("refunds_posted") == [
            f"case {tees.case_id}: is completed with 0 refund journals, expected 1"
        ]
    assert check_invariants() == before


def order_placed(vendor, number: str, placed: date, created: date) -> Order:
    """An order placed on `placed`, created (its sale message in the outbox) on
    `created`, not posted."""
    with at(moment(created, 9)):
        return create_order(
            number=number,
            currency="EUR",
            source="web",
            lines=[OrderLineRequest(vendor.code, "MUG-01", 1, "20.00", "0.10")],
            payments=[PaymentRequest("card", "22.00")],
            placed_at=moment(placed, 9),
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_lost_sale_journal_shows_whatever_orders_await_posting(journal_months_2024, books, alice):
    """The orders with no attached journal are compared with the detached
    journals months' records even while orders await posting: only those
    placed after the last detached journals month are left out (their
    journal cannot be in one); a pending order placed before counts."""
    close(MAR, alice, date(2024, 4, 2))
    detach(1, tables=[ENTRIES, JOURNALS])
    assert list(DetachedJournalMonth.objects.values_list("next_month", flat=True)) == [MAR]
    assert findings_of("sales_posted") == []
    acme = books["acme"]

    with tampered():
        # Orders of an open month await posting, one parked as failed: no finding.
        waiting = order_placed(acme, "ORD-WAITING", date(2024, 4, 3), date(2024, 4, 3))
        parked = order_placed(acme, "ORD-PARKED", date(2024, 3, 30), date(2024, 4, 1))
        OutboxMessage.objects.filter(consumer="ledger", order=parked).update(
            attempts=5, failed_at=moment(date(2024, 4, 1)), last_error="boom"
        )
        assert (
            OutboxMessage.objects.filter(consumer="ledger", order__in=[waiting, parked]).count()
            == 2
        )
        assert findings_of("sales_posted") == []
        # Meanwhile an order of the detached February lost its sale journal
        # (its message gone, no journal anywhere): found all the same.
        lost = order_placed(acme, "ORD-LOST", date(2024, 2, 10), date(2024, 2, 10))
        OutboxMessage.objects.filter(consumer="ledger", order=lost).delete()
        found = findings_of("sales_posted")
        assert len(found) == 1 and "difference 1 orders, 22 EUR" in found[0], found
    with tampered():
        # Orders await posting while the records' ids are off (as for a
        # source swapped for another of the same amount): found.
        order_placed(acme, "ORD-WAITING", date(2024, 4, 3), date(2024, 4, 3))
        DetachedSource.objects.create(
            month=JAN, kind="sale", currency="EUR", journals=0, amount=D("0"), source_ids=7
        )
        found = findings_of("sales_posted")
        assert len(found) == 1 and "difference 0 orders, 0 EUR, ids -7" in found[0], found
    with tampered():
        # An order placed in February, awaiting posting: its journal could be
        # in a detached month, so it counts (and the finding says so).
        order_placed(acme, "ORD-LATE", date(2024, 2, 20), date(2024, 4, 3))
        found = findings_of("sales_posted")
        assert len(found) == 1 and "difference 1 orders, 22 EUR" in found[0], found
        assert "pending orders placed before 2024-03-01 count" in found[0], found
    assert findings_of("sales_posted") == []


class AnyString(str):
    """Equal to any string that starts with it."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith(self)

    __hash__ = str.__hash__
