"""/healthz and /readyz (ops.health), on the real PostgreSQL and Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.utils import timezone

from ops.health import readiness, unapplied_migrations
from refunds.models import OutboxMessage
from tests.ops.conftest import free_port

pytestmark = pytest.mark.postgres


def outbox_message(*, age: timedelta, failed: bool = False) -> OutboxMessage:
    message = OutboxMessage.objects.create(
        consumer="ledger", topic="order.paid", available_at=timezone.now()
    )
    # created_at is auto_now_add: age it afterwards, as time would.
    OutboxMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - age, failed_at=timezone.now() if failed else None
    )
    return message


def test_healthz_answers_without_the_database(client):
    # No `db` fixture: pytest-django fails any query this test makes.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_200_with_every_check_and_its_figures(client, settings):
    assert settings.CELERY_BROKER_URL, "the tests run with a real Redis broker"

    response = client.get("/readyz")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ready"
    assert body["failing"] == []
    checks = body["checks"]
    assert set(checks) == {"database", "broker", "migrations", "outbox"}
    assert {name: check["status"] for name, check in checks.items()} == dict.fromkeys(checks, "ok")
    assert checks["migrations"]["unapplied"] == 0
    assert checks["outbox"] == {
        "status": "ok",
        "pending": 0,
        "oldest_pending_age_seconds": 0.0,
        "max_lag_seconds": settings.HEALTH_OUTBOX_MAX_LAG_SECONDS,
        "failed": 0,
        "max_failed": settings.HEALTH_OUTBOX_MAX_FAILED,
    }


@pytest.mark.django_db
def test_readyz_is_503_naming_the_broker_when_it_does_not_answer(client):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"]["status"] == "fail"
    assert "Error" in body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_the_broker_check_authenticates_with_the_password_in_the_url(redis_with_password):
    port, password = redis_with_password

    with override_settings(CELERY_BROKER_URL=f"redis://:{password}@127.0.0.1:{port}/0"):
        right = readiness()
    with override_settings(CELERY_BROKER_URL=f"redis://:wrong@127.0.0.1:{port}/0"):
        wrong = readiness()
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0"):
        none = readiness()

    assert right["checks"]["broker"]["status"] == "ok", right
    assert wrong["failing"] == ["broker"]
    assert none["failing"] == ["broker"]
    # The report says what went wrong without repeating the password.
    assert password not in str(right)
    assert "wrong" not in str(wrong).lower().replace("wrongpass", "")


@pytest.mark.django_db
def test_without_a_broker_the_broker_check_is_skipped_and_the_service_is_ready():
    with override_settings(CELERY_BROKER_URL=None):
        report = readiness()

    assert report["status"] == "ready"
    assert report["checks"]["broker"]["status"] == "skipped"


@pytest.mark.django_db
def test_readyz_is_503_when_the_oldest_pending_outbox_message_is_too_old(client, settings):
    settings.HEALTH_OUTBOX_MAX_LAG_SECONDS = 600
    outbox_message(age=timedelta(seconds=100))
    outbox_message(age=timedelta(seconds=700))

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["outbox"]
    outbox = body["checks"]["outbox"]
    assert outbox["pending"] == 2
    assert 700 <= outbox["oldest_pending_age_seconds"] < 800
    assert outbox["problems"] == [
        f"oldest pending message is {int(outbox['oldest_pending_age_seconds'])} s old (limit 600 s)"
    ]


@pytest.mark.django_db
def test_a_pending_message_younger_than_the_limit_is_ready(client, settings):
    settings.HEALTH_OUTBOX_MAX_LAG_SECONDS = 600
    outbox_message(age=timedelta(seconds=500))

    response = client.get("/readyz")

    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["outbox"]["pending"] == 1


@pytest.mark.django_db
def test_parked_messages_over_the_limit_make_it_503_and_do_not_count_as_lag(client, settings):
    settings.HEALTH_OUTBOX_MAX_FAILED = 1
    outbox_message(age=timedelta(days=3), failed=True)

    one = client.get("/readyz")
    outbox_message(age=timedelta(days=2), failed=True)
    two = client.get("/readyz")

    assert one.status_code == 200, one.json()
    assert one.json()["checks"]["outbox"]["oldest_pending_age_seconds"] == 0.0
    assert two.status_code == 503
    assert two.json()["failing"] == ["outbox"]
    assert two.json()["checks"]["outbox"]["failed"] == 2
    assert two.json()["checks"]["outbox"]["problems"] == ["2 messages parked as failed (limit 1)"]


@pytest.mark.django_db
def test_readyz_is_503_naming_a_migration_the_database_has_not_applied(client):
    # Forget one applied migration (rolled back with the test): to Django it
    # is now on disk and not applied, exactly as after deploying new code.
    graph = MigrationExecutor(connection).loader.graph
    app_label, name = sorted(graph.leaf_nodes())[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = %s AND name = %s", [app_label, name]
        )

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["migrations"]
    assert body["checks"]["migrations"]["unapplied"] == 1
    assert body["checks"]["migrations"]["migrations"] == [f"{app_label}.{name}"]


@pytest.mark.django_db
def test_a_clean_migration_result_is_kept_and_an_unclean_one_is_not(settings):
    assert readiness()["checks"]["migrations"] == {"status": "ok", "unapplied": 0, "cached": False}
    assert readiness()["checks"]["migrations"]["cached"] is True

    settings.HEALTH_MIGRATIONS_CACHE_SECONDS = 0
    assert readiness()["checks"]["migrations"]["cached"] is False


def test_unapplied_migrations_lists_the_plan_to_a_target(db):
    # Everything is applied; to a target behind the latest migration the plan
    # has steps (backwards ones), so the function reads the plan, not a constant.
    assert unapplied_migrations() == []
    target = [("cash", "0002_finance")]
    assert "cash.0002_finance" not in unapplied_migrations(targets=target)
    assert unapplied_migrations(targets=target) != []


@pytest.mark.django_db
def test_readyz_refuses_writes(client):
    assert client.post("/readyz").status_code == 405
    assert client.post("/healthz").status_code == 405
