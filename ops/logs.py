"""Log records that carry the request ID, printed as plain text or JSON lines.

settings.LOGGING puts `RequestIdFilter` on the one console handler (so every
record, whatever logger it came from, gets `record.request_id`) and picks the
formatter by LOG_FORMAT: "plain" (one readable line, the request ID appended
when there is one) or "json" (one JSON object per line, for a log shipper).
This module imports nothing from Django: dictConfig loads it early.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from .context import current_request_id

# Attributes every LogRecord has; anything else was passed in `extra=` and is
# added to the JSON object.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "request_id", "taskName"}
)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class PlainFormatter(logging.Formatter):
    """`LEVEL logger: message`, and ` [request_id=...]` when there is one."""

    def __init__(self, fmt: str = "%(levelname)s %(name)s: %(message)s", **kwargs: Any) -> None:
        super().__init__(fmt, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        if request_id:
            first, newline, rest = line.partition("\n")
            line = f"{first} [request_id={request_id}]{newline}{rest}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message,
    request_id (null outside a request or task), the traceback when there is
    one, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        # default=str: a stray object in `extra=` must not lose the line.
        return json.dumps(entry, default=str, ensure_ascii=False)
