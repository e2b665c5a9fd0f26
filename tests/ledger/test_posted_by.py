"""Every journal records who or which process posted it, and every entry says
what it is (its label); admin, API and the journal CSV show both."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from ledger.closing import close_period
from ledger.exports import export_lines
from ledger.models import Account, Entry, EntryLabel, Journal, JournalKind
from ledger.posting import JournalDraft, PostedBy, PostingError, post_one, reverse_journal
from tests.api.conftest import client_for
from tests.audit_plugin import drain_ledger as drain
from tests.factories import BY_TESTS, StaffFactory, ended_months_with_books

D = Decimal


@pytest.fixture
def accounts(db):
    return dict(Account.objects.values_list("code", "id"))


def draft(accounts, key: str = "j", kind: str = JournalKind.SALE) -> JournalDraft:
    return JournalDraft(posting_key=key, kind=kind, currency="EUR", date=date(2026, 11, 2))


# ---------------------------------------------------------------- who posted


def test_the_outbox_posts_as_outbox_ledger(worked_order):
    drain()

    journal = Journal.objects.get(kind=JournalKind.SALE)
    assert (journal.posted_by, journal.posted_by_process) == (None, "outbox:ledger")
    assert journal.poster == "outbox:ledger"


def test_a_payout_from_the_admin_records_the_staff_member(staff, alice, worked_order, acme):
    drain()

    staff.post(
        reverse("admin:ledger_payout_add"),
        {"vendor": acme.pk, "currency": "EUR", "amount": "36.00", "paid_on": "2026-11-30"},
    )

    journal = Journal.objects.get(kind=JournalKind.PAYOUT)
    assert (journal.posted_by, journal.posted_by_process) == (alice, "admin")
    assert journal.poster == "alice (admin)"


def test_posting_needs_someone_to_post_as(accounts):
    journal = draft(accounts)
    journal.debit(accounts["1100"], D("1.00"))
    journal.credit(accounts["4000"], D("1.00"))

    with pytest.raises(PostingError) as refused:
        post_one(journal, posted_by=PostedBy(""))

    assert refused.value.field == "posted_by"
    assert not Journal.objects.exists()


def test_the_database_refuses_a_journal_posted_by_no_one(accounts):
    with pytest.raises(IntegrityError, match="journal_posted_by_someone"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_journal (posting_key, kind, currency, date, memo, "
                "entry_count, created_at, posted_by_process) "
                "VALUES ('nobody', 'sale', 'EUR', '2026-11-02', '', 2, %s, '')",
                [timezone.now()],
            )


# ---------------------------------------------------------------- labels


def test_a_leg_without_a_label_is_labelled_by_its_journals_kind(accounts):
    journal = draft(accounts, kind=JournalKind.REFUND)
    journal.debit(accounts["2100"], D("2.50"), label=EntryLabel.TAX)
    journal.credit(accounts["1100"], D("2.50"))

    post_one(journal, posted_by=BY_TESTS)

    assert list(Entry.objects.order_by("id").values_list("account__code", "label")) == [
        ("2100", "tax"),
        ("1100", "refund"),
    ]


def test_merging_nets_legs_of_one_account_and_label_and_keeps_other_labels_apart(accounts):
    journal = draft(accounts, kind=JournalKind.CORRECTION)
    payable, income, clearing = accounts["1100"], accounts["4000"], accounts["1110"]
    journal.debit(payable, D("9.00"), label=EntryLabel.PAYABLE_ADJUSTMENT)
    journal.credit(payable, D("18.00"), label=EntryLabel.PAYABLE_ADJUSTMENT)
    journal.debit(payable, D("1.00"), label=EntryLabel.COMMISSION_REVERSAL)
    journal.debit(income, D("8.00"))
    journal.credit(clearing, D("0.00"))  # zero legs are left out

    journal.merged()

    assert sorted(journal.lines) == sorted(
        [
            (payable, D("0"), D("9.00"), "payable_adjustment"),
            (payable, D("1.00"), D("0"), "commission_reversal"),
            (income, D("8.00"), D("0"), "correction"),
        ]
    )


def test_a_reversal_is_labelled_reversal(accounts):
    journal = draft(accounts, kind=JournalKind.PAYOUT)
    journal.debit(accounts["1100"], D("5.00"))
    journal.credit(accounts["1000"], D("5.00"))
    posted = post_one(journal, posted_by=BY_TESTS)

    reversal = reverse_journal(posted, on=date(2026, 11, 3), posted_by=PostedBy("admin"))

    assert set(reversal.entries.values_list("label", flat=True)) == {EntryLabel.REVERSAL}
    assert reversal.posted_by_process == "admin"


def test_the_database_refuses_an_entry_without_a_label(accounts):
    journal = draft(accounts)
    journal.debit(accounts["1100"], D("1.00"))
    journal.credit(accounts["4000"], D("1.00"))
    posted = post_one(journal, posted_by=BY_TESTS)

    with pytest.raises(IntegrityError, match="entry_has_label"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_entry (journal_id, date, account_id, currency, debit, "
                "credit, label) VALUES (%s, %s, %s, 'EUR', 1, 0, '')",
                [posted.pk, posted.date, accounts["1100"]],
            )


# ---------------------------------------------------------------- shown


def test_the_journal_csv_shows_labels_the_original_date_and_who_posted(accounts, alice):
    earlier, later = ended_months_with_books()
    close_period(month=earlier, user=alice, process="admin")
    late = draft(accounts, key="late")
    late.date = earlier
    late.debit(accounts["1100"], D("3.00"))
    late.credit(accounts["2100"], D("3.00"), label=EntryLabel.TAX)
    post_one(late, posted_by=PostedBy.user(alice, "admin"))

    rows = list(csv.DictReader(io.StringIO("".join(export_lines("journal", later, later)))))

    assert [
        (r["Account code"], r["Entry label"], r["Original date"], r["Posted by"]) for r in rows
    ] == [
        ("1100", "sale", earlier.isoformat(), "alice (admin)"),
        ("2100", "tax", earlier.isoformat(), "alice (admin)"),
    ]


def test_the_api_and_admin_show_who_posted_and_the_labels(worked_order, staff):
    drain()
    journal = Journal.objects.get(kind=JournalKind.SALE)
    api = client_for(StaffFactory(username="sam"))

    body = api.get(f"/api/v1/journals/{journal.pk}/").json()

    assert (body["posted_by"], body["posted_by_process"], body["original_date"]) == (
        None,
        "outbox:ledger",
        None,
    )
    assert {entry["label"] for entry in body["entries"]} == {"sale"}
    page = staff.get(reverse("admin:ledger_journal_change", args=[journal.pk])).content.decode()
    assert "outbox:ledger" in page
    listing = staff.get(reverse("admin:ledger_entry_changelist")).content.decode()
    assert "Sale" in listing
