"""Receivables per order line (seed 003): DESIGN's worked example from the
sale through the refund, the provider's payout and a vendor payout; overdue
tagging by the beat task; allocation oldest first and by staff choice."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from cash.models import Receivable, ReceivableAllocation
from cash.services.payout_reports import import_payout_report
from cash.services.receivables import (
    allocate_payout,
    clearing_differences,
    open_receivables,
    refresh_orders,
    vendor_due_date,
)
from cash.tasks import daily_receivables
from lib.errors import DomainError
from refunds import outbox
from refunds.models import Payment
from tests.audit_plugin import drain_ledger
from tests.factories import complete_worked_refund, eur_payout, make_order

from .files import Txn, stripe_report

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

D = Decimal
WORKED_PAYOUT = [
    Txn("charge", "109.00", "3.27", source_id="ch_1001", txn="txn_1001"),
    Txn("refund", "-27.50", source_id="re_1001", charge_id="ch_1001", txn="txn_1002"),
]


def drain() -> None:
    drain_ledger()
    outbox.drain("receivables")


def figures(order, kind):
    return [
        (
            r.order_line.sku if r.order_line else "shipping",
            r.amount,
            r.refunded_amount,
            r.paid_amount,
            r.status,
            r.tags,
        )
        for r in Receivable.objects.filter(order=order, kind=kind)
        .select_related("order_line")
        .order_by("order_line__sku", "id")
    ]


@pytest.fixture
def sold(worked_order):
    Payment.objects.filter(order=worked_order).update(reference="ch_1001")
    drain()
    return worked_order


def test_the_sale_opens_provider_and_vendor_receivables_per_line(sold, acme):
    assert figures(sold, "provider") == [
        ("MUG-01", D("44.00"), D(0), D(0), "awaiting_payment", []),
        ("TEE-01", D("55.00"), D(0), D(0), "awaiting_payment", []),
        ("shipping", D("10.00"), D(0), D(0), "awaiting_payment", []),
    ]
    assert sum(r[1] for r in figures(sold, "provider")) == D("109.00")
    assert figures(sold, "vendor") == [
        ("MUG-01", D("36.00"), D(0), D(0), "awaiting_payment", []),
        ("TEE-01", D("42.50"), D(0), D(0), "awaiting_payment", []),
    ]
    mug = Receivable.objects.get(order=sold, kind="vendor", vendor=acme)
    assert mug.due_date == vendor_due_date(acme, mug.opened_on)
    assert clearing_differences() == []
    # Opening again adds nothing (the outbox may deliver twice).
    open_receivables([sold])
    assert Receivable.objects.filter(order=sold).count() == 5


def test_refund_provider_payout_and_vendor_payout_to_the_cent(sold, alice, stripe, acme, bolt):
    complete_worked_refund(sold, alice, gateway_reference="re_1001")
    outbox.drain("receivables")
    assert figures(sold, "provider") == [
        ("MUG-01", D("44.00"), D("22.00"), D(0), "awaiting_payment", []),
        ("TEE-01", D("55.00"), D("5.50"), D(0), "awaiting_payment", []),
        ("shipping", D("10.00"), D(0), D(0), "awaiting_payment", []),
    ]
    # ACME bears 18.00 of its mug (net 20.00 less the commission given back); BOLT nothing.
    assert figures(sold, "vendor") == [
        ("MUG-01", D("36.00"), D("18.00"), D(0), "awaiting_payment", []),
        ("TEE-01", D("42.50"), D(0), D(0), "awaiting_payment", []),
    ]
    assert clearing_differences() == []

    import_payout_report(
        data=stripe_report(WORKED_PAYOUT), provider=stripe, file_name="po.csv", user=alice
    )
    drain_ledger()
    refresh_orders([sold.pk])
    # The payout settles 81.50: the lines in order, shipping last.
    assert figures(sold, "provider") == [
        ("MUG-01", D("44.00"), D("22.00"), D("22.00"), "paid", []),
        ("TEE-01", D("55.00"), D("5.50"), D("49.50"), "paid", []),
        ("shipping", D("10.00"), D(0), D("10.00"), "paid", []),
    ]
    assert clearing_differences() == []

    payout = eur_payout(acme, "10.00", date(2026, 11, 30), "ACME-1")
    allocate_payout(payout)
    assert figures(sold, "vendor") == [
        ("MUG-01", D("36.00"), D("18.00"), D("10.00"), "awaiting_payment", ["partial"]),
        ("TEE-01", D("42.50"), D(0), D(0), "awaiting_payment", []),
    ]
    allocate_payout(eur_payout(acme, "8.00", date(2026, 12, 1), "ACME-2"))
    mug = Receivable.objects.get(order=sold, kind="vendor", vendor=acme)
    assert (mug.paid_amount, mug.status, mug.tags, mug.payment_date) == (
        D("18.00"),
        "paid",
        [],
        date(2026, 12, 1),
    )


def test_a_line_refunded_in_full_is_refund(acme, alice, bolt):
    order = make_order(lines=[(acme, "MUG-01", 1, "20.00", "0.10")])
    drain()
    from refunds.services.cases import LineRequest, approve_case, complete_case, open_case

    case = open_case(order=order, lines=[LineRequest(order.lines.get().pk, "damaged", quantity=1)])
    approve_case(case=case, actor=alice)
    complete_case(case=case, actor=alice)
    drain()
    provider = Receivable.objects.get(order=order, kind="provider")
    vendor = Receivable.objects.get(order=order, kind="vendor")
    assert (provider.refunded_amount, provider.status) == (D("22.00"), "refund")
    # ACME bears all of what it was owed for the mug: nothing is left to pay it.
    assert (vendor.amount, vendor.refunded_amount, vendor.status) == (
        D("18.00"),
        D("18.00"),
        "refund",
    )
    assert not vendor.allocations.exists()


def test_the_beat_task_tags_overdue_lines_daily(sold):
    Receivable.objects.filter(order=sold).update(due_date=date.today() - timedelta(days=1))
    assert daily_receivables() == 5
    assert set(Receivable.objects.filter(order=sold).values_list("overdue", flat=True)) == {True}
    assert Receivable.objects.get(order=sold, kind="vendor", vendor__code="ACME").tags == [
        "overdue"
    ]
    Receivable.objects.filter(order=sold).update(due_date=date.today() + timedelta(days=1))
    assert daily_receivables() == 0


def test_the_beat_task_opens_what_the_consumer_never_saw(worked_order):
    drain_ledger()  # orders paid before receivables existed: no receivables message drained
    assert not Receivable.objects.exists()
    daily_receivables()
    assert Receivable.objects.filter(order=worked_order).count() == 5


def test_vendor_payouts_are_allocated_oldest_first(acme):
    old = make_order(lines=[(acme, "A", 1, "10.00", "0")], placed_at=None)
    new = make_order(lines=[(acme, "B", 1, "10.00", "0")])
    drain()
    Receivable.objects.filter(order=old, kind="vendor").update(due_date=date(2026, 1, 1))
    Receivable.objects.filter(order=new, kind="vendor").update(due_date=date(2026, 2, 1))
    # ACME is owed 9.00 on each (10% commission).
    rows = allocate_payout(eur_payout(acme, "12.00", date(2026, 12, 1)))
    assert [(r.receivable.order_id, r.amount) for r in rows] == [
        (old.pk, D("9.00")),
        (new.pk, D("3.00")),
    ]
    assert Receivable.objects.get(order=old, kind="vendor").status == "paid"
    assert Receivable.objects.get(order=new, kind="vendor").tags == ["partial"]


def test_staff_may_choose_the_lines_a_payout_pays(acme, bolt):
    old = make_order(lines=[(acme, "A", 1, "10.00", "0")])
    new = make_order(lines=[(acme, "B", 1, "10.00", "0")])
    boltish = make_order(lines=[(bolt, "T", 1, "10.00", "0")])
    drain()
    chosen = Receivable.objects.get(order=new, kind="vendor")
    payout = eur_payout(acme, "12.00", date(2026, 12, 1))
    with pytest.raises(DomainError) as error:
        allocate_payout(payout, [(chosen.pk, D("9.01"))])
    assert error.value.field == "amount"
    other = Receivable.objects.get(order=boltish, kind="vendor")
    with pytest.raises(DomainError) as error:
        allocate_payout(payout, [(other.pk, D("1.00"))])
    assert error.value.field == "receivable"
    assert not ReceivableAllocation.objects.exists()

    (row,) = allocate_payout(payout, [(chosen.pk, D("9.00"))])
    assert row.chosen_by_staff
    assert Receivable.objects.get(order=new, kind="vendor").status == "paid"
    assert Receivable.objects.get(order=old, kind="vendor").paid_amount == 0
    # The rest goes oldest first; nothing is ever allocated over a line.
    (rest,) = allocate_payout(payout)
    assert (rest.receivable.order_id, rest.amount) == (old.pk, D("3.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        ReceivableAllocation.objects.create(receivable=chosen, payout=payout, amount=D("1.00"))


def test_check_cash_reports_a_clearing_difference(sold):
    from django.core.management import CommandError, call_command

    call_command("check_cash")
    Receivable.objects.filter(order=sold, order_line__isnull=True).update(paid_amount=D("1.00"))
    with pytest.raises(CommandError):
        call_command("check_cash")


def test_a_line_cancelled_before_handover_is_refund_with_journal_and_credit_note(sold, alice, acme):
    from cash.services.receivables import cancel_line
    from ledger.models import CreditNote, Journal

    mug = sold.lines.get(sku="MUG-01")
    case = cancel_line(line=mug, actor=alice)
    drain()
    assert case.status == "completed"
    assert [
        (r.kind, r.refunded_amount, r.paid_amount, r.status, r.cancelled)
        for r in Receivable.objects.filter(order_line=mug).order_by("kind")
    ] == [
        ("provider", D("44.00"), D(0), "refund", True),
        ("vendor", D("36.00"), D(0), "refund", True),
    ]
    assert Journal.objects.filter(case=case).exists()
    assert CreditNote.objects.filter(case=case).exists()
    # Never paid out: a payout passes it by; cancelling again is refused.
    allocate_payout(eur_payout(acme, "1.00", date(2026, 12, 1), advance=True))
    assert not ReceivableAllocation.objects.filter(receivable__order_line=mug).exists()
    with pytest.raises(DomainError):
        cancel_line(line=mug, actor=alice)
    assert clearing_differences() == []
