"""Webhook endpoints and their deliveries over the API (who may call what is in
tests/api/test_permissions.py)."""

import base64
import json

from django.utils import timezone

from refunds import outbox
from refunds.services.cases import approve_case
from webhooks import delivery as webhook_delivery
from webhooks.models import DeliveryStatus, DisabledReason, WebhookDelivery, WebhookEndpoint

ENDPOINTS = "/api/v1/webhook-endpoints/"


def test_create_answers_the_secret_once(staff_api):
    response = staff_api.post(
        ENDPOINTS,
        {"url": "https://shop.example.com/hooks", "events": ["case.opened"], "description": "Shop"},
        format="json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert (created["events"], created["is_active"]) == (["case.opened"], True)

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == created["secret"] and endpoint.created_by.username == "fiona"
    listed = staff_api.get(ENDPOINTS).json()["results"]
    shown = staff_api.get(f"{ENDPOINTS}{endpoint.pk}/").json()
    assert [e["id"] for e in listed] == [endpoint.pk]
    assert created["secret"] not in json.dumps([listed, shown])
    assert "secret" not in shown


def test_unknown_event_names_are_refused_and_nothing_is_written(staff_api):
    for events, field in [
        (["case.opened", "case.created"], "events[1]"),
        (["webhook.test"], "events[0]"),
        ("case.opened", "events"),
    ]:
        response = staff_api.post(
            ENDPOINTS, {"url": "https://shop.example.com/hooks", "events": events}, format="json"
        )
        assert response.status_code == 400, response.content
        assert field in json.dumps(response.json()), response.json()
    assert not WebhookEndpoint.objects.exists()

    endpoint = WebhookEndpoint.objects.create(url="https://shop.example.com/hooks")
    response = staff_api.patch(
        f"{ENDPOINTS}{endpoint.pk}/", {"events": ["case.created"]}, format="json"
    )
    assert response.status_code == 400
    endpoint.refresh_from_db()
    assert endpoint.events == []


def test_an_endpoint_is_updated_disabled_enabled_and_deleted(staff_api):
    endpoint = WebhookEndpoint.objects.create(url="https://shop.example.com/hooks")
    path = f"{ENDPOINTS}{endpoint.pk}/"
    updated = staff_api.patch(
        path,
        {"url": "https://shop.example.com/v2", "events": ["credit_note.created"]},
        format="json",
    )
    assert updated.status_code == 200, updated.content
    assert (updated.json()["url"], updated.json()["events"]) == (
        "https://shop.example.com/v2",
        ["credit_note.created"],
    )

    disabled = staff_api.post(path + "disable/", {}, format="json").json()
    assert (disabled["is_active"], disabled["disabled_reason"]) == (False, "staff")
    assert disabled["disabled_at"] is not None

    enabled = staff_api.patch(path, {"is_active": True}, format="json").json()
    assert (enabled["is_active"], enabled["disabled_reason"], enabled["disabled_at"]) == (
        True,
        "",
        None,
    )

    assert staff_api.delete(path).status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert staff_api.get(path).status_code == 404


def test_a_disabled_endpoint_gets_nothing_but_a_test_event(
    staff_api, worked_order, alice, receiver, open_worked_case, django_capture_on_commit_callbacks
):
    server = receiver()
    endpoint = WebhookEndpoint.objects.create(url=server.url)
    case = open_worked_case(worked_order)
    outbox.drain("webhooks")  # one delivery, not sent yet
    staff_api.post(f"{ENDPOINTS}{endpoint.pk}/disable/", {}, format="json")

    with django_capture_on_commit_callbacks(execute=True):
        approve_case(case=case, actor=alice)
        outbox.drain("webhooks")
    pending = WebhookDelivery.objects.get()  # none made for the approval
    assert webhook_delivery.deliver(pending.pk) == "skipped"
    assert webhook_delivery.due_deliveries() == []

    with django_capture_on_commit_callbacks(execute=True):
        test = staff_api.post(f"{ENDPOINTS}{endpoint.pk}/test/", {}, format="json")
    assert test.status_code == 202 and test.json()["event_type"] == "webhook.test"
    assert [json.loads(body)["type"] for _, body in server.requests] == ["webhook.test"]
    assert json.loads(server.requests[0][1])["data"]["endpoint"] == endpoint.pk

    # Enabled again: the waiting delivery is due and goes.
    staff_api.patch(f"{ENDPOINTS}{endpoint.pk}/", {"is_active": True}, format="json")
    assert webhook_delivery.due_deliveries() == [pending.pk]
    assert webhook_delivery.deliver(pending.pk) == DeliveryStatus.DELIVERED


def test_deliveries_show_attempts_and_the_last_status(staff_api, receiver, queued_delivery):
    server = receiver(503)
    delivery = queued_delivery(server.url)
    endpoint = delivery.endpoint
    webhook_delivery.deliver(delivery.pk)

    path = f"{ENDPOINTS}{endpoint.pk}/deliveries/"
    (listed,) = staff_api.get(path).json()["results"]
    assert listed["id"] == delivery.pk
    assert (listed["status"], listed["attempts"], listed["last_status"]) == ("pending", 1, 503)
    assert listed["message_id"] == delivery.message_id
    assert listed["payload"]["type"] == "case.opened"
    assert staff_api.get(f"{path}{delivery.pk}/").json()["last_response"] == "try later"
    assert staff_api.get(path + "?status=delivered").json()["results"] == []

    other = WebhookEndpoint.objects.create(url=server.url)
    assert staff_api.get(f"{ENDPOINTS}{other.pk}/deliveries/{delivery.pk}/").status_code == 404
    assert staff_api.get(f"{ENDPOINTS}{other.pk + 1}/deliveries/").status_code == 404


def test_redeliver_sends_the_same_message_again_with_a_fresh_round(
    staff_api,
    receiver,
    queued_delivery,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    server = receiver(500, 500)
    delivery = queued_delivery(server.url)
    endpoint = delivery.endpoint
    assert webhook_delivery.deliver(delivery.pk) == DeliveryStatus.FAILED

    path = f"{ENDPOINTS}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/"
    with django_capture_on_commit_callbacks(execute=True):
        again = staff_api.post(path, {}, format="json")
    assert again.status_code == 202, again.content
    delivery.refresh_from_db()
    # One more attempt allowed after the redelivery; it failed too.
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    with django_capture_on_commit_callbacks(execute=True):
        staff_api.post(path, {}, format="json")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert {h["webhook-id"] for h, _ in server.requests} == {delivery.message_id}
    assert len({body for _, body in server.requests}) == 1


def test_redeliver_to_a_disabled_endpoint_is_refused(staff_api, queued_delivery):
    delivery = queued_delivery("http://127.0.0.1:9/hooks")
    endpoint = delivery.endpoint
    staff_api.post(f"{ENDPOINTS}{endpoint.pk}/disable/", {}, format="json")
    before = WebhookDelivery.objects.values().get()

    response = staff_api.post(
        f"{ENDPOINTS}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/", {}, format="json"
    )
    assert response.status_code == 400
    assert "endpoint" in json.dumps(response.json())
    assert WebhookDelivery.objects.values().get() == before


def test_an_endpoint_is_disabled_after_repeated_failure(
    worked_order, alice, receiver, open_worked_case, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    server = receiver(500, 200, 500, 500)
    endpoint = WebhookEndpoint.objects.create(url=server.url)
    case = open_worked_case(worked_order)
    approve_case(case=case, actor=alice)
    open_worked_case(worked_order)
    outbox.drain("webhooks")
    outcomes = [
        webhook_delivery.deliver(pk)
        for pk in WebhookDelivery.objects.order_by("id").values_list("pk", flat=True)
    ]
    assert outcomes == ["failed", "delivered", "failed"]
    endpoint.refresh_from_db()
    # The success in between reset the count: one failure in a row, still active.
    assert (endpoint.is_active, endpoint.failures_in_a_row) == (True, 1)

    approve_case(case=case.__class__.objects.latest("id"), actor=alice)
    outbox.drain("webhooks")
    latest = WebhookDelivery.objects.latest("id")
    assert webhook_delivery.deliver(latest.pk) == "failed"
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, DisabledReason.FAILING)
    assert endpoint.disabled_at is not None and endpoint.disabled_at <= timezone.now()
