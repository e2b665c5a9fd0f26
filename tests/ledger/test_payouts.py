"""The payout rule lives in the service: no payout beyond what is owed unless
it is explicitly an advance, checked under a lock on the vendor's balance."""

from datetime import date
from decimal import Decimal

import pytest

from ledger.models import Payout
from ledger.posting import PayoutError, record_payout
from ledger.selectors import owed_to_vendor
from refunds import outbox
from tests.audit_plugin import drain_ledger as drain
from tests.factories import BY_TESTS, eur_payout
from tests.threads import hold_then_race

D = Decimal
PAID_ON = date(2026, 11, 30)


def test_the_service_refuses_a_payout_beyond_what_is_owed(worked_order, acme):
    drain()  # ACME is owed 36.00 for its two mugs

    with pytest.raises(PayoutError) as refused:
        record_payout(
            vendor=acme, amount=D("36.01"), currency="EUR", paid_on=PAID_ON, posted_by=BY_TESTS
        )

    assert refused.value.field == "amount"
    assert "is owed 36.00 EUR: this pays 0.01 EUR more" in refused.value.message
    assert not Payout.objects.exists()
    assert owed_to_vendor(acme.pk, "EUR") == D("36.00")


def test_a_vendor_with_nothing_owed_is_paid_only_as_an_advance(acme):
    with pytest.raises(PayoutError):
        record_payout(
            vendor=acme, amount=D("5.00"), currency="EUR", paid_on=PAID_ON, posted_by=BY_TESTS
        )

    record_payout(
        vendor=acme,
        amount=D("5.00"),
        currency="EUR",
        paid_on=PAID_ON,
        advance=True,
        posted_by=BY_TESTS,
    )

    assert owed_to_vendor(acme.pk, "EUR") == D("-5.00")


def test_paying_exactly_what_is_owed_needs_no_advance(worked_order, acme):
    drain()

    record_payout(
        vendor=acme, amount=D("36.00"), currency="EUR", paid_on=PAID_ON, posted_by=BY_TESTS
    )

    assert owed_to_vendor(acme.pk, "EUR") == 0


# ---------------------------------------------------------------- concurrency


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("advance", [False, True])
def test_two_payouts_at_once_cannot_both_spend_the_balance(worked_order, acme, advance):
    """The first payout holds its transaction open; the second must wait for
    the balance row and then see what the first left (without the lock it
    would read 36.00 and pay too). With the advance flag both are paid."""
    outbox.drain("ledger")  # committed: ACME is owed 36.00

    results = hold_then_race(
        lambda: eur_payout(acme, "30.00", PAID_ON),
        lambda: eur_payout(acme, "30.00", PAID_ON, advance=advance),
    )

    # The second payout was blocked on the first's lock before the first committed.
    assert results["blocked"], f"the second payout did not wait for the first: {results}"
    assert isinstance(results["first"], Payout)
    if advance:
        assert isinstance(results["second"], Payout)
        assert owed_to_vendor(acme.pk, "EUR") == D("-24.00")
    else:
        assert isinstance(results["second"], PayoutError), results["second"]
        assert "is owed 6.00 EUR: this pays 24.00 EUR more" in results["second"].message
        assert Payout.objects.count() == 1
        assert owed_to_vendor(acme.pk, "EUR") == D("6.00")
