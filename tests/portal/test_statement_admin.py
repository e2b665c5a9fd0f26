"""Settlement statements in the staff admin: list, view, download, make now."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from ledger.models import SettlementStatement
from portal.models import Notification, NotificationKind
from tests.factories import UserFactory
from tests.ledger.test_settlements import WEEK_1, trade_week_1
from tests.portal.test_portal_support import logged_in

pytest_plugins = ["tests.portal.test_portal_support"]


@pytest.fixture
def week_of_trade(acme, bolt, alice):
    return trade_week_1(acme, bolt, alice)


@pytest.fixture
def viewer(db):
    """Staff who may look at statements but not make them."""
    user = UserFactory(username="viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_settlementstatement"))
    return user


def make_now(client, **data):
    url = reverse("admin:ledger_settlementstatement_generate")
    return client.post(url, data, follow=True)


def test_staff_make_due_statements_and_vendors_are_told(alice, acme, week_of_trade):
    client = logged_in(alice)
    changelist = client.get(reverse("admin:ledger_settlementstatement_changelist"))
    assert reverse("admin:ledger_settlementstatement_generate") in changelist.content.decode()

    response = make_now(client, today="2026-03-10")

    assert response.status_code == 200
    assert "2 statements made; 2 vendors notified." in response.content.decode()
    statement = SettlementStatement.objects.get(vendor=acme, period_start=WEEK_1.start)
    assert (statement.sales, statement.deductions, statement.payouts) == (36, 18, 18)
    assert statement.closing == 0
    told = Notification.objects.get(vendor=acme, kind=NotificationKind.STATEMENT)
    assert told.statement == statement
    # Safe to repeat: nothing more is made, nobody is told twice.
    again = make_now(client, today="2026-03-10")
    assert "0 statements made; 0 vendors notified." in again.content.decode()
    assert SettlementStatement.objects.count() == 2


def test_one_vendor_only(alice, acme, bolt, week_of_trade):
    make_now(logged_in(alice), today="2026-03-10", vendor="BOLT")
    assert list(SettlementStatement.objects.values_list("vendor__code", flat=True)) == ["BOLT"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"today": "2999-01-01"}, "today", "days that have not ended"),
        ({"today": "yesterday"}, "today", "Enter a valid date"),
        ({"vendor": "NOPE"}, "vendor", "Select a valid choice"),
    ],
)
def test_bad_input_is_refused_by_field(alice, week_of_trade, data, field, message):
    response = logged_in(alice).post(reverse("admin:ledger_settlementstatement_generate"), data)
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert not SettlementStatement.objects.exists()


def test_staff_view_and_download_a_statement(alice, acme, week_of_trade):
    make_now(logged_in(alice), today="2026-03-10")
    statement = SettlementStatement.objects.get(vendor=acme)
    client = logged_in(alice)

    page = client.get(reverse("admin:ledger_settlementstatement_change", args=[statement.pk]))
    assert page.status_code == 200
    assert "36.00 EUR" in page.content.decode()

    csv_response = client.get(reverse("admin:ledger_settlementstatement_csv", args=[statement.pk]))
    assert csv_response.streaming
    text = b"".join(csv_response.streaming_content).decode()
    assert week_of_trade.case_id in text and "Closing balance" in text

    pdf = client.get(reverse("admin:ledger_settlementstatement_pdf", args=[statement.pk]))
    assert pdf.content.startswith(b"%PDF")

    missing = client.get(reverse("admin:ledger_settlementstatement_csv", args=[10**9]))
    assert missing.status_code == 404


def test_viewers_may_look_but_not_make_or_change(viewer, alice, acme, week_of_trade):
    make_now(logged_in(alice), today="2026-03-10")
    statement = SettlementStatement.objects.get(vendor=acme)
    client = logged_in(viewer)

    changelist = client.get(reverse("admin:ledger_settlementstatement_changelist"))
    assert changelist.status_code == 200
    assert reverse("admin:ledger_settlementstatement_generate") not in changelist.content.decode()
    assert make_now(client, today="2026-03-17").status_code == 403
    assert (
        client.get(reverse("admin:ledger_settlementstatement_pdf", args=[statement.pk])).status_code
        == 200
    )
    # Read-only: no edit, no delete.
    change = client.post(
        reverse("admin:ledger_settlementstatement_change", args=[statement.pk]), {"closing": "1"}
    )
    assert change.status_code == 403
    delete = client.post(
        reverse("admin:ledger_settlementstatement_delete", args=[statement.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert SettlementStatement.objects.filter(pk=statement.pk, closing=0).exists()


def test_vendors_cannot_reach_the_admin_pages(vera, alice, acme, week_of_trade):
    make_now(logged_in(alice), today="2026-03-10")
    statement = SettlementStatement.objects.get(vendor=acme)
    client = logged_in(vera)
    for url in [
        reverse("admin:ledger_settlementstatement_changelist"),
        reverse("admin:ledger_settlementstatement_csv", args=[statement.pk]),
        reverse("admin:ledger_settlementstatement_generate"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
