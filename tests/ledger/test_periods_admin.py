"""Closing and reopening periods in the admin: thin pages over ledger.closing,
refusals shown on the field they name, the close and reopen permissions asked."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from ledger.models import AccountingPeriod, PeriodEvent, PeriodStatus
from ledger.periods import previous_month
from tests.factories import PASSWORD, UserFactory, ended_months_with_books


def url(name: str, *args) -> str:
    return reverse(f"admin:ledger_{name}", args=args)


@pytest.fixture
def months(db) -> tuple[date, date]:
    return ended_months_with_books()


def label(month: date) -> str:
    return f"{month:%Y-%m}"


# ---------------------------------------------------------------- admin


def test_staff_close_a_month_on_its_page(staff, months, alice):
    earlier, _ = months
    page = staff.get(url("accountingperiod_close"))
    assert page.status_code == 200
    assert page.context["form"].initial["month"] == label(earlier)  # the next to close

    response = staff.post(url("accountingperiod_close"), {"month": label(earlier)})

    period = AccountingPeriod.objects.get(month=earlier)
    assert response.status_code == 302
    assert response["Location"] == url("accountingperiod_change", period.pk)
    assert (period.status, period.closed_by) == (PeriodStatus.CLOSED, alice)
    assert PeriodEvent.objects.get().process == "admin"


def test_a_refused_close_is_shown_on_the_month_field(staff, months):
    _, later = months

    response = staff.post(url("accountingperiod_close"), {"month": label(later)})

    assert response.status_code == 200
    (error,) = response.context["form"].errors["month"]
    assert f"Close {label(previous_month(later))} first" in error
    assert not PeriodEvent.objects.exists()


def test_the_close_action_closes_the_selected_months_in_order(staff, months):
    earlier, later = months
    AccountingPeriod.objects.create(month=later)
    ids = list(AccountingPeriod.objects.values_list("pk", flat=True))

    response = staff.post(
        url("accountingperiod_changelist"),
        {"action": "close_selected", "_selected_action": ids},
        follow=True,
    )

    assert response.status_code == 200
    assert set(AccountingPeriod.objects.values_list("status", flat=True)) == {PeriodStatus.CLOSED}
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [f"{label(earlier)} is closed.", f"{label(later)} is closed."]


def test_staff_reopen_a_month_with_a_reason(staff, months, alice):
    earlier, _ = months
    staff.post(url("accountingperiod_close"), {"month": label(earlier)})
    period = AccountingPeriod.objects.get(month=earlier)
    page = staff.get(url("accountingperiod_change", period.pk))
    assert url("accountingperiod_reopen", period.pk) in page.content.decode()

    refused = staff.post(url("accountingperiod_reopen", period.pk), {"reason": ""})
    assert refused.status_code == 200 and "reason" in refused.context["form"].errors
    response = staff.post(url("accountingperiod_reopen", period.pk), {"reason": "Late invoice"})

    assert response.status_code == 302
    period.refresh_from_db()
    assert period.status == PeriodStatus.OPEN
    assert list(PeriodEvent.objects.order_by("id").values_list("action", "reason")) == [
        ("close", ""),
        ("reopen", "Late invoice"),
    ]


def test_the_admin_asks_for_the_close_and_reopen_permissions(client, months):
    earlier, _ = months
    viewer = UserFactory(username="val", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_accountingperiod"))
    assert client.login(username="val", password=PASSWORD)
    assert client.get(url("accountingperiod_changelist")).status_code == 200

    assert client.post(url("accountingperiod_close"), {"month": label(earlier)}).status_code == 403
    assert not AccountingPeriod.objects.filter(status=PeriodStatus.CLOSED).exists()
    period = AccountingPeriod.objects.get(month=earlier)
    reopen = client.post(url("accountingperiod_reopen", period.pk), {"reason": "x"})
    assert reopen.status_code == 403
