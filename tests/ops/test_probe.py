"""`python -m ops.probe`: the web container's healthcheck, against a live server."""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from ops.probe import host_header, main
from refunds.models import OutboxMessage
from tests.ops.conftest import free_port
from tests.processes import run

# A live server needs committed data, so those tests are transactional.
POSTGRES = pytest.mark.postgres
LIVE_DB = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_host_header_is_the_first_concrete_allowed_host():
    assert host_header("refunds.example.com,other.example.com") == "refunds.example.com"
    assert host_header(" .example.com") == "example.com"
    assert host_header("*,refunds.example.com") == "refunds.example.com"
    assert host_header("") is None


@POSTGRES
@LIVE_DB
def test_the_probe_passes_the_host_check_with_the_deployments_host(
    live_server, settings, monkeypatch
):
    settings.ALLOWED_HOSTS = ["refunds.example.com"]

    monkeypatch.delenv("DJANGO_ALLOWED_HOSTS", raising=False)
    without = main(["probe", f"{live_server.url}/healthz"])
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", "refunds.example.com")
    healthz = main(["probe", f"{live_server.url}/healthz"])
    readyz = main(["probe", f"{live_server.url}/readyz"])

    assert without == 1  # Host 127.0.0.1: Django refuses it (400)
    assert healthz == 0
    assert readyz == 0


@POSTGRES
@LIVE_DB
def test_the_probe_fails_when_readyz_is_503(live_server, settings, monkeypatch, capsys):
    settings.HEALTH_OUTBOX_MAX_LAG_SECONDS = 60
    message = OutboxMessage.objects.create(
        consumer="ledger", topic="order.paid", available_at=timezone.now()
    )
    OutboxMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    monkeypatch.delenv("DJANGO_ALLOWED_HOSTS", raising=False)

    assert main(["probe", f"{live_server.url}/readyz"]) == 1
    assert capsys.readouterr().out.startswith('503 {"status": "not_ready", "failing": ["outbox"]')


def test_the_probe_fails_when_nothing_listens():
    # As the container runs it: its own interpreter, no Django.
    done = run(
        [sys.executable, "-m", "ops.probe", f"http://127.0.0.1:{free_port()}/healthz"], timeout=60
    )

    assert done.returncode == 1
    assert done.stdout.startswith("None URLError")
