"""Vendors and their people in the staff admin."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory
from vendors.models import Vendor, VendorInvitation, VendorMembership


def vendor_form(**fields: str) -> dict[str, str]:
    data = {
        "code": "DUCK",
        "name": "Duck Socks",
        "email": "finance@duck.example",
        "currency": "EUR",
        "commission_rate": "0.1200",
        "payout_frequency": "monthly",
        "payout_delay_days": "7",
        "is_active": "on",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    return data


def test_it_lists_and_searches_vendors(staff, acme, bolt):
    url = reverse("admin:vendors_vendor_changelist")

    response = staff.get(url, {"q": "bolt"})

    assert response.status_code == 200
    assert [v.code for v in response.context["cl"].result_list] == ["BOLT"]
    assert "15.00%" in response.content.decode()


def test_it_adds_a_vendor_with_a_member(staff):
    bob = UserFactory(username="bob")

    response = staff.post(
        reverse("admin:vendors_vendor_add"),
        vendor_form(
            **{
                "memberships-TOTAL_FORMS": "1",
                "memberships-0-user": str(bob.pk),
                "memberships-0-role": "finance",
            }
        ),
    )

    assert response.status_code == 302
    vendor = Vendor.objects.get(code="DUCK")
    assert vendor.commission_rate == Decimal("0.1200")
    assert VendorMembership.objects.get(vendor=vendor).user == bob


@pytest.mark.parametrize("rate", ["1.5", "-0.1"])
def test_it_refuses_a_commission_rate_outside_0_to_1(staff, rate):
    response = staff.post(reverse("admin:vendors_vendor_add"), vendor_form(commission_rate=rate))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["commission_rate"]
    assert not Vendor.objects.filter(code="DUCK").exists()


def test_it_keeps_a_vendors_code_once_created(staff, acme):
    membership = MembershipFactory(vendor=acme, user=UserFactory(username="bob"), role="viewer")

    response = staff.post(
        reverse("admin:vendors_vendor_change", args=[acme.pk]),
        vendor_form(
            code="RENAMED",
            name="Acme Mugs & Co",
            **{
                "memberships-TOTAL_FORMS": "1",
                "memberships-INITIAL_FORMS": "1",
                "memberships-0-id": str(membership.pk),
                "memberships-0-vendor": str(acme.pk),
                "memberships-0-user": str(membership.user_id),
                "memberships-0-role": "owner",
            },
        ),
    )

    assert response.status_code == 302
    acme.refresh_from_db()
    membership.refresh_from_db()
    assert (acme.code, acme.name) == ("ACME", "Acme Mugs & Co")
    assert membership.role == "owner"


def test_it_shows_a_vendor_with_its_members(staff, acme):
    MembershipFactory(vendor=acme, user=UserFactory(username="dora"), role="finance")

    response = staff.get(reverse("admin:vendors_vendor_change", args=[acme.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "dora" in page
    assert 'name="code"' not in page


def test_adding_a_vendor_goes_through_the_service_rules(staff):
    # The model column takes up to 32767 days; create_vendor allows at most 365.
    response = staff.post(reverse("admin:vendors_vendor_add"), vendor_form(payout_delay_days="400"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["payout_delay_days"] == ["Between 0 and 365 days."]
    assert not Vendor.objects.filter(code="DUCK").exists()


def test_it_refuses_a_code_the_service_refuses_on_the_code_field(staff):
    response = staff.post(reverse("admin:vendors_vendor_add"), vendor_form(code="du.ck"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code"]
    assert not Vendor.objects.exists()


def test_a_member_added_in_the_admin_is_invited(staff, django_capture_on_commit_callbacks):
    bob = UserFactory(username="bob", email="bob@duck.example")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("admin:vendors_vendor_add"),
            vendor_form(
                payout_delay_days="30",
                **{
                    "memberships-TOTAL_FORMS": "1",
                    "memberships-0-user": str(bob.pk),
                    "memberships-0-role": "finance",
                },
            ),
        )

    assert response.status_code == 302
    vendor = Vendor.objects.get(code="DUCK")
    assert vendor.payout_delay_days == 30
    invitation = VendorInvitation.objects.get(vendor=vendor, user=bob)
    assert invitation.sent_at is not None
    [message] = mail.outbox
    assert message.to == ["bob@duck.example"]
    assert "Duck Socks" in message.subject


def test_a_member_without_an_email_address_is_refused_on_the_user_field(staff):
    nomail = UserFactory(username="nomail", email="")

    response = staff.post(
        reverse("admin:vendors_vendor_add"),
        vendor_form(
            **{
                "memberships-TOTAL_FORMS": "1",
                "memberships-0-user": str(nomail.pk),
                "memberships-0-role": "viewer",
            }
        ),
    )

    assert response.status_code == 200
    [inline] = response.context["inline_admin_formsets"]
    assert inline.formset.forms[0].errors["user"] == ["A valid email address is required."]
    assert not Vendor.objects.filter(code="DUCK").exists()


def test_a_vendor_may_be_made_seller_of_record_or_follow_its_channel(staff, acme):
    response = staff.post(reverse("admin:vendors_vendor_add"), vendor_form(tax_model="seller"))
    assert response.status_code == 302
    assert Vendor.objects.get(code="DUCK").tax_model == "seller"

    change = reverse("admin:vendors_vendor_change", args=[acme.pk])
    response = staff.post(change, vendor_form(code="ACME", tax_model=""))
    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.tax_model == ""  # the channel's
    refused = staff.post(change, vendor_form(code="ACME", tax_model="reseller"))
    assert refused.context["adminform"].form.errors["tax_model"]
