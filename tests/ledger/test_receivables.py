"""A vendor that owes the platform at a period close: its payable's debit
balance moves to its receivable (dated the month's last day), and its next
payout settles the receivable before anything goes to the bank."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from ledger.closing import close_period, reopen_period
from ledger.invariants import check_invariants
from ledger.models import (
    Account,
    AccountBalance,
    AccountRole,
    Journal,
    JournalKind,
    PeriodEvent,
)
from ledger.posting import PayoutError
from ledger.selectors import owed_to_vendor
from tests.audit_plugin import drain_ledger as drain
from tests.factories import eur_payout as pay
from tests.factories import make_order

D = Decimal
TODAY = date(2026, 6, 15)
MARCH_END = date(2026, 3, 31)


def close(month: date, user):
    return close_period(month=month, user=user, process="admin", today=TODAY)


def balance(code: str) -> Decimal:
    """Debit minus credit of the account `code` in EUR (0 when never posted)."""
    row = AccountBalance.objects.filter(account__code=code, currency="EUR").first()
    return row.debit - row.credit if row else D(0)


@pytest.fixture
def march(acme, bolt):
    """March: ACME was paid a 50.00 advance and sold nothing (it owes 50.00);
    BOLT sold a tee (it is owed 42.50)."""
    pay(acme, "50.00", date(2026, 3, 10), advance=True, reference="ADV-1")
    make_order(
        lines=[(bolt, "TEE-01", 1, "50.00", "0.10")],
        placed_at=datetime(2026, 3, 12, 9, tzinfo=UTC),
    )
    drain()


def test_a_close_moves_a_payable_debit_balance_to_the_vendors_receivable(march, acme, alice):
    close(date(2026, 3, 1), alice)

    (journal,) = Journal.objects.filter(kind=JournalKind.RECLASSIFICATION)
    assert (journal.date, journal.posted_by, journal.posted_by_process) == (
        MARCH_END,
        alice,
        "admin",
    )
    assert journal.memo == (
        "ACME owes the platform 50.00 EUR on 2026-03-31: payable debit balance moved to its "
        "receivable"
    )
    assert sorted(journal.entries.values_list("account__code", "debit", "credit", "label")) == [
        ("1200-ACME", D("50.00"), D("0"), "reclassification"),
        ("2000-ACME", D("0"), D("50.00"), "reclassification"),
    ]
    receivable = Account.objects.get(code="1200-ACME")
    assert (receivable.role, receivable.vendor, receivable.kind) == (
        AccountRole.VENDOR_RECEIVABLE,
        acme,
        "asset",
    )
    assert balance("2000-ACME") == 0 and balance("1200-ACME") == D("50.00")
    assert owed_to_vendor(acme.pk, "EUR") == D("-50.00")  # what it is owed did not change
    assert PeriodEvent.objects.get().reclassified == 1
    assert check_invariants() == []


def test_a_vendor_owed_money_is_not_reclassified(march, bolt, alice):
    close(date(2026, 3, 1), alice)

    assert not Account.objects.filter(role=AccountRole.VENDOR_RECEIVABLE, vendor=bolt).exists()
    assert balance("2000-BOLT") == D("-42.50")


def test_only_what_was_owed_at_the_months_end_moves(march, acme, alice):
    pay(acme, "20.00", date(2026, 4, 2), advance=True)  # April: not March's

    close(date(2026, 3, 1), alice)

    assert balance("1200-ACME") == D("50.00")
    assert balance("2000-ACME") == D("20.00")  # April's advance stays in the payable


def test_closing_again_after_a_reopen_moves_only_what_is_new(march, acme, alice):
    close(date(2026, 3, 1), alice)
    reopen_period(month=date(2026, 3, 1), user=alice, process="admin", reason="Late advance")
    pay(acme, "5.00", date(2026, 3, 31), advance=True)

    close(date(2026, 3, 1), alice)

    amounts = sorted(
        Journal.objects.filter(kind=JournalKind.RECLASSIFICATION).values_list(
            "posting_key", "entries__debit"
        )
    )
    assert [(key, debit) for key, debit in amounts if debit] == [
        (f"reclassification:2026-03:1:{acme.pk}:EUR", D("50.00")),
        (f"reclassification:2026-03:2:{acme.pk}:EUR", D("5.00")),
    ]
    assert balance("1200-ACME") == D("55.00")
    assert list(PeriodEvent.objects.order_by("id").values_list("action", "reclassified")) == [
        ("close", 1),
        ("reopen", 0),
        ("close", 1),
    ]


# ---------------------------------------------------------------- the next payout


@pytest.fixture
def owes_then_sells(march, acme, alice):
    """March closed (ACME's 50.00 in its receivable), then in April ACME sold
    mugs for 80.00 net of commission: it is owed 30.00."""
    close(date(2026, 3, 1), alice)
    make_order(
        lines=[(acme, "MUG-01", 4, "22.22", "0.10")],  # 88.88 net, 8.89 commission
        placed_at=datetime(2026, 4, 3, 9, tzinfo=UTC),
    )
    drain()
    assert balance("2000-ACME") == D("-79.99")
    assert owed_to_vendor(acme.pk, "EUR") == D("29.99")


def test_the_next_payout_settles_the_receivable_first(owes_then_sells, acme):
    payout = pay(acme, "29.99", date(2026, 4, 30), reference="PO-4")

    assert payout.receivable_offset == D("50.00")
    journal = payout.journals.get()
    assert sorted(journal.entries.values_list("account__code", "debit", "credit", "label")) == [
        ("1000", D("0"), D("29.99"), "payout"),
        ("1200-ACME", D("0"), D("50.00"), "receivable_settlement"),
        ("2000-ACME", D("29.99"), D("0"), "payout"),
        ("2000-ACME", D("50.00"), D("0"), "receivable_settlement"),
    ]
    assert journal.memo == "Payout PO-4; settles 50.00 EUR ACME owed the platform"
    assert balance("2000-ACME") == 0 and balance("1200-ACME") == 0
    assert check_invariants() == []


def test_a_payout_may_not_pay_out_what_the_vendor_owes(owes_then_sells, acme):
    with pytest.raises(PayoutError) as refused:
        pay(acme, "30.00", date(2026, 4, 30))

    assert refused.value.message == (
        "ACME (Acme Mugs) is owed 29.99 EUR (payable 79.99 EUR less 50.00 EUR it owes the "
        "platform): "
        "this pays 0.01 EUR more. Pay it as an advance to pay more than is owed."
    )


def test_an_advance_settles_only_what_the_payable_holds(march, acme, alice):
    close(date(2026, 3, 1), alice)  # receivable 50.00, payable 0

    payout = pay(acme, "10.00", date(2026, 4, 5), advance=True)

    assert payout.receivable_offset == 0
    assert balance("1200-ACME") == D("50.00") and balance("2000-ACME") == D("10.00")
    assert owed_to_vendor(acme.pk, "EUR") == D("-60.00")
    assert check_invariants() == []


def test_a_vendor_has_one_receivable_account(acme):
    Account.objects.create(
        code="1200-ACME", name="r", kind="asset", role=AccountRole.VENDOR_RECEIVABLE, vendor=acme
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(
            code="1201-ACME",
            name="r",
            kind="asset",
            role=AccountRole.VENDOR_RECEIVABLE,
            vendor=acme,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(
            code="1202", name="r", kind="asset", role=AccountRole.VENDOR_RECEIVABLE
        )
