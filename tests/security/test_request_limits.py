"""A body larger than REQUEST_MAX_BYTES is refused with 413 on its declared
Content-Length, before anything reads it."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

DECLARED = 200 * 1024 * 1024  # 200 MB


def raw_request(live_server_url: str, path: str, body: bytes, declared: int) -> bytes:
    """POST with a Content-Length far above what is sent, and read the answer:
    a server that tried to read the declared body would wait for bytes that
    never come (the socket times out and the test fails)."""
    address = urlsplit(live_server_url)
    with socket.create_connection((address.hostname, address.port), timeout=20) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {address.hostname}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {declared}\r\n"
            "Connection: close\r\n\r\n"
        )
        sock.sendall(head.encode("ascii") + body)
        # Read the answer's head and its Content-Length worth of body; not to
        # the end of the connection, which the server may keep open.
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        head_part, _, rest = answer.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head_part.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return head_part + b"\r\n\r\n" + rest


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_200_mb_declared_body_is_refused_413_without_being_read(live_server):
    answer = raw_request(live_server.url, "/api/v1/orders/", b'{"small": true}', DECLARED)

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413", answer[:300]
    assert b'"code": "too_large"' in rest or b'"code":"too_large"' in rest


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_portal_page_answers_413_as_a_page(live_server):
    answer = raw_request(live_server.url, "/portal/login/", b"username=x", DECLARED)

    assert answer.split()[1] == b"413"
    assert b"Request too large" in answer


def test_the_test_client_sees_413_for_a_declared_length_above_the_limit(db):
    client = Client()
    response = client.generic(
        "POST",
        "/api/v1/orders/",
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(settings.REQUEST_MAX_BYTES + 1),
    )

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_a_body_within_the_limit_goes_through_to_the_view(db):
    response = Client().generic("POST", "/api/v1/orders/", b"{}", content_type="application/json")

    assert response.status_code in (401, 403)  # reached DRF: no credentials


def test_the_limit_sits_just_above_the_attachment_limit():
    assert settings.REFUND_ATTACHMENT_MAX_BYTES < settings.REQUEST_MAX_BYTES
    assert settings.REQUEST_MAX_BYTES <= settings.REFUND_ATTACHMENT_MAX_BYTES + 2 * 1024 * 1024
