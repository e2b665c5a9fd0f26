"""Matching bank lines with vendor payouts: tiers, suggestions, decisions, reruns."""

from contextlib import contextmanager
from datetime import date

import pytest
from django.utils import timezone

from cash.errors import CashError
from cash.models import (
    Allocation,
    BankAccount,
    BankStatementLine,
    OpenItem,
    Suggestion,
    SuggestionStatus,
)
from cash.services.decisions import (
    confirm_suggestion,
    match_by_hand,
    reject_suggestion,
    reverse_allocation,
)
from cash.services.imports import import_statement_file
from cash.services.matching import reconcile
from tests.factories import StaffFactory, VendorFactory, eur_payout
from tests.threads import run_together

from .statement_files import Entry, camt

pytestmark = [pytest.mark.postgres]

NOV_2 = date(2026, 11, 2)


@pytest.fixture
def acme(db):
    return VendorFactory(code="ACME", name="ACME GmbH")


@pytest.fixture
def bolt(db):
    return VendorFactory(code="BOLT", name="Bolt Ltd")


def pay(vendor, amount, reference="", on=NOV_2):
    return eur_payout(vendor, amount, on, reference, advance=True)


def bank(*entries: Entry, statement_id="S1"):
    return import_statement_file(data=camt(list(entries), statement_id=statement_id))


def line(index=0) -> BankStatementLine:
    return BankStatementLine.objects.order_by("id")[index]


def item_for(payout) -> OpenItem:
    return OpenItem.objects.get(kind="vendor_payout", source_id=payout.pk)


def pairs():
    return sorted(
        (a.line_id, item.source_id)
        for a in Allocation.objects.filter(reversed_at=None)
        for item in [a.item]
    )


def pending():
    return list(Suggestion.objects.filter(status=SuggestionStatus.PENDING).order_by("id"))


@contextmanager
def refused(code):
    before = (Allocation.objects.count(), Suggestion.objects.filter(status="pending").count())
    with pytest.raises(CashError) as caught:
        yield caught
    assert caught.value.code == code
    assert (
        Allocation.objects.count(),
        Suggestion.objects.filter(status="pending").count(),
    ) == before


@pytest.mark.django_db
def test_a_payout_reference_in_the_remittance_matches_its_debit(account, acme):
    payout = pay(acme, "250.00", "PO-2026-0001")
    bank(Entry("-250.00", "2026-11-03", remittance="ACME payout po 2026 / PO-2026-0001"))
    result = reconcile()
    assert (result.items_added, result.matched_by_tier["reference"], result.matched) == (1, 1, 1)
    assert pairs() == [(line().pk, payout.pk)]
    assert line().status == "matched" and item_for(payout).remaining_minor == 0


@pytest.mark.django_db
def test_the_payout_id_in_the_remittance_matches_too(account, acme):
    payout = pay(acme, "99.90")
    bank(Entry("-99.90", "2026-11-02", e2e=f"PAYOUT-{payout.pk}"))
    reconcile()
    assert pairs() == [(line().pk, payout.pk)]


@pytest.mark.django_db
def test_a_reference_with_another_amount_is_only_suggested(account, acme):
    pay(acme, "250.00", "PO-2026-0001")
    bank(Entry("-250.01", remittance="PO-2026-0001"))
    result = reconcile()
    assert result.matched == 0 and pairs() == []
    [suggestion] = pending()
    assert suggestion.tier == "reference" and "amounts differ" in suggestion.reason
    assert line().status == "suggested"


@pytest.mark.django_db
def test_an_amount_in_the_window_is_a_suggestion_unless_the_account_opts_in(account, acme):
    payout = pay(acme, "120.00")
    bank(Entry("-120.00", "2026-11-04"))
    reconcile()
    assert pairs() == [] and [s.reason for s in pending()] == [
        "The only item of this amount in the date window"
    ]
    BankAccount.objects.filter(pk=account.pk).update(auto_match_amounts=True)
    Suggestion.objects.update(status="expired", decided_at=timezone.now())
    BankStatementLine.objects.update(status="unmatched")
    reconcile()
    assert pairs() == [(line().pk, payout.pk)]


@pytest.mark.django_db
def test_the_window_runs_forward_only(account, acme):
    BankAccount.objects.filter(pk=account.pk).update(auto_match_amounts=True)
    pay(acme, "120.00", on=date(2026, 11, 5))
    bank(Entry("-120.00", "2026-11-04"), Entry("-120.00", "2026-11-30"))
    reconcile()
    assert pairs() == [] and pending() == []


@pytest.mark.django_db
def test_same_day_twins_without_references_are_suggested_never_matched(account, acme, bolt):
    BankAccount.objects.filter(pk=account.pk).update(auto_match_amounts=True)
    pay(acme, "75.00")
    pay(bolt, "75.00")
    bank(Entry("-75.00"), Entry("-75.00"))
    result = reconcile()
    assert result.matched == 0 and pairs() == []
    assert len(pending()) == 4
    assert {s.reason for s in pending()} == {
        "One of 2 items and lines of this amount in the date window"
    }


@pytest.mark.django_db
def test_same_day_twins_with_references_each_find_their_own(account, acme, bolt):
    BankAccount.objects.filter(pk=account.pk).update(auto_match_amounts=True)
    first = pay(acme, "75.00", "PO-A-1001")
    second = pay(bolt, "75.00", "PO-B-1002")
    bank(Entry("-75.00", remittance="PO-B-1002"), Entry("-75.00", remittance="PO-A-1001"))
    reconcile()
    assert pairs() == [(line(0).pk, second.pk), (line(1).pk, first.pk)]
    assert pending() == []


