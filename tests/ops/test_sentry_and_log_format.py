"""Sentry is off unless SENTRY_DSN is set, and then reports to that DSN (here a
local server standing in for Sentry's); production logs are JSON lines."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk

from tests.processes import manage


def manage_shell(code: str, **env: str) -> subprocess.CompletedProcess:
    return manage(
        "shell",
        "-c",
        code,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings.local", **env},
    )


def test_sentry_is_off_without_a_dsn(settings):
    assert settings.SENTRY_DSN is None
    assert not sentry_sdk.get_client().is_active()


@pytest.fixture
def fake_sentry():
    """An HTTP server on 127.0.0.1 that keeps every envelope posted to it."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


def test_a_dsn_turns_sentry_on_without_personal_data(fake_sentry):
    port, received = fake_sentry
    code = (
        "import sentry_sdk\n"
        "from ops.context import bind_request_id\n"
        "client = sentry_sdk.get_client()\n"
        "names = sorted(type(i).__name__ for i in client.integrations.values())\n"
        "print(client.is_active(), client.options['send_default_pii'], 'DjangoIntegration' in names,"
        " 'CeleryIntegration' in names)\n"
        "bind_request_id('req-sentry-1')\n"
        "sentry_sdk.capture_message('probe from the tests')\n"
        "sentry_sdk.flush(10)\n"
    )

    done = manage_shell(
        code,
        SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/1",
        SENTRY_ENVIRONMENT="staging",
        SENTRY_RELEASE="splitledger@1.2.3",
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-4:] == ["True", "False", "True", "True"]
    events = [
        json.loads(line)
        for envelope in received
        for line in envelope.splitlines()
        if b'"message"' in line
    ]
    assert len(events) == 1, received
    event = events[0]
    assert event["message"] == "probe from the tests"
    assert event["environment"] == "staging"
    assert event["release"] == "splitledger@1.2.3"
    assert event["tags"]["request_id"] == "req-sentry-1"


def test_log_format_json_prints_one_json_object_per_line():
    code = (
        "import logging\n"
        "logging.getLogger('refunds').warning('probe %s', 'one')\n"
        "logging.getLogger('django.request').warning('probe two')\n"
    )

    done = manage_shell(code, LOG_FORMAT="json")

    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if "probe" in line]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("refunds", "probe one"),
        ("django.request", "probe two"),
    ]
    assert all(line["request_id"] is None and line["level"] == "WARNING" for line in lines)


def test_production_logs_json_by_default_and_a_wrong_format_is_refused():
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "refunds.example.com",
        "DATABASE_URL": "postgres://u:p@db.internal:5432/x",
    }
    code = "from django.conf import settings; print(settings.LOGGING['handlers']['console']['formatter'])"

    assert manage_shell(code, **env).stdout.split()[-1] == "json"
    assert manage_shell(code, **env, LOG_FORMAT="plain").stdout.split()[-1] == "plain"
    wrong = manage_shell(code, **env, LOG_FORMAT="xml")
    assert wrong.returncode != 0
    assert "LOG_FORMAT is 'plain' or 'json'." in wrong.stderr
