"""X-Request-ID: taken from the client when safe, made otherwise, echoed always,
and carried into log lines and the tasks a request queues."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from ops.context import TASK_HEADER, bind_request_id, unbind_request_id
from ops.logs import JsonFormatter, PlainFormatter, RequestIdFilter
from ops.task_signals import add_request_id_header, task_finished, task_started

GENERATED = re.compile(r"[0-9a-f]{32}")


def test_a_request_without_an_id_gets_a_new_one(client, db):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]

    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


@pytest.mark.parametrize("given", ["abc-123", "f" * 200, "req:42/retry#1", "00-4bf92f3577b3-01"])
def test_the_clients_id_is_echoed(client, db, given):
    assert client.get("/healthz", HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given", ["", "has space", "x" * 201, "caf\u00e9", "a\tb", "line\r\nSet-Cookie: x=1", "\x7f"]
)
def test_an_unsafe_id_is_replaced(client, db, given):
    assert GENERATED.fullmatch(client.get("/healthz", HTTP_X_REQUEST_ID=given)["X-Request-ID"])


def test_every_response_carries_it_errors_and_redirects_too(client, db):
    for response in (
        client.get("/no/such/page"),  # 404
        client.post("/healthz"),  # 405
        client.get("/"),  # redirect
        client.get("/api/v1/orders/"),  # 401/403 from the API
    ):
        assert GENERATED.fullmatch(response["X-Request-ID"]), response.status_code


@pytest.fixture
def json_lines():
    """A handler like settings.LOGGING's console one, writing JSON to a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_json_log_lines_of_a_request_carry_its_id(client, db, json_lines):
    client.get("/no/such/page", HTTP_X_REQUEST_ID="req-42")
    logging.getLogger("refunds").warning("outside any request")

    lines = json_lines()
    not_found = [line for line in lines if line["message"] == "Not Found: /no/such/page"]
    assert len(not_found) == 1
    assert not_found[0]["request_id"] == "req-42"
    assert not_found[0]["level"] == "WARNING"
    assert not_found[0]["logger"] == "django.request"
    assert lines[-1]["message"] == "outside any request"
    assert lines[-1]["request_id"] is None


def test_json_lines_keep_extras_and_tracebacks_on_one_line():
    record = logging.LogRecord("refunds", logging.ERROR, __file__, 1, "failed %s", ("x",), None)
    record.case_id = "RC-1"
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RequestIdFilter().filter(record)

    line = JsonFormatter().format(record)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed x"
    assert entry["case_id"] == "RC-1"
    assert "ValueError: bad\nvalue" in entry["exc_info"]


def test_plain_lines_append_the_id_only_when_there_is_one():
    formatter, keep = PlainFormatter(), RequestIdFilter()
    outside = logging.LogRecord("refunds", logging.INFO, __file__, 1, "hello", None, None)
    keep.filter(outside)
    token = bind_request_id("req-7")
    try:
        inside = logging.LogRecord("refunds", logging.INFO, __file__, 1, "hello", None, None)
        keep.filter(inside)
    finally:
        unbind_request_id(token)

    assert formatter.format(outside) == "INFO refunds: hello"
    assert formatter.format(inside) == "INFO refunds: hello [request_id=req-7]"


def test_the_settings_put_the_filter_on_the_one_handler(settings):
    console = settings.LOGGING["handlers"]["console"]
    assert console["filters"] == ["request_id"]
    assert console["formatter"] == settings.LOG_FORMAT == "plain"
    assert list(settings.LOGGING["handlers"]) == ["console"]


def test_a_task_queued_in_a_request_carries_its_id_to_the_worker():
    headers: dict = {}
    token = bind_request_id("req-99")
    try:
        add_request_id_header(headers=headers)
    finally:
        unbind_request_id(token)
    assert headers == {TASK_HEADER: "req-99"}

    # On the worker: the header is on the task's request while it runs, and
    # the log lines of the run carry it.
    class Request:
        x_request_id = "req-99"

    class Task:
        name = "tests.ops.probe"
        request = Request()

    record = logging.LogRecord("refunds", logging.INFO, __file__, 1, "in task", None, None)
    task_started(task_id="t-1", task=Task())
    RequestIdFilter().filter(record)
    task_finished(task_id="t-1", task=Task(), state="SUCCESS")
    after = logging.LogRecord("refunds", logging.INFO, __file__, 1, "after", None, None)
    RequestIdFilter().filter(after)

    assert record.request_id == "req-99"
    assert after.request_id is None
