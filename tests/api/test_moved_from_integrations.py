"""`integrations` split into `api` and `webhooks`: tasks queued under the old
names still run and old admin addresses lead to the new pages. (Migrating a
database from before the split was tested until the migrations were squashed:
upgrade through a release that has the old migrations first.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import IdempotencyRecord
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_old_task_names_still_run(db):
    from config.celery import app

    app.loader.import_default_modules()
    for name in (
        "integrations.tasks.deliver_webhook",
        "integrations.tasks.retry_due_webhooks",
        "integrations.tasks.purge_idempotency_records",
    ):
        assert name in app.tasks, name
    record = IdempotencyRecord.objects.create(
        scope="user:1/session", key="old", method="POST", path="/api/v1/x/", fingerprint="f"
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - timedelta(days=30)
    )
    assert app.tasks["integrations.tasks.purge_idempotency_records"].delay().get() == 1
    assert not IdempotencyRecord.objects.exists()

    endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hooks")
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="case.created",
        event_key="e1",
        payload={},
        next_attempt_at=timezone.now(),
    )
    assert app.tasks["integrations.tasks.deliver_webhook"].delay(delivery.pk).get() == (
        DeliveryStatus.PENDING
    )
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.error


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/admin/integrations/apitoken/", "/admin/api/apitoken/"),
        ("/admin/integrations/apitoken/7/change/", "/admin/api/apitoken/7/change/"),
        (
            "/admin/integrations/webhookdelivery/?status=failed",
            "/admin/webhooks/webhookdelivery/?status=failed",
        ),
    ],
)
def test_old_admin_addresses_lead_to_the_new_pages(admin_client, old, new):
    response = admin_client.get(old)
    assert response.status_code == 302
    assert response["Location"] == new


def test_the_moved_admin_pages_answer(admin_client):
    for url in ("/admin/api/apitoken/", "/admin/webhooks/webhookdelivery/?status=failed"):
        assert admin_client.get(url).status_code == 200, url
