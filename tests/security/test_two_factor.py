"""Staff two-factor sign-in (staffauth, settings.STAFF_REQUIRE_2FA): with it on,
a password alone opens no admin or staff page; a TOTP code from the confirmed
device does. Vendors and API tokens are not asked."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from api.tokens import create_token
from tests.factories import MembershipFactory, StaffFactory, UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def two_factor_on(settings):
    settings.STAFF_REQUIRE_2FA = True


@pytest.fixture
def alice(db):
    return StaffFactory(username="alice")


def code_for(device: TOTPDevice, offset_steps: int = 0) -> str:
    """The code the authenticator app would show now, from the device's key."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def password_session(user) -> Client:
    client = Client()
    response = client.post(
        reverse("admin:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content[:500]
    return client


def wrong_code(device: TOTPDevice) -> str:
    valid = {code_for(device, offset) for offset in range(-2, 3)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)


STAFF_PAGES = ["/admin/", "/admin/refunds/refundcase/", "/staff/"]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_a_password_alone_reaches_no_staff_page(two_factor_on, alice, path):
    confirmed_device(alice)
    client = password_session(alice)

    response = client.get(path)

    assert response.status_code == 302
    target = urlsplit(response.url)
    assert target.path == reverse("staffauth:verify")
    assert parse_qs(target.query)["next"] == [path]


def test_the_api_through_a_password_only_session_is_refused_as_json(two_factor_on, alice):
    confirmed_device(alice)
    client = password_session(alice)

    response = client.get("/api/v1/refund-cases/")

    assert response.status_code == 403
    assert response.json()["code"] == "two_factor_required"


def test_the_right_code_unlocks_every_staff_page(two_factor_on, alice):
    device = confirmed_device(alice)
    client = password_session(alice)

    response = client.post(
        reverse("staffauth:verify"),
        {"token": code_for(device), "next": "/admin/refunds/refundcase/"},
    )

    assert response.status_code == 302
    assert response.url == "/admin/refunds/refundcase/"
    for path in STAFF_PAGES:
        assert client.get(path).status_code == 200, path
    assert client.get("/api/v1/refund-cases/").status_code == 200


def test_a_wrong_code_is_refused_and_the_pages_stay_closed(two_factor_on, alice):
    device = confirmed_device(alice)
    client = password_session(alice)

    response = client.post(reverse("staffauth:verify"), {"token": wrong_code(device)})

    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert client.get("/admin/").status_code == 302
    letters = client.post(reverse("staffauth:verify"), {"token": "abcdef"})
    assert letters.status_code == 400
    assert "6 digits" in letters.content.decode()


def test_after_a_wrong_code_even_the_right_one_waits(two_factor_on, alice, settings):
    # A minute's wait after the first failure (1 s by default), so the test
    # never depends on how fast the two requests follow each other.
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    device = confirmed_device(alice)
    client = password_session(alice)
    client.post(reverse("staffauth:verify"), {"token": wrong_code(device)})

    response = client.post(reverse("staffauth:verify"), {"token": code_for(device)})

    assert response.status_code == 400
    assert "Too many wrong codes" in response.content.decode()
    assert client.get("/admin/").status_code == 302
    device.throttle_reset()
    assert client.post(reverse("staffauth:verify"), {"token": code_for(device)}).status_code == 302


def test_a_code_from_another_users_device_does_not_unlock(two_factor_on, alice):
    confirmed_device(alice)
    other = confirmed_device(StaffFactory(username="oscar"))
    client = password_session(alice)

    response = client.post(reverse("staffauth:verify"), {"token": code_for(other)})

    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_staff_without_a_device_enrol_then_reach_the_admin(two_factor_on, alice):
    client = password_session(alice)

    first = client.get("/admin/")
    assert urlsplit(first.url).path == reverse("staffauth:enrol")
    # verify sends someone with no device to enrolment too
    assert urlsplit(client.get(reverse("staffauth:verify")).url).path == reverse("staffauth:enrol")

    page = client.get(first.url)
    assert page.status_code == 200
    body = page.content.decode()
    device = TOTPDevice.objects.get(user=alice)
    assert not device.confirmed
    assert "otpauth://totp/" in body
    assert "<svg" in body  # the QR code, drawn inline
    assert client.get("/admin/").status_code == 302  # not yet confirmed

    refused = client.post(first.url, {"token": wrong_code(device)})
    assert refused.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    device.throttle_reset()  # as when the doubled wait after a failure has passed

    accepted = client.post(first.url, {"token": code_for(device), "next": "/admin/"})
    assert accepted.status_code == 302
    assert accepted.url == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200
    # Once enrolled, enrolment is not offered again: a new session must verify.
    again = password_session(alice)
    assert urlsplit(again.get(reverse("staffauth:enrol")).url).path == reverse("staffauth:verify")


def test_the_next_address_never_leads_off_site(two_factor_on, alice):
    device = confirmed_device(alice)
    client = password_session(alice)

    response = client.post(
        reverse("staffauth:verify"), {"token": code_for(device), "next": "https://evil.example/"}
    )

    assert response.url == reverse("admin:index")


def test_with_the_setting_off_a_password_opens_the_admin_as_before(settings, alice):
    settings.STAFF_REQUIRE_2FA = False
    confirmed_device(alice)
    client = password_session(alice)

    for path in STAFF_PAGES:
        assert client.get(path).status_code == 200, path


def test_api_tokens_are_not_asked_for_a_second_factor(two_factor_on, alice):
    confirmed_device(alice)
    _, key = create_token(user=alice)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert api.get("/api/v1/refund-cases/").status_code == 200


def test_vendors_sign_in_to_the_portal_with_a_password_only(two_factor_on, acme):
    vendor = acme
    vera = MembershipFactory(user=UserFactory(username="vera"), vendor=vendor, role="owner").user
    client = Client()
    response = client.post(
        reverse("portal:login"), {"username": vera.username, "password": PASSWORD}
    )
    assert response.status_code == 302

    assert client.get(reverse("portal:dashboard")).status_code == 200


def test_an_anonymous_visitor_of_the_verify_page_is_sent_to_log_in(two_factor_on, db):
    response = Client().get(reverse("staffauth:verify"))

    assert response.status_code == 302
    assert urlsplit(response.url).path == reverse("admin:login")
