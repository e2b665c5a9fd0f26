"""/metrics: who may read it, and that its figures follow requests, tasks and rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from ops.metrics import model_named
from refunds.models import OutboxMessage
from tests.factories import StaffFactory, VendorFactory, make_order
from tests.ops.metrics_scrape import TOKEN, scrape, value
from tests.processes import manage

REQUESTS = "splitledger_http_requests_total"
DURATION_COUNT = "splitledger_http_request_duration_seconds_count"
TASK_COUNT = "splitledger_celery_task_duration_seconds_count"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW_UNAUTHENTICATED = False
    return TOKEN


def test_without_a_token_setting_metrics_are_not_found(client, settings, db):
    settings.METRICS_TOKEN = None
    settings.METRICS_ALLOW_UNAUTHENTICATED = False

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


def test_unauthenticated_metrics_only_when_the_setting_allows_them(client, settings, db):
    settings.METRICS_TOKEN = None
    settings.METRICS_ALLOW_UNAUTHENTICATED = True

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b"splitledger_outbox_pending" in response.content


@pytest.mark.parametrize(
    "authorization",
    [None, "", f"Token {TOKEN}", "Bearer wrong", f"Bearer {TOKEN}x", "Bearer ", "Bearer é"],
)
def test_metrics_are_refused_without_the_right_token(client, token, db, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"splitledger" not in response.content


def test_metrics_are_served_with_the_token(client, token, db):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert b"# TYPE splitledger_http_requests_total counter" in response.content
    assert b"splitledger_metrics_database_up 1.0" in response.content
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 405


def test_requests_are_counted_by_url_pattern_not_by_path(client, token, acme, bolt):
    client.force_login(StaffFactory(username="olga"))
    first = make_order(number="ORD-7001", lines=[(acme, "MUG-01", 1, "20.00", "0.10")])
    second = make_order(number="ORD-7002", lines=[(bolt, "TEE-01", 1, "50.00", "0.10")])
    route = "/api/v1/orders/(?P<number>[^/]+)/"
    before = scrape(client)

    for order in (first, second, first):
        assert client.get(f"/api/v1/orders/{order.number}/").status_code == 200
    assert client.get("/api/v1/orders/ORD-404/").status_code == 404
    assert client.get("/no/such/page/123").status_code == 404
    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(REQUESTS, route=route, method="GET", status="2xx") == 3
    assert moved(REQUESTS, route=route, method="GET", status="4xx") == 1
    assert moved(DURATION_COUNT, route=route, method="GET") == 4
    assert moved(REQUESTS, route="unmatched", method="GET", status="4xx") == 1
    # No label anywhere holds a raw ID.
    labels = {v for (name, ls) in after if name == REQUESTS for k, v in ls if k == "route"}
    assert not any("ORD-" in label for label in labels), labels


def test_an_unknown_method_is_counted_as_other(client, token, db):
    before = scrape(client)

    client.generic("BREW", "/healthz")

    after = scrape(client)
    moved = value(after, REQUESTS, route="/healthz", method="other", status="4xx") - value(
        before, REQUESTS, route="/healthz", method="other", status="4xx"
    )
    assert moved == 1


def test_outbox_gauges_follow_the_rows_per_consumer(client, token, db):
    now = timezone.now()
    rows = [
        OutboxMessage(consumer="ledger", topic="order.paid", available_at=now),
        OutboxMessage(consumer="ledger", topic="order.paid", available_at=now, attempts=2),
        OutboxMessage(consumer="webhooks", topic="case.opened", available_at=now, failed_at=now),
    ]
    OutboxMessage.objects.bulk_create(rows)
    # The oldest pending ledger message was written ten minutes ago.
    OutboxMessage.objects.filter(pk=rows[0].pk).update(created_at=now - timedelta(minutes=10))

    samples = scrape(client)

    assert value(samples, "splitledger_outbox_pending", consumer="ledger") == 2
    assert value(samples, "splitledger_outbox_retrying", consumer="ledger") == 1
    assert value(samples, "splitledger_outbox_failed", consumer="ledger") == 0
    assert 600 <= value(samples, "splitledger_outbox_oldest_pending_age_seconds", consumer="ledger")
    assert value(samples, "splitledger_outbox_pending", consumer="webhooks") == 0
    assert value(samples, "splitledger_outbox_failed", consumer="webhooks") == 1
    # A consumer with nothing to do is still listed, at zero.
    assert ("splitledger_outbox_pending", frozenset({("consumer", "notifications")})) in samples
    assert value(samples, "splitledger_outbox_oldest_pending_age_seconds", consumer="webhooks") == 0


def test_webhook_and_email_gauges_follow_the_rows(client, token, db):
    delivery, endpoint = model_named("WebhookDelivery"), model_named("WebhookEndpoint")
    invitation = model_named("VendorInvitation")
    assert delivery and endpoint and invitation
    hook = endpoint.objects.create(url="https://hooks.example.com/x")
    for key, status, attempts in [
        ("a", "pending", 0),
        ("b", "pending", 3),
        ("c", "failed", 8),
        ("d", "delivered", 1),
    ]:
        delivery.objects.create(
            endpoint=hook,
            event_type="case.opened",
            event_key=key,
            payload={},
            status=status,
            attempts=attempts,
        )
    vendor = VendorFactory(code="INVT")
    user = get_user_model().objects.create_user("ivy", "ivy@example.com")
    invitation.objects.create(vendor=vendor, user=user, new_user=True, email="ivy@example.com")
    invitation.objects.create(
        vendor=vendor, user=user, new_user=False, email="ivy@example.com", attempts=2
    )
    invitation.objects.create(
        vendor=vendor, user=user, new_user=False, email="ivy@example.com", sent_at=timezone.now()
    )

    samples = scrape(client)

    assert value(samples, "splitledger_webhook_deliveries_pending") == 2
    assert value(samples, "splitledger_webhook_deliveries_retrying") == 1
    assert value(samples, "splitledger_webhook_deliveries_failed") == 1
    assert value(samples, "splitledger_email_unsent", kind="invitation") == 2
    assert value(samples, "splitledger_email_unsent_with_errors", kind="invitation") == 1
    assert value(samples, "splitledger_email_unsent", kind="notification") == 0
    assert ("splitledger_email_unsent", frozenset({("kind", "notification")})) in samples


@shared_task(name="tests.ops.add")
def add(x: int, y: int) -> int:
    return x + y


@shared_task(name="tests.ops.explode")
def explode() -> None:
    raise RuntimeError("boom")


def test_task_run_times_are_recorded_per_task_and_state(client, token, db):
    before = scrape(client)

    assert add.delay(2, 3).get() == 5
    assert add.delay(4, 5).get() == 9
    # As a worker runs it: the failure is recorded, not raised here. (Run
    # eagerly with propagation, Celery raises before task_postrun.)
    assert explode.apply(throw=False).state == "FAILURE"
    after = scrape(client)

    def moved(**labels):
        return value(after, TASK_COUNT, **labels) - value(before, TASK_COUNT, **labels)

    assert moved(task="tests.ops.add", state="SUCCESS") == 2
    assert moved(task="tests.ops.explode", state="FAILURE") == 1


def test_in_multiprocess_mode_a_scrape_adds_up_every_process(tmp_path):
    """What gunicorn's workers do: each process counts into the shared
    directory; whichever one is scraped reports the total."""
    import os

    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "METRICS_TOKEN": TOKEN,
    }
    hit = "from django.test import Client; c = Client(HTTP_HOST='localhost'); [c.get('/healthz') for _ in range({})]"
    read = (
        "from django.test import Client;"
        f"print(Client(HTTP_HOST='localhost').get('/metrics', HTTP_AUTHORIZATION='Bearer {TOKEN}').content.decode())"
    )

    def shell(code):
        done = manage("shell", "-c", code, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    shell(hit.format(2))
    shell(hit.format(3))
    text = shell(read)

    line = 'splitledger_http_requests_total{method="GET",route="/healthz",status="2xx"} 5.0'
    assert line in text, text


def test_the_grafana_dashboard_uses_only_metrics_we_serve(client, token, db):
    import json
    import re

    from bench.drills.compose import ROOT

    add.delay(1, 1)
    client.get("/healthz")
    served = {name for name, _ in scrape(client)}
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "splitledger.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]

    used = {name for expr in exprs for name in re.findall(r"splitledger_[a-z_]+", expr)}

    assert len(dashboard["panels"]) >= 10
    assert used and used <= served, used - served
