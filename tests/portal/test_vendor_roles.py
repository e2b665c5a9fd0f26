"""One role table (vendors.permissions.ROLE_ACTIONS) decides for the portal and
the API alike; a deactivated vendor or a removed seat ends access on both at
the next request."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.context import SESSION_KEY
from refunds.models import Attachment, CaseEvent, CaseStatus, RefundCase, VendorLiability
from tests.api.conftest import client_for
from tests.factories import MembershipFactory, UserFactory
from tests.portal.test_portal_support import logged_in, single_vendor_case
from tests.portal.test_statement_pages import statements  # noqa: F401 (a fixture)
from vendors.models import Vendor, VendorMembership, VendorRole
from vendors.permissions import ROLE_ACTIONS, VendorAction, role_may, vendor_may

pytest_plugins = ["tests.portal.test_portal_support"]

ROLES = [VendorRole.OWNER, VendorRole.FINANCE, VendorRole.VIEWER]


def test_the_table_gives_every_role_a_row_and_a_viewer_only_reads():
    assert set(ROLE_ACTIONS) == set(VendorRole.values)
    assert ROLE_ACTIONS[VendorRole.VIEWER] == {VendorAction.VIEW, VendorAction.DOWNLOAD_STATEMENTS}
    assert ROLE_ACTIONS[VendorRole.OWNER] == set(VendorAction)
    assert VendorAction.MANAGE_USERS not in ROLE_ACTIONS[VendorRole.FINANCE]


def _seat(acme: Vendor, role: str):
    return MembershipFactory(user=UserFactory(username=f"u-{role}"), vendor=acme, role=role).user


def _portal(client, action: VendorAction, case: RefundCase) -> int:
    if action == VendorAction.VIEW:
        return client.get(reverse("portal:case_detail", args=[case.case_id])).status_code
    if action == VendorAction.ACKNOWLEDGE:
        return client.post(reverse("portal:acknowledge", args=[case.case_id])).status_code
    files = (
        {
            "files": SimpleUploadedFile(
                "proof.png", b"\x89PNG\r\n\x1a\npng", content_type="image/png"
            )
        }
        if action == VendorAction.ATTACH
        else {}
    )
    url = reverse("portal:dispute", args=[case.case_id])
    return client.post(url, {"message": "Not ours", **files}).status_code


def _api(client, action: VendorAction, case: RefundCase) -> int:
    base = f"/api/v1/refund-cases/{case.case_id}/"
    if action == VendorAction.VIEW:
        return client.get(base).status_code
    if action == VendorAction.ATTACH:
        upload = SimpleUploadedFile("proof.png", b"\x89PNG\r\n\x1a\npng", content_type="image/png")
        body = {"file": upload, "vendor": "ACME"}
        return client.post(base + "attachments/", body, format="multipart").status_code
    body = {"vendor": "ACME", "message": "Not ours"}
    return client.post(base + f"{action}/", body, format="json").status_code


def _file() -> SimpleUploadedFile:
    return SimpleUploadedFile("proof.png", b"\x89PNG\r\n\x1a\npng", content_type="image/png")


def _written(case: RefundCase) -> tuple:
    case.refresh_from_db()
    return (
        case.status,
        CaseEvent.objects.filter(case=case).count(),
        Attachment.objects.filter(case=case).count(),
        VendorLiability.objects.filter(case=case, acknowledged_at__isnull=False).count(),
    )


CASE_ACTIONS = [
    VendorAction.VIEW,
    VendorAction.ACKNOWLEDGE,
    VendorAction.DISPUTE,
    VendorAction.ATTACH,
]


@pytest.mark.parametrize("channel", ["portal", "api"])
@pytest.mark.parametrize("action", CASE_ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_each_channel_allows_a_case_action_exactly_when_the_table_does(acme, role, action, channel):
    user = _seat(acme, role)
    case = single_vendor_case(acme)
    before = _written(case)
    if channel == "portal":
        status = _portal(logged_in(user), action, case)
        allowed_status = 200 if action == VendorAction.VIEW else 302
    else:
        status = _api(client_for(user), action, case)
        allowed_status = 201 if action == VendorAction.ATTACH else 200

    if role_may(role, action):
        assert status == allowed_status
    else:
        assert status == 403
        assert _written(case) == before, "a refused answer wrote something"


@pytest.mark.parametrize("role", ROLES)
def test_managing_users_follows_the_table(acme, role):
    client = client_for(_seat(acme, role))
    listing = client.get("/api/v1/vendors/ACME/users/")
    onboarding = client.post(
        "/api/v1/vendors/ACME/users/", {"username": "newbie", "email": "n@example.com"}
    )
    if role_may(role, VendorAction.MANAGE_USERS):
        assert listing.status_code == 200
        assert onboarding.status_code == 201
        assert VendorMembership.objects.filter(vendor=acme, user__username="newbie").exists()
    else:
        assert (listing.status_code, onboarding.status_code) == (403, 403)
        assert not VendorMembership.objects.filter(user__username="newbie").exists()


def test_an_owner_manages_only_its_own_vendors_users(acme, bolt):
    """Owner at ACME, viewer at BOLT: BOLT's users stay closed to them."""
    user = _seat(acme, VendorRole.OWNER)
    MembershipFactory(user=user, vendor=bolt, role=VendorRole.VIEWER)
    client = client_for(user)
    assert client.get("/api/v1/vendors/ACME/users/").status_code == 200
    assert client.get("/api/v1/vendors/BOLT/users/").status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_statement_downloads_follow_the_table(acme, role, statements):  # noqa: F811
    client = logged_in(_seat(acme, role))
    week_1 = statements["acme_week_1"]
    assert client.get(reverse("statements:detail", args=[week_1.pk])).status_code == 200
    expected = 200 if role_may(role, VendorAction.DOWNLOAD_STATEMENTS) else 403
    for name in ("statements:csv", "statements:pdf"):
        assert client.get(reverse(name, args=[week_1.pk])).status_code == expected


