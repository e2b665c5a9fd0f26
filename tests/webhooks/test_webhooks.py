"""Webhooks: signed, delivered from the outbox, retried with backoff."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from refunds import outbox
from refunds.services.cases import LineRequest, approve_case, open_case
from webhooks import delivery as webhook_delivery
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


class Receiver:
    """A local HTTP endpoint that answers with the statuses it is given."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"try later")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    servers = []

    def make(*statuses):
        server = Receiver(statuses)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def open_worked_case(order):
    mug, _ = order.lines.order_by("sku")
    return open_case(order=order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])


def test_a_case_event_is_delivered_signed(
    worked_order, receiver, django_capture_on_commit_callbacks
):
    server = receiver(200)
    endpoint = WebhookEndpoint.objects.create(url=server.url, secret="s3cret")
    case = open_worked_case(worked_order)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.drain("webhooks")

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.response_status == 200
    headers, body = server.requests[0]
    assert headers["Splitledger-Event"] == "case.created"
    assert webhook_delivery.verify("s3cret", headers["Splitledger-Signature"], body)
    assert not webhook_delivery.verify("wrong", headers["Splitledger-Signature"], body)
    assert not webhook_delivery.verify("s3cret", headers["Splitledger-Signature"], body + b" ")
    payload = json.loads(body)
    assert payload["type"] == "case.created" and payload["data"]["case_id"] == case.case_id
    assert payload["data"]["liabilities"][0]["vendor_share"] == "18.00"


def test_a_failed_delivery_is_retried_with_backoff(worked_order, receiver, settings):
    server = receiver(500, 503, 200)
    WebhookEndpoint.objects.create(url=server.url, secret="s")
    open_worked_case(worked_order)
    outbox.drain("webhooks")
    delivery = WebhookDelivery.objects.get()

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
    # The same event id every time, so the receiver can deduplicate.
    assert len({json.loads(body)["id"] for _, body in server.requests}) == 1


def test_a_delivery_fails_for_good_after_the_last_attempt(worked_order, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    server = receiver(500, 500)
    WebhookEndpoint.objects.create(url=server.url, secret="s")
    open_worked_case(worked_order)
    outbox.drain("webhooks")
    delivery = WebhookDelivery.objects.get()
    webhook_delivery.deliver(delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhook_delivery.deliver(delivery.pk) == DeliveryStatus.FAILED


def test_an_unreachable_endpoint_is_recorded(worked_order):
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/nothing", secret="s")
    open_worked_case(worked_order)
    outbox.drain("webhooks")
    delivery = WebhookDelivery.objects.get()
    assert webhook_delivery.deliver(delivery.pk) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.error and delivery.response_status is None


def test_endpoints_get_only_the_events_they_want_once(worked_order, receiver, alice):
    server = receiver()
    status_only = WebhookEndpoint.objects.create(
        url=server.url, secret="s", events=["case.status_changed"]
    )
    case = open_worked_case(worked_order)
    approve_case(case=case, actor=alice)
    outbox.drain("webhooks")
    for event in case.events.all():
        outbox.emit("case.status_changed", case=case, event=event)
    outbox.drain("webhooks")
    assert list(status_only.deliveries.values_list("event_type", flat=True)) == [
        "case.status_changed"
    ]
