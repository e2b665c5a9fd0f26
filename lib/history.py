"""History of money-bearing configuration (django-pghistory), as every app uses it.

Models that decide money (reason policies, commission rates and payout terms,
tax codes, channel mappings, the chart of accounts and its payment-method to
bank mapping, credit note settings) carry `@pghistory.track(...)`: PostgreSQL
triggers write an event row for every insert, update and delete, whoever makes
it (the admin, the API, a task, a shell or plain SQL). The event tables are
append-only (a trigger refuses UPDATE and DELETE, see track_changes).

Who made a change comes from the pghistory context: `HistoryMiddleware` records
the signed-in user and the URL of every writing request; code outside a request
(tasks, commands) wraps its writes in `history_context(user=..., ...)`.

On SQLite (the dev setup) pgtrigger installs no triggers, so no events are
recorded there and both helpers here do nothing: pghistory's context prefixes
every statement with PostgreSQL's `set_config`, which SQLite does not have.
The event tables are still created, so the migrations apply everywhere.

The admin shows an object's history on its "History" button
(lib.history_admin.HistoryAdminMixin):
pghistory's events admin, filtered to the object, lists when, who, from which
URL and the field changes (old → new).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pghistory
import pghistory.middleware
import pgtrigger
from django.db import connection
from django.http import HttpRequest, HttpResponse

NOT_RECORDED = (
    "History of changes is recorded on PostgreSQL only; this database (SQLite) keeps none."
)


def track_changes() -> Callable[[Any], Any]:
    """`@pghistory.track` with insert, update and delete events, append-only.

    The event table refuses DELETE and any UPDATE that changes a row (an update
    that writes the same values passes: Django's test database reload does that).
    """
    return pghistory.track(
        pghistory.InsertEvent(),
        pghistory.UpdateEvent(),
        pghistory.DeleteEvent(),
        append_only=False,
        meta={
            "triggers": [
                pgtrigger.Protect(
                    name="append_only", operation=pgtrigger.Update, condition=pgtrigger.AnyChange()
                ),
                pgtrigger.Protect(name="no_delete", operation=pgtrigger.Delete),
            ]
        },
    )


def history_recorded() -> bool:
    """True where changes are recorded: PostgreSQL (pgtrigger installs nothing elsewhere)."""
    return connection.vendor == "postgresql"


def history_context(**metadata: Any) -> AbstractContextManager[Any]:
    """Attach who/why to the history events written inside the block.

    `user` (a user id) is what the admin's history shows as the author; any
    other keyword is kept in the event's context metadata. A no-op on SQLite.
    """
    if not history_recorded():
        return contextlib.nullcontext()
    return pghistory.context(**metadata)


class HistoryMiddleware(pghistory.middleware.HistoryMiddleware):
    """pghistory's middleware (user and URL of each writing request), PostgreSQL only."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not history_recorded():
            response: HttpResponse = self.get_response(request)
            return response
        return super().__call__(request)