def test_the_viewers_case_page_offers_no_answer(victor, acme):
    case = single_vendor_case(acme)
    body = logged_in(victor).get(reverse("portal:case_detail", args=[case.case_id])).content
    assert b'id="dispute-form"' not in body and b'id="acknowledge-form"' not in body


# ---------------------------------------------------------------- losing access


def test_vendor_may_needs_an_active_vendor_and_an_active_user(acme):
    user = _seat(acme, VendorRole.OWNER)
    membership = VendorMembership.objects.select_related("vendor", "user").get(user=user)
    assert vendor_may(membership, acme, VendorAction.DISPUTE)
    assert vendor_may(UserFactory(username="u-owner"), acme, VendorAction.DISPUTE)
    membership.vendor.is_active = False
    assert not vendor_may(membership, acme, VendorAction.DISPUTE)
    Vendor.objects.filter(pk=acme.pk).update(is_active=False)
    assert not vendor_may(UserFactory(username="u-owner"), acme, VendorAction.VIEW)


def _portal_pages(client, case: RefundCase) -> list[int]:
    return [
        client.get(reverse("portal:dashboard")).status_code,
        client.get(reverse("portal:case_list")).status_code,
        client.get(reverse("portal:case_detail", args=[case.case_id])).status_code,
        client.get(reverse("statements:list")).status_code,
        client.post(reverse("portal:dispute", args=[case.case_id]), {"message": "No"}).status_code,
    ]


def test_a_deactivated_vendor_loses_the_portal_at_the_next_request(vera, acme):
    case = single_vendor_case(acme)
    client = logged_in(vera)
    assert client.get(reverse("portal:case_list")).status_code == 200
    assert client.session[SESSION_KEY] == acme.pk  # the session names ACME

    Vendor.objects.filter(pk=acme.pk).update(is_active=False)
    assert _portal_pages(client, case) == [403, 403, 403, 403, 403]
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING

    Vendor.objects.filter(pk=acme.pk).update(is_active=True)
    assert client.get(reverse("portal:case_list")).status_code == 200


def test_a_deactivated_vendor_drops_out_of_a_multi_vendor_session(mia, acme, bolt):
    """mia (finance at ACME, viewer at BOLT) works for ACME; ACME is switched off."""
    case = single_vendor_case(acme)
    client = logged_in(mia)
    client.get(reverse("portal:dashboard"))
    assert client.session[SESSION_KEY] == acme.pk

    Vendor.objects.filter(pk=acme.pk).update(is_active=False)
    body = client.get(reverse("portal:dashboard")).content.decode()
    assert "<h1>Bolt Tees</h1>" in body and "Acme Mugs" not in body
    assert client.session[SESSION_KEY] == bolt.pk
    assert client.get(reverse("portal:case_detail", args=[case.case_id])).status_code == 404
    assert client.post(reverse("portal:switch_vendor", args=[acme.pk])).status_code == 404


def test_a_removed_seat_loses_the_portal_at_the_next_request(vera, acme):
    case = single_vendor_case(acme)
    client = logged_in(vera)
    assert client.get(reverse("portal:case_detail", args=[case.case_id])).status_code == 200
    VendorMembership.objects.filter(user=vera).delete()
    assert _portal_pages(client, case) == [403, 403, 403, 403, 403]


def _api_calls(client, case: RefundCase) -> list[int]:
    base = f"/api/v1/refund-cases/{case.case_id}/"
    return [
        client.get("/api/v1/refund-cases/").status_code,
        client.get(base).status_code,
        client.get("/api/v1/vendors/ACME/").status_code,
        client.post(base + "dispute/", {"vendor": "ACME", "message": "No"}).status_code,
        client.post(
            base + "attachments/", {"vendor": "ACME", "file": _file()}, format="multipart"
        ).status_code,
    ]


@pytest.mark.parametrize("auth", ["key", "session"])
@pytest.mark.parametrize("change", ["deactivate", "remove"])
def test_the_api_ends_with_the_vendor_or_the_seat(vera, acme, auth, change):
    case = single_vendor_case(acme)
    if auth == "key":
        client = client_for(vera)
    else:
        from rest_framework.test import APIClient

        client = APIClient(enforce_csrf_checks=False)
        client.force_login(vera)
    assert client.get(f"/api/v1/refund-cases/{case.case_id}/").status_code == 200
    base = f"/api/v1/refund-cases/{case.case_id}/"
    # The same client may write until then (no CSRF or other refusal in the way).
    assert client.post(base + "acknowledge/", {"vendor": "ACME"}).status_code == 200
    before = _written(case)

    if change == "deactivate":
        Vendor.objects.filter(pk=acme.pk).update(is_active=False)
    else:
        VendorMembership.objects.filter(user=vera, vendor=acme).delete()
    assert _api_calls(client, case) == [403, 403, 403, 403, 403]
    assert _written(case) == before
