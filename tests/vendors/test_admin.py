"""Vendors and their people in the staff admin."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory
from vendors.models import Vendor, VendorMembership

PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff(client, alice):
    assert client.login(username="alice", password=PASSWORD)
    return client


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
