"""Delivered requests verify with the `standardwebhooks` package, unchanged, and
with the snippets of docs/webhooks.md; rotation signs with both secrets until
the old one expires."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from refunds import outbox
from refunds.services.cases import approve_case
from webhooks.delivery import deliver
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

DOCS = Path(settings.BASE_DIR) / "docs" / "webhooks.md"


def create_endpoint(staff_api, url, **body):
    response = staff_api.post("/api/v1/webhook-endpoints/", {"url": url, **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def deliver_everything(capture):
    with capture(execute=True):
        outbox.drain("webhooks")


def test_the_package_verifies_a_delivered_case_event(
    staff_api, worked_order, receiver, open_worked_case, django_capture_on_commit_callbacks
):
    server = receiver()
    secret = create_endpoint(staff_api, server.url)["secret"]
    case = open_worked_case(worked_order)
    deliver_everything(django_capture_on_commit_callbacks)

    ((headers, body),) = server.requests
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "case.opened" and payload["data"]["case_id"] == case.case_id
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"case.opened", b"case.closed"), headers)


def test_every_retry_keeps_the_webhook_id_and_verifies(
    staff_api, worked_order, receiver, open_worked_case, django_capture_on_commit_callbacks
):
    server = receiver(503, 500)
    secret = create_endpoint(staff_api, server.url)["secret"]
    open_worked_case(worked_order)
    deliver_everything(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()

    for _ in range(2):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        deliver(delivery.pk)

    assert [json.loads(body)["id"] for _, body in server.requests] == [delivery.message_id] * 3
    assert {headers["webhook-id"] for headers, _ in server.requests} == {delivery.message_id}
    for headers, body in server.requests:
        Webhook(secret).verify(body, headers)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)


def test_during_a_rotation_both_secrets_verify_until_the_old_one_expires(
    staff_api, receiver, django_capture_on_commit_callbacks
):
    server = receiver()
    created = create_endpoint(staff_api, server.url)
    old = created["secret"]
    base = f"/api/v1/webhook-endpoints/{created['id']}/"

    rotated = staff_api.post(base + "rotate/", {"overlap_seconds": 3600}, format="json")
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")
    assert rotated.json()["previous_secret_expires_at"] is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_api.post(base + "test/", {}, format="json").status_code == 202

    headers, body = server.requests[-1]
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, headers)["type"] == "webhook.test"
    assert Webhook(new).verify(body, headers)["type"] == "webhook.test"

    # The overlap is over: only the new secret signs.
    WebhookEndpoint.objects.filter(pk=created["id"]).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        staff_api.post(base + "test/", {}, format="json")
    headers, body = server.requests[-1]
    assert len(headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, headers)


def test_a_rotation_without_overlap_drops_the_old_secret_at_once(
    staff_api, receiver, django_capture_on_commit_callbacks
):
    server = receiver()
    created = create_endpoint(staff_api, server.url)
    base = f"/api/v1/webhook-endpoints/{created['id']}/"
    new = staff_api.post(base + "rotate/", {"overlap_seconds": 0}, format="json").json()
    assert new["previous_secret_expires_at"] is None
    with django_capture_on_commit_callbacks(execute=True):
        staff_api.post(base + "test/", {}, format="json")
    headers, body = server.requests[-1]
    Webhook(new["secret"]).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(body, headers)


def test_a_second_rotation_keeps_two_secrets_at_most(staff_api, receiver):
    created = create_endpoint(staff_api, receiver().url)
    base = f"/api/v1/webhook-endpoints/{created['id']}/"
    first = staff_api.post(base + "rotate/", {}, format="json").json()["secret"]
    second = staff_api.post(base + "rotate/", {}, format="json").json()["secret"]
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.signing_secrets(timezone.now()) == [second, first]


def test_an_overlap_out_of_range_is_refused(staff_api, receiver):
    created = create_endpoint(staff_api, receiver().url)
    base = f"/api/v1/webhook-endpoints/{created['id']}/"
    for overlap in (-1, 7 * 86400 + 1, "soon"):
        response = staff_api.post(base + "rotate/", {"overlap_seconds": overlap}, format="json")
        assert response.status_code == 400
        assert "overlap_seconds" in json.dumps(response.json())
    assert WebhookEndpoint.objects.get().secret == created["secret"]


def _docs_snippets() -> dict:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.DOTALL)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), namespace)
    return namespace


def test_the_verification_snippets_of_the_docs_verify_a_delivered_request(
    staff_api, worked_order, alice, receiver, open_worked_case, django_capture_on_commit_callbacks
):
    snippets = _docs_snippets()
    server = receiver()
    created = create_endpoint(staff_api, server.url, events=["case.status_changed"])
    staff_api.post(f"/api/v1/webhook-endpoints/{created['id']}/rotate/", {}, format="json")
    case = open_worked_case(worked_order)
    approve_case(case=case, actor=alice)
    deliver_everything(django_capture_on_commit_callbacks)

    ((headers, body),) = server.requests
    for verify in (snippets["verify_with_package"], snippets["verify_by_hand"]):
        # The secret from before the rotation still verifies during the overlap.
        payload = verify(created["secret"], headers, body)
        assert (payload["type"], payload["data"]["to_status"]) == (
            "case.status_changed",
            "approved",
        )
    with pytest.raises(ValueError):
        snippets["verify_by_hand"](created["secret"], headers, body + b" ")
    with pytest.raises(ValueError):
        stale = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 600)}
        snippets["verify_by_hand"](created["secret"], stale, body)
