"""`manage.py check_ready`: the same report as /readyz, as an exit status (the
beat container's healthcheck)."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from refunds.models import OutboxMessage
from tests.ops.conftest import free_port
from tests.processes import manage

pytestmark = pytest.mark.postgres


@pytest.mark.django_db
def test_check_ready_prints_each_check_and_exits_0_when_ready():
    out = StringIO()

    call_command("check_ready", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("database: ok (latency_ms=")
    assert lines[1].startswith("broker: ok")
    assert lines[2].startswith("migrations: ok")
    assert lines[3].startswith("outbox: ok (pending=0,")
    assert lines[-1] == "ready"


@pytest.mark.django_db
def test_check_ready_exits_1_with_the_json_report_when_the_outbox_lags(settings):
    settings.HEALTH_OUTBOX_MAX_LAG_SECONDS = 60
    message = OutboxMessage.objects.create(
        consumer="ledger", topic="order.paid", available_at=timezone.now()
    )
    OutboxMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    out = StringIO()

    with pytest.raises(SystemExit) as exit:
        call_command("check_ready", "--json", stdout=out)

    assert exit.value.code == 1
    report = json.loads(out.getvalue())
    assert report["status"] == "not_ready"
    assert report["failing"] == ["outbox"]


def test_check_ready_exits_1_when_the_database_does_not_answer():
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/nothing",
    }

    done = manage("check_ready", "--json", env=env)

    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["failing"] == ["database", "migrations", "outbox"]
    assert "OperationalError" in report["checks"]["database"]["error"]
    assert report["checks"]["migrations"]["error"] == "database unreachable"
