"""Webhooks: signed, delivered from the outbox, retried with backoff."""

import json
from datetime import timedelta

from django.utils import timezone

from refunds import outbox
from refunds.services.cases import approve_case
from webhooks import delivery as webhook_delivery
from webhooks import signing
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


def test_a_case_event_is_delivered_signed(
    worked_order, receiver, open_worked_case, django_capture_on_commit_callbacks
):
    server = receiver(200)
    endpoint = WebhookEndpoint.objects.create(url=server.url)
    case = open_worked_case(worked_order)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.drain("webhooks")

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.response_status == 200
    headers, body = server.requests[0]
    assert headers["webhook-id"] == delivery.message_id == json.loads(body)["id"]
    assert headers["webhook-signature"].startswith("v1,")
    assert signing.verify(endpoint.secret, headers, body)
    assert not signing.verify(signing.new_secret(), headers, body)
    assert not signing.verify(endpoint.secret, headers, body + b" ")
    assert not signing.verify(endpoint.secret, {**headers, "webhook-id": "msg_other"}, body)
    payload = json.loads(body)
    assert payload["type"] == "case.opened" and payload["data"]["case_id"] == case.case_id
    assert payload["data"]["sequence"] == 1
    assert payload["data"]["liabilities"][0]["vendor_share"] == "18.00"


def test_an_old_timestamp_does_not_verify():
    secret = signing.new_secret()
    body = b'{"id":"msg_1"}'
    fresh = signing.headers([secret], "msg_1", body)
    stale = signing.headers(
        [secret], "msg_1", body, timestamp=int(fresh["webhook-timestamp"]) - 301
    )
    assert signing.verify(secret, fresh, body)
    assert not signing.verify(secret, stale, body)


def test_a_failed_delivery_is_retried_with_backoff(receiver, queued_delivery, settings):
    server = receiver(500, 503, 200)
    delivery = queued_delivery(server.url)
    endpoint = delivery.endpoint

    assert webhook_delivery.deliver(delivery.pk) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_status) == (1, 500)
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=5)
    assert webhook_delivery.deliver(delivery.pk) == "skipped"  # not due yet

    for _ in range(2):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        webhook_delivery.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 3
    assert len(server.requests) == 3
    # The same message id every time, so the receiver can deduplicate; each
    # attempt signed afresh.
    assert {h["webhook-id"] for h, _ in server.requests} == {delivery.message_id}
    assert len({json.loads(body)["id"] for _, body in server.requests}) == 1
    assert all(signing.verify(endpoint.secret, h, body) for h, body in server.requests)


def test_the_backoff_doubles_up_to_six_hours(settings):
    settings.WEBHOOK_BACKOFF_SECONDS = 10
    assert [webhook_delivery.backoff(n).total_seconds() for n in (1, 2, 3, 7)] == [
        10,
        20,
        40,
        640,
    ]
    assert webhook_delivery.backoff(30) == timedelta(hours=6)


def test_a_delivery_fails_for_good_after_the_last_attempt(receiver, queued_delivery, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    server = receiver(500, 500)
    delivery = queued_delivery(server.url)
    webhook_delivery.deliver(delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhook_delivery.deliver(delivery.pk) == DeliveryStatus.FAILED


def test_an_unreachable_endpoint_is_recorded(queued_delivery):
    delivery = queued_delivery("http://127.0.0.1:9/nothing")
    assert webhook_delivery.deliver(delivery.pk) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.error and delivery.response_status is None


def test_a_redirect_is_not_followed(receiver, queued_delivery):
    server = receiver(302)
    delivery = queued_delivery(server.url)
    assert webhook_delivery.deliver(delivery.pk) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.response_status == 302 and len(server.requests) == 1


def test_endpoints_get_only_the_events_they_want_once(
    worked_order, receiver, open_worked_case, alice
):
    server = receiver()
    status_only = WebhookEndpoint.objects.create(url=server.url, events=["case.status_changed"])
    case = open_worked_case(worked_order)
    approve_case(case=case, actor=alice)
    outbox.drain("webhooks")
    for event in case.events.all():
        outbox.emit("case.status_changed", case=case, event=event)
    outbox.drain("webhooks")
    assert list(status_only.deliveries.values_list("event_type", flat=True)) == [
        "case.status_changed"
    ]
