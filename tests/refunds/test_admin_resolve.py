"""Resolving a dispute on the admin case page: the form, the service behind it,
and its refusals shown on the fields they name."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from ledger.models import Journal, JournalKind
from refunds import outbox
from refunds.models import CaseStatus, EventChannel, EventKind, RefundCase
from refunds.services.cases import (
    approve_case,
    complete_case,
    dispute_case,
    resolve_dispute,
)
from tests.factories import PASSWORD, MembershipFactory, UserFactory

D = Decimal
FORM = 'id="workbench-resolve"'


@pytest.fixture
def disputed_case(worked_case, alice, acme) -> RefundCase:
    """Completed, then disputed by ACME."""
    approve_case(case=worked_case, actor=alice)
    complete_case(case=worked_case, actor=alice, gateway_reference="re_1")
    vera = MembershipFactory(user=UserFactory(username="vera"), vendor=acme).user
    return dispute_case(case=worked_case, vendor=acme, message="The mug was fine.", actor=vera)


def case_url(name: str, case: RefundCase) -> str:
    return reverse(f"admin:refunds_refundcase_{name}", args=[case.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def shares(vendor_share: str, platform_share: str, reversal: str, code: str = "ACME") -> dict:
    return {
        f"resolve-liabilities.{code}.vendor_share": vendor_share,
        f"resolve-liabilities.{code}.platform_share": platform_share,
        f"resolve-liabilities.{code}.commission_reversal": reversal,
    }


def current_shares(case: RefundCase) -> dict[str, str]:
    data: dict[str, str] = {}
    for row in case.liabilities.select_related("vendor"):
        data.update(
            shares(
                str(row.vendor_share),
                str(row.platform_share),
                str(row.commission_reversal),
                row.vendor.code,
            )
        )
    return data


def resolve_post(case: RefundCase, message: str = "Agreed with ACME.", **changes: str) -> dict:
    return {"resolve-message": message, **current_shares(case), **changes}


def post_resolve(staff, case: RefundCase, *args: str, **changes: str):
    """Send the resolve form of case: its current shares with changes (see resolve_post)."""
    return staff.post(case_url("resolve", case), resolve_post(case, *args, **changes))


def acme_row(case: RefundCase):
    return case.liabilities.get(vendor__code="ACME")


# ---------------------------------------------------------------- when the form shows


def test_it_shows_no_resolve_form_on_a_case_that_is_not_disputed(staff, worked_case):
    page = staff.get(case_url("change", worked_case)).content.decode()

    assert FORM not in page
    assert case_url("resolve", worked_case) not in page


def test_it_shows_the_resolve_form_prefilled_on_a_disputed_case(staff, disputed_case):
    response = staff.get(case_url("change", disputed_case))

    assert response.status_code == 200
    page = response.content.decode()
    assert FORM in page
    assert f'action="{case_url("resolve", disputed_case)}"' in page
    assert "Disputed (was completed)" in page
    assert "new shares post a correction to the ledger" in page
    form = next(item.form for item in response.context["workbench"] if item.key == "resolve")
    assert form["message"].value() is None
    assert form["liabilities.ACME.vendor_share"].value() == D("18.00")
    assert form["liabilities.ACME.platform_share"].value() == D("2.00")
    assert form["liabilities.ACME.commission_reversal"].value() == D("2.00")
    assert 'name="resolve-liabilities.BOLT.vendor_share"' in page


def test_it_sends_a_resolve_page_of_an_undisputed_case_back_to_the_case(staff, worked_case):
    response = staff.get(case_url("resolve", worked_case))

    assert response.status_code == 302
    assert response.url == case_url("change", worked_case)
    assert any("no dispute to resolve" in m for m in messages_of(response))


# ---------------------------------------------------------------- resolving


def test_it_resolves_a_dispute_without_new_shares(staff, alice, disputed_case):
    before = {row.vendor.code: row.vendor_share for row in disputed_case.liabilities.all()}

    response = post_resolve(
        staff, disputed_case, message="The photos show a chipped mug: refund stands."
    )

    assert response.status_code == 302
    assert response.url == case_url("change", disputed_case)
    disputed_case.refresh_from_db()
    assert disputed_case.status == CaseStatus.COMPLETED
    assert {row.vendor.code: row.vendor_share for row in disputed_case.liabilities.all()} == before
    assert not disputed_case.liabilities.filter(overridden=True).exists()
    event = disputed_case.events.filter(kind=EventKind.STATUS_CHANGED).latest("id")
    assert (event.from_status, event.to_status, event.actor, event.channel) == (
        CaseStatus.DISPUTED,
        CaseStatus.COMPLETED,
        alice,
        EventChannel.STAFF,
    )
    assert event.text == "The photos show a chipped mug: refund stands."
    assert "changes" not in event.data
    assert any("resolved: it is completed" in m for m in messages_of(response))


def test_it_resolves_with_new_shares_and_the_ledger_posts_a_correction(staff, alice, disputed_case):
    outbox.drain("ledger")  # the refund journal of the completion

    response = post_resolve(staff, disputed_case, **shares("8.00", "12.00", "2.00"))

    assert response.status_code == 302
    disputed_case.refresh_from_db()
    assert disputed_case.status == CaseStatus.COMPLETED
    row = acme_row(disputed_case)
    assert (row.vendor_share, row.platform_share, row.commission_reversal, row.overridden) == (
        D("8.00"),
        D("12.00"),
        D("2.00"),
        True,
    )
    assert not disputed_case.liabilities.get(vendor__code="BOLT").overridden
    event = disputed_case.events.filter(kind=EventKind.STATUS_CHANGED).latest("id")
    assert event.data["correction"] is True
    assert [change["vendor"] for change in event.data["changes"]] == ["ACME"]
    assert any("with new shares for ACME" in m for m in messages_of(response))

    outbox.drain("ledger")
    assert Journal.objects.filter(case=disputed_case, kind=JournalKind.CORRECTION).count() == 1


def test_it_resolves_back_to_approved_without_a_correction(staff, alice, worked_case, acme):
    approve_case(case=worked_case, actor=alice)
    dispute_case(case=worked_case, vendor=acme, message="Not ours.", actor=alice)

    response = post_resolve(staff, worked_case, **shares("10.00", "10.00", "2.00"))

    assert response.status_code == 302
    worked_case.refresh_from_db()
    assert worked_case.status == CaseStatus.APPROVED
    assert acme_row(worked_case).vendor_share == D("10.00")
    event = worked_case.events.filter(kind=EventKind.STATUS_CHANGED).latest("id")
    assert event.data["correction"] is False


def test_it_leaves_a_vendor_whose_shares_were_all_emptied_unchanged(staff, disputed_case):
    response = post_resolve(staff, disputed_case, **shares("", "", ""))

    assert response.status_code == 302
    assert acme_row(disputed_case).vendor_share == D("18.00")
    assert not disputed_case.liabilities.filter(overridden=True).exists()


# ---------------------------------------------------------------- refusals


def test_it_shows_a_wrong_sum_on_the_vendors_share_field(staff, disputed_case):
    response = post_resolve(staff, disputed_case, **shares("15.00", "2.00", "2.00"))

    assert response.status_code == 200
    form = response.context["item"].form
    assert any("must add up to 20.00" in e for e in form.errors["liabilities.ACME.vendor_share"])
    page = response.content.decode()
    assert "must add up to 20.00" in page
    assert "Please correct the errors below." in page
    disputed_case.refresh_from_db()
    assert disputed_case.status == CaseStatus.DISPUTED
    assert acme_row(disputed_case).vendor_share == D("18.00")


def test_it_puts_a_commission_reversal_refusal_on_its_field(staff, disputed_case):
    response = post_resolve(staff, disputed_case, **shares("18.00", "2.00", "3.00"))

    assert response.status_code == 200
    assert response.context["item"].form.errors["liabilities.ACME.commission_reversal"]
    disputed_case.refresh_from_db()
    assert disputed_case.status == CaseStatus.DISPUTED


def test_it_requires_a_message(staff, disputed_case):
    response = post_resolve(staff, disputed_case, "")

    assert response.status_code == 200
    assert response.context["item"].form.errors["message"]
    disputed_case.refresh_from_db()
    assert disputed_case.status == CaseStatus.DISPUTED


def test_it_shows_the_services_refusal_of_a_long_message_on_the_message_field(staff, disputed_case):
    response = post_resolve(staff, disputed_case, "x" * 5001)

    assert response.status_code == 200
    assert response.context["item"].form.errors["message"]
    disputed_case.refresh_from_db()
    assert disputed_case.status == CaseStatus.DISPUTED


def test_it_asks_for_the_other_share_when_only_one_is_given(staff, disputed_case):
    response = post_resolve(staff, disputed_case, **shares("10.00", "", "2.00"))

    assert response.status_code == 200
    assert response.context["item"].form.errors["liabilities.ACME.platform_share"]
    assert acme_row(disputed_case).vendor_share == D("18.00")


@pytest.mark.parametrize("value", ["-1.00", "abc", "1.234"])
def test_it_refuses_malformed_shares_on_their_field(staff, disputed_case, value):
    response = post_resolve(staff, disputed_case, **shares(value, "2.00", "2.00"))

    assert response.status_code == 200
    assert response.context["item"].form.errors["liabilities.ACME.vendor_share"]


def test_it_shows_a_refusal_when_the_dispute_was_resolved_meanwhile(staff, alice, disputed_case):
    data = resolve_post(disputed_case)
    resolve_dispute(case=disputed_case, message="Done on the phone.", actor=alice)

    response = staff.post(case_url("resolve", disputed_case), data)

    assert response.status_code == 200
    errors = response.context["item"].form.non_field_errors()
    assert any(e.startswith("status: ") and "cannot move from completed" in e for e in errors)


# ---------------------------------------------------------------- who may


def test_it_sends_non_staff_to_the_admin_login(client, disputed_case):
    vendor_user = UserFactory(username="vendy")
    assert client.login(username="vendy", password=PASSWORD)

    for response in (
        client.get(case_url("resolve", disputed_case)),
        client.post(case_url("resolve", disputed_case), resolve_post(disputed_case)),
    ):
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    disputed_case.refresh_from_db()
    assert disputed_case.status == CaseStatus.DISPUTED
    assert not vendor_user.is_staff


def test_it_refuses_staff_who_may_only_view_cases(client, disputed_case):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_refundcase"))
    assert client.login(username="viewer", password=PASSWORD)

    page = client.get(case_url("change", disputed_case))
    assert page.status_code == 200
    assert FORM not in page.content.decode()
    assert client.get(case_url("resolve", disputed_case)).status_code == 403
    response = client.post(case_url("resolve", disputed_case), resolve_post(disputed_case))
    assert response.status_code == 403
    disputed_case.refresh_from_db()
    assert disputed_case.status == CaseStatus.DISPUTED
