"""Standard Webhooks signatures (https://www.standardwebhooks.com).

A secret is `whsec_` and the base64 of 32 random bytes; those bytes are the
HMAC key. Each request carries:

- `webhook-id`: the message's id, the same on every retry;
- `webhook-timestamp`: this attempt's Unix time, in seconds;
- `webhook-signature`: `v1,<base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`,
  one per active secret, separated by spaces (two while a rotated-out secret
  is still valid).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a `whsec_` secret stands for."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as error:
        raise ValueError("a webhook secret is whsec_ and base64") from error
    if not key:
        raise ValueError("a webhook secret is never empty")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    active_secrets: Iterable[str], message_id: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers of one attempt, signed with every active secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            sign(secret, message_id, timestamp, body) for secret in active_secrets
        ),
    }


def verify(secret: str, request_headers: Mapping[str, str], body: bytes) -> bool:
    """What a receiver does: one of the signatures is ours, and the timestamp is
    within five minutes of now."""
    found = {name.lower(): value for name, value in request_headers.items()}
    try:
        message_id = found["webhook-id"]
        timestamp = int(found["webhook-timestamp"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, message_id, timestamp, body)
    return any(
        hmac.compare_digest(expected, given)
        for given in found.get("webhook-signature", "").split(" ")
    )
