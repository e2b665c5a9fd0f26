import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from refunds import outbox
from refunds.services.cases import LineRequest, open_case
from tests.api.conftest import client_for
from tests.factories import StaffFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint


class Receiver:
    """A local HTTP endpoint that answers with the statuses it is given (then 200),
    and keeps every request: (headers, body)."""

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
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hooks"
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


@pytest.fixture
def open_worked_case():
    """Opens a case on one mug of the worked order (ACME's)."""

    def make(order):
        mug, _ = order.lines.order_by("sku")
        return open_case(order=order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])

    return make


@pytest.fixture
def queued_delivery(worked_order, open_worked_case):
    """Makes an endpoint for a URL, opens a case on the worked order and drains
    the webhooks consumer: returns the endpoint's one delivery, not sent yet."""

    def make(url: str) -> WebhookDelivery:
        endpoint = WebhookEndpoint.objects.create(url=url)
        open_worked_case(worked_order)
        outbox.drain("webhooks")
        return WebhookDelivery.objects.get(endpoint=endpoint)

    return make


@pytest.fixture
def staff_api(db):
    """A superuser's API client."""
    return client_for(StaffFactory(username="fiona"))
