"""The cash admin: pages render, and imports, decisions and hand matches go
through the services (refusals shown, nothing written)."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cash.models import (
    Allocation,
    BankStatement,
    BankStatementLine,
    CsvMapping,
    OpenItem,
    Suggestion,
)
from cash.services.matching import reconcile
from tests.factories import eur_payout

from .statement_files import Entry, camt

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def upload(staff, data: bytes, name="nov.xml", **fields):
    url = reverse("admin:cash_bankstatement_import")
    return staff.post(url, {"file": SimpleUploadedFile(name, data), **fields}, follow=True)


@pytest.fixture
def world(account, acme, bolt):
    eur_payout(acme, "250.00", date(2026, 11, 2), "PO-2026-0001", advance=True)
    eur_payout(acme, "75.00", date(2026, 11, 2), advance=True)
    eur_payout(bolt, "75.00", date(2026, 11, 2), advance=True)
    data = camt(
        [
            Entry("-250.00", remittance="PO-2026-0001"),
            Entry("-75.00"),
            Entry("-75.00"),
            Entry("-3.00", remittance="fee"),
        ]
    )
    return data


def test_every_cash_page_renders_for_staff(staff, world):
    assert "4 new lines" in upload(staff, world).content.decode()
    reconcile()
    statement = BankStatement.objects.get()
    line = BankStatementLine.objects.order_by("id").first()
    pages = [
        reverse("admin:cash_bankaccount_changelist"),
        reverse("admin:cash_csvmapping_add"),
        reverse("admin:cash_bankstatement_changelist"),
        reverse("admin:cash_bankstatement_change", args=[statement.pk]),
        reverse("admin:cash_bankstatementline_changelist") + "?status__exact=suggested",
        reverse("admin:cash_bankstatementline_change", args=[line.pk]),
        reverse("admin:cash_bankstatementline_match", args=[line.pk]),
        reverse("admin:cash_openitem_changelist"),
        reverse("admin:cash_suggestion_changelist"),
        reverse("admin:cash_suggestion_change", args=[Suggestion.objects.first().pk]),
        reverse("admin:cash_allocation_changelist"),
        reverse("admin:cash_reconciliationrun_changelist"),
    ]
    for url in pages:
        assert staff.get(url).status_code == 200, url
    page = staff.get(reverse("admin:cash_bankstatement_change", args=[statement.pk]))
    assert "All 4 lines of this statement" in page.content.decode()


def test_a_refused_upload_shows_why_and_writes_nothing(staff, world):
    response = upload(staff, camt([Entry("-1.00")], closing="5.00"))
    assert response.status_code == 200
    assert "the file is refused" in response.content.decode()
    assert not BankStatement.objects.exists()


def test_staff_confirm_and_reject_suggestions_from_the_list(staff, world):
    upload(staff, world)
    reconcile()
    pending = list(Suggestion.objects.filter(status="pending").order_by("id"))
    assert len(pending) == 4  # the two 75.00 lines x the two 75.00 payouts
    url = reverse("admin:cash_suggestion_changelist")
    staff.post(url, {"action": "confirm", "_selected_action": [pending[0].pk]})
    assert Suggestion.objects.get(pk=pending[0].pk).status == "confirmed"
    # The confirmed pair's line and item are taken: their other suggestions expire.
    statuses = sorted(Suggestion.objects.values_list("status", flat=True))
    assert statuses == ["confirmed", "expired", "expired", "pending"]
    last = Suggestion.objects.get(status="pending")
    staff.post(url, {"action": "reject", "_selected_action": [last.pk]})
    assert Suggestion.objects.get(pk=last.pk).status == "rejected"


def test_staff_match_by_hand_and_a_refusal_is_shown_on_the_form(staff, world):
    upload(staff, world)
    reconcile()
    fee = BankStatementLine.objects.get(amount="-3.00")
    taken = OpenItem.objects.get(reference="PO-2026-0001")
    url = reverse("admin:cash_bankstatementline_match", args=[fee.pk])
    response = staff.post(url, {"items": str(taken.pk)})
    assert "already matched in full" in response.content.decode()
    assert not Allocation.objects.filter(line=fee).exists()
    response = staff.post(url, {"items": "x"})
    assert "whole numbers" in response.content.decode()


def test_staff_undo_a_match_from_the_allocation_list(staff, world):
    upload(staff, world)
    reconcile()
    allocation = Allocation.objects.get()
    staff.post(
        reverse("admin:cash_allocation_changelist"),
        {"action": "reverse", "_selected_action": [allocation.pk]},
    )
    allocation.refresh_from_db()
    assert allocation.reversed_at is not None and allocation.line.status == "unmatched"


def test_a_csv_mapping_is_saved_in_the_admin(staff):
    staff.post(
        reverse("admin:cash_csvmapping_add"),
        {
            "name": "Bank X",
            "delimiter": ";",
            "encoding": "utf-8",
            "skip_rows": 0,
            "date_format": "%d.%m.%Y",
            "booking_date_column": "Datum",
            "amount_column": "Betrag",
        },
    )
    assert CsvMapping.objects.get().name == "Bank X"


def test_staff_run_a_reconciliation_from_the_run_list(staff, world):
    page = staff.get(reverse("admin:cash_bankstatement_changelist")).content.decode()
    assert "Import a bank statement" in page
    upload(staff, world)
    page = staff.get(reverse("admin:cash_reconciliationrun_changelist")).content.decode()
    assert "Reconcile every account now" in page
    response = staff.post(reverse("admin:cash_reconciliationrun_run"), follow=True)
    assert "matched 1, suggested 2, unmatched 1" in response.content.decode()
    assert Allocation.objects.count() == 1
