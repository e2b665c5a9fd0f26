"""A payout never pays out a vendor's share of its open cases: record_payout
holds it back under the vendor's lock, and says how much and for how many cases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from ledger.holdback import Holdback, held_back
from ledger.models import Payout
from ledger.posting import PayoutError
from refunds.models import RefundCase
from refunds.services.cases import (
    approve_case,
    cancel_case,
    complete_case,
    dispute_case,
    open_case,
    reject_case,
)
from tests.audit_plugin import drain_ledger as drain
from tests.factories import eur_payout, platform_bears_half, worked_refund_lines
from tests.threads import hold_then_race

D = Decimal
PAID_ON = date(2026, 11, 30)


def pay(vendor, amount: str, **kwargs) -> Payout:
    return eur_payout(vendor, amount, PAID_ON, **kwargs)


@pytest.fixture
def owed(worked_order):
    """ACME is owed 36.00 for its two mugs (posted)."""
    drain()


# ---------------------------------------------------------------- what is held back


def test_a_pending_case_holds_back_the_vendors_share(owed, worked_case, acme):
    assert held_back(acme.pk, "EUR") == Holdback(D("18.00"), 1)

    with pytest.raises(PayoutError) as refused:
        pay(acme, "18.01")

    assert (refused.value.field, refused.value.code) == ("amount", "held_back")
    assert refused.value.message == (
        "ACME (Acme Mugs) is owed 36.00 EUR, of which 18.00 EUR is held back for 1 open case: "
        "at most 18.00 EUR may be paid now, and this pays 0.01 EUR more. Pay it as an "
        "advance to pay more than may be paid."
    )
    assert not Payout.objects.exists()
    assert pay(acme, "18.00").amount == D("18.00")


def test_the_message_counts_the_cases(owed, worked_order, worked_case, acme):
    mug, _ = worked_order.lines.order_by("sku")
    from refunds.services.cases import LineRequest

    open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])

    with pytest.raises(PayoutError) as refused:
        pay(acme, "1.00")

    assert "36.00 EUR is held back for 2 open cases: at most 0.00 EUR may be paid now" in (
        refused.value.message
    )


@pytest.mark.parametrize("status", ["approved", "disputed"])
def test_approved_and_disputed_cases_are_held_back_too(owed, worked_case, acme, alice, status):
    if status == "approved":
        approve_case(case=worked_case, actor=alice)
    else:
        dispute_case(case=worked_case, vendor=acme, message="Not broken", actor=None)

    assert held_back(acme.pk, "EUR") == Holdback(D("18.00"), 1)


@pytest.mark.parametrize("end", ["rejected", "cancelled"])
def test_a_rejected_or_cancelled_case_holds_nothing_back(owed, worked_case, acme, alice, end):
    (reject_case if end == "rejected" else cancel_case)(case=worked_case, actor=alice, reason="No")

    assert held_back(acme.pk, "EUR") == Holdback(D("0"), 0)
    assert pay(acme, "36.00").amount == D("36.00")


def test_a_completed_case_is_held_back_until_its_refund_journal_is_posted(
    owed, worked_case, acme, alice
):
    approve_case(case=worked_case, actor=alice)
    complete_case(case=worked_case, actor=alice)
    # The outbox has not posted the refund yet: the payable still says 36.00.
    assert held_back(acme.pk, "EUR") == Holdback(D("18.00"), 1)

    drain()

    assert held_back(acme.pk, "EUR") == Holdback(D("0"), 0)
    assert pay(acme, "18.00").amount == D("18.00")  # 36.00 less the 18.00 deducted


def test_a_dispute_after_completion_is_not_held_back_twice(owed, worked_case, acme, alice):
    approve_case(case=worked_case, actor=alice)
    complete_case(case=worked_case, actor=alice)
    drain()
    dispute_case(case=worked_case, vendor=acme, message="Courier broke it", actor=None)

    assert RefundCase.objects.get(pk=worked_case.pk).status == "disputed"
    assert held_back(acme.pk, "EUR") == Holdback(D("0"), 0)


def test_an_advance_may_pay_out_what_is_held_back(owed, worked_case, acme):
    assert pay(acme, "30.00", advance=True).amount == D("30.00")


def test_other_currencies_hold_nothing_back(owed, worked_case, acme):
    assert held_back(acme.pk, "USD") == Holdback(D("0"), 0)


def test_the_admin_payout_form_is_refused_by_the_service(staff, owed, worked_case, acme):
    data = {"vendor": acme.pk, "currency": "EUR", "amount": "20.00", "paid_on": "2026-11-30"}

    refused = staff.post(reverse("admin:ledger_payout_add"), data)

    assert refused.status_code == 200
    (error,) = refused.context["adminform"].form.errors["amount"]
    assert "18.00 EUR is held back for 1 open case" in error
    assert not Payout.objects.exists()


def test_a_resolution_that_moves_the_share_moves_the_holdback(owed, worked_case, acme, alice):
    platform_bears_half(worked_case, acme, alice)  # ACME now bears 9.00

    assert held_back(acme.pk, "EUR") == Holdback(D("9.00"), 1)


# ---------------------------------------------------------------- races


@pytest.fixture
def committed_owed(transactional_db, worked_order, acme):
    drain()  # committed: ACME is owed 36.00
    return worked_order


def opening_and_committing(order) -> RefundCase:
    """A case opened and at its commit: the deferred foreign key checks have
    run (as COMMIT runs them), so its liability holds FOR KEY SHARE on the vendor."""
    case = open_case(order=order, lines=worked_refund_lines(order))
    connection.check_constraints()
    return case


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_payout_waits_for_a_case_being_opened_and_holds_its_share_back(committed_owed, acme):
    results = hold_then_race(
        lambda: opening_and_committing(committed_owed), lambda: pay(acme, "36.00")
    )

    assert results["blocked"], f"the payout did not wait for the case: {results}"
    assert isinstance(results["first"], RefundCase), results
    assert isinstance(results["second"], PayoutError), results
    assert "18.00 EUR is held back for 1 open case" in results["second"].message
    assert not Payout.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_case_opened_during_a_payout_waits_for_it(committed_owed, acme):
    """The case's commit (its foreign key checks) waits for the payout's vendor lock."""
    results = hold_then_race(
        lambda: pay(acme, "36.00"),
        lambda: open_case(order=committed_owed, lines=worked_refund_lines(committed_owed)),
    )

    assert results["blocked"], f"the case did not wait for the payout: {results}"
    assert isinstance(results["first"], Payout), results
    # Opened after the payout: the payout paid what was owed when it was made.
    assert isinstance(results["second"], RefundCase), results
    assert held_back(acme.pk, "EUR") == Holdback(D("18.00"), 1)
