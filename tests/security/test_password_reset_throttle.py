"""Password reset sends at most PASSWORD_RESET_MAX_PER_EMAIL e-mails per
address and PASSWORD_RESET_MAX_PER_IP requests per client in the window; past
that the page answers exactly the same and nothing is sent."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def _empty_throttle(db):
    caches["throttle"].clear()
    yield
    caches["throttle"].clear()


@pytest.fixture
def vera(acme):
    user = UserFactory(username="vera", email="vera@example.com")
    MembershipFactory(user=user, vendor=acme, role="owner")
    return user


def ask(email: str, ip: str = "203.0.113.7"):
    return Client(REMOTE_ADDR=ip).post(reverse("portal:password_reset"), {"email": email})


def test_eleven_requests_for_one_address_send_three_emails(vera):
    answers = [ask("vera@example.com") for _ in range(11)]

    assert len(mail.outbox) == 3
    assert {a.status_code for a in answers} == {302}
    assert {a.url for a in answers} == {reverse("portal:password_reset_done")}


def test_the_address_limit_holds_whatever_the_case_and_whichever_client(vera):
    ask("vera@example.com", ip="198.51.100.1")
    ask("VERA@example.com", ip="198.51.100.2")
    ask("vera@example.com", ip="198.51.100.3")
    ask("Vera@Example.com", ip="198.51.100.4")

    assert len(mail.outbox) == 3


def test_one_client_asking_for_many_addresses_is_stopped_at_its_limit(settings, acme):
    settings.PASSWORD_RESET_MAX_PER_IP = 4
    for n in range(6):
        user = UserFactory(username=f"user{n}", email=f"user{n}@example.com")
        MembershipFactory(user=user, vendor=acme, role="owner")

    for n in range(6):
        assert ask(f"user{n}@example.com").status_code == 302
    assert len(mail.outbox) == 4
    # Another client is not held back by the first one's requests.
    ask("user5@example.com", ip="192.0.2.99")
    assert len(mail.outbox) == 5


def test_an_unknown_address_past_the_limit_answers_like_a_known_one(vera):
    known = [ask("vera@example.com") for _ in range(5)]
    unknown = [ask("nobody@example.com") for _ in range(5)]

    assert [a.status_code for a in known] == [a.status_code for a in unknown]
    assert {a.url for a in known} == {a.url for a in unknown}
    assert len(mail.outbox) == 3


def test_the_counts_live_in_the_shared_database_cache():
    from django.conf import settings

    assert settings.CACHES["throttle"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    caches["throttle"].set("probe", 1, 60)
    assert caches["throttle"].get("probe") == 1
