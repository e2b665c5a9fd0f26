"""Endpoints on loopback, private or link-local addresses are refused when saved
and at delivery, after DNS resolution, unless WEBHOOK_ALLOW_PRIVATE_TARGETS."""

import ipaddress
import json
import socket

import pytest

from webhooks import delivery as webhook_delivery
from webhooks.models import DeliveryStatus, WebhookEndpoint

ENDPOINTS = "/api/v1/webhook-endpoints/"

PRIVATE = [
    "http://127.0.0.1/hooks",
    "http://127.8.9.10:8080/hooks",
    "http://10.0.0.5/hooks",
    "http://172.16.3.4/hooks",
    "http://192.168.1.20/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/hooks",
    "http://0.0.0.0/hooks",
    "http://[::1]/hooks",
    "http://[fe80::1]/hooks",
    "http://[fd00::5]/hooks",
    "http://[::ffff:127.0.0.1]/hooks",
    "http://localhost:8000/hooks",
    "http://api.localhost/hooks",
]


@pytest.fixture
def checked(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False


@pytest.fixture
def dns(monkeypatch):
    """Names resolved as the test says (any other name fails to resolve)."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return real(host, port, *args, **kwargs)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize("url", PRIVATE)
def test_a_private_target_is_refused_on_create(staff_api, checked, url):
    response = staff_api.post(ENDPOINTS, {"url": url}, format="json")
    assert response.status_code == 400, response.content
    assert "url" in response.json()["errors"]
    assert not WebhookEndpoint.objects.exists()


def test_a_public_target_is_accepted_and_a_private_one_refused_on_update(staff_api, checked):
    created = staff_api.post(ENDPOINTS, {"url": "https://1.1.1.1/hooks"}, format="json")
    assert created.status_code == 201, created.content
    path = f"{ENDPOINTS}{created.json()['id']}/"
    response = staff_api.patch(path, {"url": "http://10.1.2.3/hooks"}, format="json")
    assert response.status_code == 400 and "url" in response.json()["errors"]
    assert WebhookEndpoint.objects.get().url == "https://1.1.1.1/hooks"


def test_a_name_that_resolves_to_a_private_address_is_refused(staff_api, checked, dns):
    dns["hooks.example.com"] = ["93.184.215.14", "10.0.0.7"]  # one of them is enough
    response = staff_api.post(ENDPOINTS, {"url": "https://hooks.example.com/x"}, format="json")
    assert response.status_code == 400
    assert "10.0.0.7" in json.dumps(response.json())

    dns["hooks.example.com"] = ["93.184.215.14"]
    assert staff_api.post(
        ENDPOINTS, {"url": "https://hooks.example.com/x"}, format="json"
    ).status_code == (201)


def test_other_schemes_are_refused_even_where_private_targets_are_allowed(staff_api):
    for url in ("ftp://1.1.1.1/hooks", "file:///etc/passwd"):
        response = staff_api.post(ENDPOINTS, {"url": url}, format="json")
        assert response.status_code == 400, url


def test_a_private_target_is_allowed_with_the_setting(staff_api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    response = staff_api.post(ENDPOINTS, {"url": "http://127.0.0.1:9/hooks"}, format="json")
    assert response.status_code == 201


def test_a_delivery_is_refused_when_the_name_resolves_to_a_private_address_at_send_time(
    queued_delivery, receiver, settings, dns
):
    """DNS rebinding: public when saved, loopback when sent."""
    server = receiver()
    dns["hooks.example.com"] = ["93.184.215.14"]
    delivery = queued_delivery(f"http://hooks.example.com:{server.port}/x")

    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    dns["hooks.example.com"] = ["127.0.0.1"]
    assert webhook_delivery.deliver(delivery.pk) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.error.startswith("Refused: hooks.example.com resolves to 127.0.0.1")
    assert delivery.response_status is None and server.requests == []


def test_a_delivery_goes_to_the_address_that_was_checked(queued_delivery, receiver, dns):
    """The request connects to the resolved address (no second lookup) and
    still names the host."""
    server = receiver()
    dns["hooks.example.com"] = ["127.0.0.1"]
    delivery = queued_delivery(f"http://hooks.example.com:{server.port}/x?a=1")

    assert webhook_delivery.deliver(delivery.pk) == DeliveryStatus.DELIVERED
    ((headers, _),) = server.requests
    assert headers["Host"] == f"hooks.example.com:{server.port}"
