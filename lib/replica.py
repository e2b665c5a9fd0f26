"""Read-only reporting from a PostgreSQL replica, when one is configured.

`DATABASE_REPLICA_URL` (optional) adds `DATABASES["replica"]`, a streaming
replica of the primary, and makes it `settings.REPORTING_DATABASE`. Without it
that is "default" and nothing here changes where anything goes.

The mechanism, on purpose small and explicit:

- `reading_from_replica()`: a context manager. Inside it, `ReplicaRouter`
  (settings.DATABASE_ROUTERS) sends every ORM *read* to the reporting
  database; outside it, every read goes to "default". Code that opens its own
  cursor or transaction asks `django.db.router.db_for_read(Model)` which
  alias that is.
- Writes always go to "default", inside the block or not: `db_for_write`
  never answers "replica", so a write made while reading a report (an audit
  row, a session) lands on the primary, and the replica is never written to.
- `reads_from_replica`: the same, as a view decorator, that also covers a
  streamed response (its rows are read after the view returned: each chunk
  is made inside the block).

Why a block and not `.using("replica")` on each queryset: a report reads
through many selectors and related lookups; one `with` around the view's read
cannot miss one, and the routing ends with the block (a contextvar, so
threads and async tasks do not leak it into each other).

Staleness: a replica lags the primary (normally well under a second, more
under load or after a network cut), so a report may be seconds old. That is
acceptable for what is routed here, which only shows figures to people: the
staff dashboard, the reports API, the exports, the settlement statements' and
reconciliation periods' CSV/PDF renditions. Nothing that decides money
reads from the replica: posting, matching, payouts, refund decisions,
closing and sign-off, permission checks and the object a download is asked
for (looked up on the primary before the block) all read "default".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.http import StreamingHttpResponse

DEFAULT = "default"
REPLICA = "replica"

_reading: ContextVar[bool] = ContextVar("reading_from_replica", default=False)

View = TypeVar("View", bound=Callable[..., Any])


def reporting_db() -> str:
    """The alias reports read from: "replica" when one is configured, else "default"."""
    alias = getattr(settings, "REPORTING_DATABASE", DEFAULT)
    return alias if alias in settings.DATABASES else DEFAULT


def reading_db() -> str:
    """Where a read made now goes: the reporting database inside
    `reading_from_replica()`, "default" everywhere else."""
    return reporting_db() if _reading.get() else DEFAULT


@contextmanager
def reading_from_replica() -> Iterator[None]:
    """Reads inside go to the reporting database (writes still go to "default")."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def replica_steps(chunks: Any) -> Iterator[Any]:
    """A streamed body whose every chunk is read inside `reading_from_replica()`
    (the server pulls it after the view has returned)."""
    iterator = iter(chunks)
    while True:
        with reading_from_replica():
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk


def reads_from_replica(view: View) -> View:
    """A view (function or method) whose reads go to the reporting database,
    a streamed body's included."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reading_from_replica():
            response = view(*args, **kwargs)
        if isinstance(response, StreamingHttpResponse):
            response.streaming_content = replica_steps(response.streaming_content)
        return response

    return wrapper  # type: ignore[return-value]


class ReplicaRouter:
    """Reads inside `reading_from_replica()` to the reporting database; every
    other read, every write and every migration to "default"."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return reading_db()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The replica holds the primary's rows: an object read from one may
        # refer to an object read from the other.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # A replica follows the primary's schema by replication.
        return False if db == REPLICA else None