@pytest.mark.django_db
def test_a_batch_debit_carrying_the_batch_reference_matches_its_payouts(account, acme, bolt):
    payouts = [pay(acme, "10.00", "BATCH-2026-1102"), pay(bolt, "20.00", "BATCH-2026-1102")]
    payouts.append(pay(acme, "5.50", "BATCH-2026-1102"))
    bank(Entry("-35.50", remittance="Sammler BATCH-2026-1102"))
    reconcile()
    assert pairs() == sorted((line().pk, p.pk) for p in payouts)
    assert line().status == "matched"


@pytest.mark.django_db
def test_one_debit_for_a_days_payouts_is_a_group_suggestion_a_person_confirms(account, acme, bolt):
    payouts = [pay(acme, "10.00"), pay(bolt, "20.00"), pay(acme, "7.25")]
    bank(Entry("-37.25", "2026-11-03"))
    result = reconcile()
    assert result.matched == 0
    [suggestion] = pending()
    assert suggestion.tier == "group" and suggestion.items.count() == 3
    alice = StaffFactory(username="alice")
    allocations = confirm_suggestion(suggestion_id=suggestion.pk, user=alice)
    assert len(allocations) == 3 and {a.created_by for a in allocations} == {alice}
    assert pairs() == sorted((line().pk, p.pk) for p in payouts)
    assert line().status == "matched"


@pytest.mark.django_db
def test_subsets_that_add_up_are_suggested_and_several_are_all_shown(account, acme, bolt):
    pay(acme, "30.00", on=date(2026, 10, 30))
    pay(bolt, "12.00", on=date(2026, 10, 31))
    pay(acme, "18.00", on=NOV_2)
    bank(Entry("-30.00", "2026-11-03", party="x"))  # 30 alone (amount) or 12 + 18 (group)
    reconcile()
    tiers = sorted((s.tier, s.item_key.count(",") + 1) for s in pending())
    assert tiers == [("amount", 1)]  # the amount tier took the line; groups see only the residue
    pay(bolt, "40.00", on=NOV_2)
    pay(acme, "25.00", on=NOV_2)
    bank(Entry("-58.00", "2026-11-04"), statement_id="S2")  # 18 + 40: one subset
    reconcile()
    group = [s for s in pending() if s.tier == "group"]
    assert len(group) == 1 and group[0].reason == "2 items add up to the line"


@pytest.mark.django_db
def test_a_second_run_allocates_nothing_twice_and_proposes_nothing_again(account, acme, bolt):
    pay(acme, "250.00", "PO-2026-0001")
    pay(acme, "75.00")
    pay(bolt, "75.00")
    bank(Entry("-250.00", remittance="PO-2026-0001"), Entry("-75.00"), Entry("-75.00"))
    reconcile()
    before = (pairs(), len(pending()), Suggestion.objects.count())
    again = reconcile()
    assert (again.items_added, again.matched, again.suggested) == (0, 0, 0)
    assert (pairs(), len(pending()), Suggestion.objects.count()) == before


@pytest.mark.django_db
def test_a_rejected_suggestion_is_never_proposed_again(account, acme):
    pay(acme, "120.00")
    bank(Entry("-120.00"))
    reconcile()
    [suggestion] = pending()
    reject_suggestion(suggestion_id=suggestion.pk, user=None)
    assert line().status == "unmatched"
    BankAccount.objects.filter(pk=account.pk).update(auto_match_amounts=True)
    reconcile()
    assert pending() == [] and pairs() == []


@pytest.mark.django_db
def test_an_undone_match_stays_undone_on_the_next_run(account, acme):
    payout = pay(acme, "250.00", "PO-2026-0001")
    bank(Entry("-250.00", remittance="PO-2026-0001"))
    reconcile()
    allocation = Allocation.objects.get()
    reverse_allocation(allocation_id=allocation.pk, user=None)
    assert line().status == "unmatched" and item_for(payout).remaining_minor == 25000
    reconcile()
    assert pairs() == [] and pending() == []
    assert Allocation.objects.get().reversed_at is not None
    with refused("reversed"):
        reverse_allocation(allocation_id=allocation.pk, user=None)


@pytest.mark.django_db
def test_staff_match_by_hand_and_the_rules_still_hold(account, acme):
    out = pay(acme, "40.00")
    bank(Entry("-40.00"), Entry("15.00"))
    reconcile(sync=True)
    with refused("direction_mismatch"):
        match_by_hand(line_id=line(1).pk, item_ids=[item_for(out).pk], user=None)
    [allocation] = match_by_hand(line_id=line(0).pk, item_ids=[item_for(out).pk], user=None)
    assert allocation.method == "manual" and line(0).status == "matched"
    with refused("matched"):
        match_by_hand(line_id=line(0).pk, item_ids=[item_for(out).pk], user=None)
    # The amount-tier suggestion for that pair is now stale.
    assert pending() == []


@pytest.mark.django_db
def test_confirming_a_suggestion_twice_is_refused(account, acme):
    pay(acme, "120.00")
    bank(Entry("-120.00"))
    reconcile()
    [suggestion] = pending()
    confirm_suggestion(suggestion_id=suggestion.pk, user=None)
    with refused("invalid_transition"):
        confirm_suggestion(suggestion_id=suggestion.pk, user=None)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_allocate_each_line_once(account, acme, bolt):
    BankAccount.objects.filter(pk=account.pk).update(auto_match_amounts=True)
    payouts = [pay(acme, f"{10 + i}.00", f"PO-2026-{i:04d}") for i in range(20)]
    bank(*(Entry(f"-{10 + i}.00", remittance=f"PO-2026-{i:04d}") for i in range(20)))
    results = run_together(2, lambda i: reconcile())
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.matched for r in results) == [0, 20]
    assert len(pairs()) == 20 and {p for _, p in pairs()} == {p.pk for p in payouts}
