"""`integrations` split into `api` and `webhooks`: a database migrated before
the split keeps its keys, endpoints, deliveries and permission grants, and tasks
queued under the old names still run."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from api.models import ApiToken, IdempotencyRecord
from api.tokens import find_active, hash_key
from vendors.permissions import FINANCE_GROUP
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

BEFORE_THE_SPLIT = [
    ("integrations", "0002_idempotency_scope_is_the_principal"),
    ("api", None),
    ("webhooks", None),
]
MOVED = {
    "apitoken": "api",
    "idempotencyrecord": "api",
    "webhookendpoint": "webhooks",
    "webhookdelivery": "webhooks",
}


def _labels() -> dict[str, tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT model, id, app_label FROM django_content_type WHERE model = ANY(%s)",
            [list(MOVED)],
        )
        return {model: (pk, label) for model, pk, label in cursor.fetchall()}


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()
    return executor


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_database_from_before_the_split_keeps_its_rows_and_grants():
    after = _labels()
    assert {model: label for model, (_, label) in after.items()} == MOVED

    executor = _migrate(BEFORE_THE_SPLIT)
    try:
        # The old state: the models are integrations' and so are the content types.
        assert {label for _, label in _labels().values()} == {"integrations"}
        old = executor.loader.project_state(BEFORE_THE_SPLIT[:1]).apps
        owner = old.get_model("auth", "User").objects.create(username="olga", is_active=True)
        key = "sl_written_before_the_split"
        old.get_model("integrations", "ApiToken").objects.create(
            user_id=owner.pk, name="shop", prefix=key[:10], key_hash=hash_key(key)
        )
        endpoint = old.get_model("integrations", "WebhookEndpoint").objects.create(
            url="https://shop.example.com/hooks", secret="s3cret", events=["case.created"]
        )
        old.get_model("integrations", "WebhookDelivery").objects.create(
            endpoint_id=endpoint.pk, event_type="case.created", event_key="e1", payload={"a": 1}
        )
        old.get_model("integrations", "IdempotencyRecord").objects.create(
            scope="user:1/session", key="k", method="POST", path="/api/v1/x/", fingerprint="f"
        )
    finally:
        _migrate(None)

    # Same content type rows (same ids), labelled by the new apps.
    assert _labels() == {model: (after[model][0], label) for model, label in MOVED.items()}
    token = find_active("sl_written_before_the_split")
    assert token is not None and token.user.username == "olga"
    assert ApiToken.objects.get().name == "shop"
    delivery = WebhookDelivery.objects.select_related("endpoint").get()
    assert delivery.endpoint.url == "https://shop.example.com/hooks"
    # webhooks 0002: one name per event, and the same key as a whsec_ secret.
    assert delivery.endpoint.events == ["case.opened"]
    assert delivery.endpoint.secret == "whsec_" + base64.b64encode(b"s3cret").decode()
    assert delivery.status == DeliveryStatus.PENDING
    assert IdempotencyRecord.objects.get().key == "k"
    # The Finance group still holds its view permissions, under the new labels.
    finance = User.objects.create(username="farid", is_staff=True)
    finance.groups.add(Group.objects.get(name=FINANCE_GROUP))
    assert finance.has_perm("api.view_apitoken")
    assert finance.has_perm("webhooks.view_webhookendpoint")
    assert not finance.has_perm("api.add_apitoken")


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
