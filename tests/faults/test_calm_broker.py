"""A calm broker, with real workers on a private Redis.

* A burst of writes queues one drain per consumer, not one per write.
* A slow webhook endpoint holds its own worker, never ledger posting.
* After a broker outage beat's sweeps drain the backlog, emails included,
  with nobody sending a sweep by hand.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ledger.models import Journal, JournalKind
from portal.models import Notification
from refunds import outbox
from refunds.models import OutboxMessage
from refunds.services.cases import LineRequest, open_case
from tests.factories import VendorFactory, make_order
from tests.faults.conftest import outbox_state, wait_for
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BURST = 500
DRAIN = "refunds.tasks.drain_outbox"
CASES = 20


def acme():
    return VendorFactory(code="ACME", email="finance@acme.example")


def order(vendor, i: int = 0):
    return make_order(lines=[(vendor, "MUG-01", 1 + i % 2, "20.00", "0.10")])


def open_one(placed):
    line = placed.lines.order_by("id").first()
    return open_case(order=placed, lines=[LineRequest(line.pk, "damaged", quantity=1)])


def queued_tasks(broker, queue: str) -> list[tuple[str, str]]:
    """(task name, its arguments) of every message waiting in `queue`."""
    messages = [json.loads(raw) for raw in broker.client().lrange(queue, 0, -1)]
    return [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages]


def test_a_burst_of_writes_queues_one_drain_per_consumer_and_everything_is_posted(
    broker, workers, settings
):
    # Long enough that no flag expires during the burst: every drain beyond
    # the first per consumer would be a coalescing failure.
    settings.OUTBOX_DRAIN_FLAG_SECONDS = 600
    vendor = acme()
    placed = [order(vendor, i) for i in range(BURST)]
    for one in placed[:CASES]:
        open_one(one)

    drains = [args for task, args in queued_tasks(broker, "default") if task == DRAIN]
    assert sorted(drains) == [
        "['ledger']",
        "['notifications']",
        "['receivables']",
        "['webhooks']",
    ]
    assert OutboxMessage.objects.filter(consumer="ledger").count() == BURST

    workers.start("w1")
    wait_for(lambda: not OutboxMessage.objects.exists(), 120, outbox_state)
    assert Journal.objects.filter(kind=JournalKind.SALE).count() == BURST
    # Each drain cleared its flag when it started: the next write queues again.
    order(vendor)
    # The paid order goes to the ledger and to receivables; the running worker
    # may already have taken either drain, never may one be queued twice.
    queued = [a for t, a in queued_tasks(broker, "default") if t == DRAIN]
    assert len(queued) == len(set(queued))
    assert set(queued) <= {"['ledger']", "['receivables']"}
    wait_for(
        lambda: Journal.objects.filter(kind=JournalKind.SALE).count() == BURST + 1,
        60,
        outbox_state,
    )


class SlowEndpoint:
    """A webhook receiver that holds every request until released."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                endpoint.arrived.set()
                endpoint.release.wait(300)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_stuck_webhook_endpoint_does_not_delay_posting(broker, workers):
    endpoint = SlowEndpoint()
    try:
        WebhookEndpoint.objects.create(url=endpoint.url, events=[])
        # The request would give up after WEBHOOK_TIMEOUT_SECONDS: make it wait
        # as long as the test needs, as a stuck endpoint would hold it.
        workers.start("posting", queues="default")
        workers.start("io", queues="webhooks,email", concurrency=1, WEBHOOK_TIMEOUT_SECONDS="300")
        vendor = acme()
        open_one(order(vendor))
        wait_for(endpoint.arrived.is_set, 60, "the webhook request to reach the endpoint")

        placed = [order(vendor, i) for i in range(30)]
        wait_for(
            lambda: Journal.objects.filter(kind=JournalKind.SALE).count() == len(placed) + 1,
            60,
            outbox_state,
        )
        # Posted while the webhook request is still held by the endpoint.
        assert not endpoint.release.is_set()
        assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING

        endpoint.release.set()
        wait_for(
            lambda: WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED,
            60,
            lambda: f"the delivery: {WebhookDelivery.objects.values().get()}",
        )
    finally:
        endpoint.close()


def test_after_a_broker_outage_beat_drains_the_backlog_and_sends_the_emails(broker, workers):
    env = {"EMAIL_RESEND_AFTER_SECONDS": "1"}
    workers.start("posting", queues="default", **env)
    workers.start("io", queues="webhooks,email", **env)
    workers.start_beat(**env)
    vendor = acme()
    before = [order(vendor, i) for i in range(5)]
    wait_for(lambda: not OutboxMessage.objects.exists(), 60, outbox_state)

    broker.kill()
    # Emails lost in the outage: a drain that made notifications could not queue them.
    for one in before:
        open_one(one)
    assert outbox.drain("notifications") == len(before)
    lost = Notification.objects.filter(emailed_at__isnull=True).count()
    assert lost == len(before)
    # Work that waits in the outbox: sales, and cases whose notifications are not made yet.
    during = [order(vendor, i) for i in range(20)]
    for one in during[:5]:
        open_one(one)
    assert OutboxMessage.objects.filter(consumer="ledger").count() == len(during)
    time.sleep(2)  # let the workers and beat notice the broker is gone

    broker.start()
    returned = time.monotonic()

    def all_done() -> bool:
        return (
            not OutboxMessage.objects.exists()
            and Notification.objects.count() == len(before) + 5
            and not Notification.objects.filter(emailed_at__isnull=True).exists()
        )

    wait_for(
        all_done,
        60,
        lambda: (
            f"{outbox_state()}; unemailed: "
            f"{list(Notification.objects.filter(emailed_at__isnull=True).values('pk', 'email_error'))}"
        ),
        every=0.2,
    )
    print(f"backlog and emails done {time.monotonic() - returned:.1f} s after Redis came back")
    assert Journal.objects.filter(kind=JournalKind.SALE).count() == len(before) + len(during)
