"""The request ID of the work in hand: an HTTP request, or a Celery task that
one queued. It lives in a context variable, so each gunicorn thread (and each
task a worker runs) sees its own; the logging filter in ops.logging reads it.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

HEADER = "X-Request-ID"
# The Celery message header that carries it from the web process to a worker.
TASK_HEADER = "x_request_id"
MAX_LENGTH = 200

# Visible ASCII only: no spaces, control characters or line breaks, so a
# client-chosen ID can neither split a log line nor smuggle a header.
_ACCEPTABLE = re.compile(rf"[\x21-\x7e]{{1,{MAX_LENGTH}}}")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(value: str | None) -> Token[str | None]:
    return _request_id.set(value)


def unbind_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


def clear_request_id(**_: object) -> None:
    """request_finished (ops.apps): the response is closed, after Django has
    logged a 4xx/5xx and any streaming body was sent, all under the ID."""
    _request_id.set(None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str | None:
    """The client's ID when it is one we can log and echo safely, else None."""
    if value is not None and _ACCEPTABLE.fullmatch(value):
        return value
    return None
