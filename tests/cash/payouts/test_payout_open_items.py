"""Provider payouts as open items: the matching engine finds each one's bank
credit by the payout id in the remittance, else by amount and date window."""

from datetime import date
from decimal import Decimal

import pytest

from cash.models import Allocation, OpenItem, Suggestion
from cash.services.imports import import_statement_file
from cash.services.matching import reconcile
from cash.services.payout_reports import import_payout_report
from cash.services.sources import SOURCES, sync_open_items
from refunds.models import Payment
from tests.audit_plugin import drain_ledger

from ..statement_files import Entry, camt
from .files import Txn, stripe_report

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def payout(stripe, worked_order):
    """Stripe's payout po_1QxYz of ORD-1001's charge: 109.00 less 3.27 fees."""
    Payment.objects.filter(order=worked_order).update(reference="ch_1001")
    drain_ledger()
    data = stripe_report([Txn("charge", "109.00", "3.27", source_id="ch_1001")])
    return import_payout_report(data=data, provider=stripe).outcomes[0].report


def test_provider_payouts_are_a_registered_source_of_bank_credits(payout, account):
    assert "provider_payout" in SOURCES
    assert sync_open_items() == 1
    item = OpenItem.objects.get(kind="provider_payout")
    assert (item.source_id, item.ledger_account_id, item.currency) == (
        payout.pk,
        payout.bank_ledger_account_id,
        "EUR",
    )
    assert (item.amount, item.amount_minor, item.remaining_minor) == (
        Decimal("105.73"),
        10573,
        10573,
    )
    assert (item.item_date, item.reference, item.counterparty) == (
        date(2026, 11, 5),
        "po_1QxYz",
        "Stripe",
    )
    assert item.reference_keys == "PO1QXYZ"
    assert sync_open_items() == 0


def test_beat_opens_items_for_new_payouts_between_runs(payout, account, settings):
    from cash.tasks import sync_open_items as task

    schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "cash.tasks.sync_open_items" in schedule
    assert task.delay().get() == 1
    assert OpenItem.objects.filter(kind="provider_payout", source_id=payout.pk).count() == 1
    assert task.delay().get() == 0
    # The run's own catch-up finds nothing more to add.
    assert reconcile().items_added == 0


def test_the_payout_id_in_the_remittance_matches_the_bank_credit(payout, account):
    import_statement_file(
        data=camt([Entry("105.73", "2026-11-06", remittance="STRIPE PAYOUT po_1QxYz")])
    )
    result = reconcile()
    assert result.matched_by_tier["reference"] == 1
    (allocation,) = Allocation.objects.all()
    assert (allocation.item.kind, allocation.item.source_id) == ("provider_payout", payout.pk)
    assert allocation.line.status == "matched"


def test_without_the_payout_id_an_amount_in_the_window_is_suggested(payout, account):
    import_statement_file(data=camt([Entry("105.73", "2026-11-07", remittance="STRIPE")]))
    result = reconcile()
    assert result.matched == 0
    (suggestion,) = Suggestion.objects.all()
    assert suggestion.tier == "amount"
    assert [i.item.source_id for i in suggestion.items.all()] == [payout.pk]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_beat_does_not_wait_for_a_sync_held_by_a_run(payout, account):
    # A run holds the sync's lock until it commits (minutes at a million
    # lines); beat's sync gives up at once instead of holding a worker.
    from cash.tasks import sync_open_items as task
    from tests.threads import hold_then_race

    results = hold_then_race(sync_open_items, task)
    assert (results["first"], results["second"], results["blocked"]) == (1, 0, False)
    assert task() == 0  # the run's sync had opened it
    assert OpenItem.objects.filter(kind="provider_payout").count() == 1
