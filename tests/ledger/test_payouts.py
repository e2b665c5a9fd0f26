"""The payout rule lives in the service: no payout beyond what is owed unless
it is explicitly an advance, checked under a lock on the vendor's balance."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from ledger.models import Payout
from ledger.posting import PayoutError
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
        eur_payout(acme, "36.01", PAID_ON)

    assert refused.value.field == "amount"
    assert "is owed 36.00 EUR: this pays 0.01 EUR more" in refused.value.message
    assert not Payout.objects.exists()
    assert owed_to_vendor(acme.pk, "EUR") == D("36.00")


def test_a_vendor_with_nothing_owed_is_paid_only_as_an_advance(acme):
    with pytest.raises(PayoutError):
        eur_payout(acme, "5.00", PAID_ON)

    eur_payout(acme, "5.00", PAID_ON, advance=True)

    assert owed_to_vendor(acme.pk, "EUR") == D("-5.00")


def test_paying_exactly_what_is_owed_needs_no_advance(worked_order, acme):
    drain()

    eur_payout(acme, "36.00", PAID_ON)

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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_payout_during_a_posting_that_refers_to_the_vendor_does_not_deadlock(worked_order, acme):
    """The soak drill's deadlock: a posting updates ACME's payable balance and
    inserts a row referring to ACME (its foreign key is checked at COMMIT, with
    FOR KEY SHARE on the vendor) while a payout holds ACME FOR UPDATE and waits
    for the payable's balance row. Posting shares the vendor first, so the
    payout waits for the posting to commit instead and then pays."""
    from ledger.models import Account, AccountRole
    from ledger.periods import posting_dates
    from ledger.posting import JournalDraft, post_one

    outbox.drain("ledger")  # committed: ACME is owed 36.00
    with transaction.atomic():
        posting_dates([PAID_ON])  # the month's period row exists: nobody waits on its insert
    payable = Account.objects.get(role=AccountRole.VENDOR_PAYABLE, vendor=acme)
    income = Account.objects.get(role=AccountRole.COMMISSION_INCOME)

    def posting() -> str:
        draft = JournalDraft(
            posting_key="test:deadlock", kind="correction", currency="EUR", date=PAID_ON
        )
        draft.debit(income.pk, D("1.00"))
        draft.credit(payable.pk, D("1.00"))
        post_one(draft, posted_by=BY_TESTS)
        # A row whose foreign key to ACME is checked at COMMIT.
        Payout.objects.create(vendor=acme, currency="EUR", amount=D("0.01"), paid_on=PAID_ON)
        return "committed"

    def payout() -> Payout:
        return eur_payout(acme, "5.00", PAID_ON)

    results = hold_then_race(posting, payout)
    assert results["blocked"], f"the payout did not wait for the posting: {results}"
    assert results["first"] == "committed", results
    assert isinstance(results["second"], Payout), results
