"""Logging in and out, throttling, password reset, and who may use the portal."""

from __future__ import annotations

import re
from datetime import timedelta

from axes.models import AccessAttempt
from django.core import mail
from django.test import Client
from django.urls import reverse

from portal.context import SESSION_KEY
from tests.factories import PASSWORD, VendorFactory
from tests.portal.test_portal_support import logged_in

DASHBOARD = reverse("portal:dashboard")
LOGIN = reverse("portal:login")

pytest_plugins = ["tests.portal.test_portal_support"]


def login(client: Client, username: str, password: str = PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password})


def test_a_vendor_user_logs_in_and_lands_on_the_dashboard(vera):
    client = Client()
    response = login(client, "vera")
    assert response.status_code == 302
    assert response.url == DASHBOARD
    page = client.get(DASHBOARD)
    assert page.status_code == 200
    assert "Acme Mugs" in page.content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page(db):
    response = Client().get(reverse("portal:case_list"))
    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next=/portal/cases/"


def test_a_wrong_password_is_refused_with_the_form_again(vera):
    response = login(Client(), "vera", "wrong")
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_logout_ends_the_session(vera):
    client = logged_in(vera)
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302
    assert response.url == LOGIN
    assert client.get(DASHBOARD).status_code == 302


def test_five_failures_lock_out_that_username_from_that_address(vera, bruno):
    client = Client()
    for _ in range(4):
        assert login(client, "vera", "guess").status_code == 200
    # The fifth failure reaches the limit: locked from here on.
    assert login(client, "vera", "guess").status_code == 429
    locked = login(client, "vera")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another username from the same address is not affected.
    assert login(Client(), "bruno").status_code == 302
    # Nor is vera from another address.
    assert login(Client(REMOTE_ADDR="10.9.8.7"), "vera").status_code == 302


def test_the_lockout_ends_after_the_cool_off(vera, settings):
    client = Client()
    for _ in range(5):
        login(client, "vera", "guess")
    assert login(client, "vera").status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time
        - settings.AXES_COOLOFF_TIME
        - timedelta(seconds=1)
    )
    assert login(client, "vera").status_code == 302


def test_a_successful_login_clears_earlier_failures(vera):
    client = Client()
    for _ in range(4):
        login(client, "vera", "guess")
    assert login(client, "vera").status_code == 302
    client.post(reverse("portal:logout"))
    for _ in range(4):
        assert login(client, "vera", "guess").status_code == 200
    assert login(client, "vera").status_code == 302


def test_password_reset_sends_a_link_that_sets_a_new_password(vera):
    client = Client()
    response = client.post(reverse("portal:password_reset"), {"email": "vera@example.com"})
    assert response.status_code == 302
    assert response.url == reverse("portal:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["vera@example.com"]
    assert message.subject == "Reset your Splitledger portal password"
    link = re.search(r"http://testserver(/portal/password-reset/\S+/)", message.body).group(1)

    form = client.get(link, follow=True)
    assert form.status_code == 200
    assert "Choose a new password" in form.content.decode()
    new = "a much better passphrase 42"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert done.url == reverse("portal:password_reset_complete")
    assert login(Client(), "vera", new).status_code == 302


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(db):
    response = Client().post(reverse("portal:password_reset"), {"email": "who@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_a_user_without_a_vendor_gets_a_403_that_explains_why(nora):
    response = logged_in(nora).get(DASHBOARD)
    assert response.status_code == 403
    body = response.content.decode()
    assert "not a member of any vendor" in body
    assert "/admin/" not in body


def test_staff_without_a_membership_are_sent_to_the_admin(alice):
    response = logged_in(alice).get(reverse("portal:case_list"))
    assert response.status_code == 403
    assert 'href="/admin/"' in response.content.decode()


def test_a_user_of_two_vendors_starts_at_the_first_and_can_switch(mia, acme, bolt):
    client = logged_in(mia)
    assert "<h1>Acme Mugs</h1>" in client.get(DASHBOARD).content.decode()

    response = client.post(reverse("portal:switch_vendor", args=[bolt.pk]))
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == bolt.pk
    assert "<h1>Bolt Tees</h1>" in client.get(DASHBOARD).content.decode()


def test_switching_to_a_vendor_one_is_not_a_member_of_is_refused(vera, bolt):
    client = logged_in(vera)
    client.get(DASHBOARD)
    assert client.post(reverse("portal:switch_vendor", args=[bolt.pk])).status_code == 404
    assert client.session[SESSION_KEY] != bolt.pk
    assert "<h1>Acme Mugs</h1>" in client.get(DASHBOARD).content.decode()


def test_a_session_naming_a_foreign_vendor_falls_back_to_an_own_one(vera, acme, bolt):
    client = logged_in(vera)
    session = client.session
    session[SESSION_KEY] = bolt.pk
    session.save()
    body = client.get(DASHBOARD).content.decode()
    assert "Bolt Tees" not in body
    assert "<h1>Acme Mugs</h1>" in body
    assert client.session[SESSION_KEY] == acme.pk


def test_a_removed_membership_stops_working_on_the_next_request(mia, acme, bolt):
    client = logged_in(mia)
    client.post(reverse("portal:switch_vendor", args=[bolt.pk]))
    mia.vendor_memberships.filter(vendor=bolt).delete()
    assert "<h1>Acme Mugs</h1>" in client.get(DASHBOARD).content.decode()
    mia.vendor_memberships.all().delete()
    assert client.get(DASHBOARD).status_code == 403


def test_the_switcher_lists_only_own_vendors(mia):
    VendorFactory(code="CRAB", name="Crab Hats")
    body = logged_in(mia).get(DASHBOARD).content.decode()
    assert "Bolt Tees" in body
    assert "Crab Hats" not in body
