"""History of money-bearing configuration (django-pghistory), as every app uses it.

Models that decide money (reason policies, commission rates and payout terms,
tax codes, channel mappings, the chart of accounts and its payment-method to
bank mapping, credit note settings) carry `@pghistory.track(...)`: PostgreSQL
triggers write an event row for every insert, update and delete, whoever makes
it (the admin, the API, a task, a shell or plain SQL). The event tables are
append-only (PGHISTORY_APPEND_ONLY: a trigger refuses UPDATE and DELETE).

Who made a change comes from the pghistory context: `HistoryMiddleware` records
the signed-in user and the URL of every writing request; code outside a request
(tasks, commands) wraps its writes in `history_context(user=..., ...)`.

On SQLite (the dev setup) pgtrigger installs no triggers, so no events are
recorded there and both helpers here do nothing: pghistory's context prefixes
every statement with PostgreSQL's `set_config`, which SQLite does not have.
The event tables are still created, so the migrations apply everywhere.

The admin shows an object's history on its "History" button (HistoryAdminMixin):
pghistory's events admin, filtered to the object, lists when, who, from which
URL and the field changes (old → new).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlencode

import pghistory
import pghistory.middleware
import pghistory.models
from django.apps import apps
from django.contrib import admin, messages
from django.db import connection
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from pghistory.admin import EventsAdmin

NOT_RECORDED = (
    "History of changes is recorded on PostgreSQL only; this database (SQLite) keeps none."
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
        return super().__call__(request)  # type: ignore[no-any-return]


def _tracked_model(request: HttpRequest) -> type[Model] | None:
    """The model named by the events page's `obj=app.Model:pk` filter, if any."""
    label = request.GET.get("obj", "").partition(":")[0]
    try:
        return apps.get_model(label) if label else None
    except (LookupError, ValueError):
        return None


class HistoryEventsAdmin(EventsAdmin):
    """pghistory's events admin (PGHISTORY_ADMIN_CLASS): read only, one object's
    history for whoever may see that object, every event for superusers."""

    list_display_links = None

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        return ["pgh_created_at", "pgh_label", "changes", "user", "url"]

    @admin.display(description="what changed")
    def changes(self, event: Any) -> SafeString | str:
        diff = event.pgh_diff or {}
        if not diff:
            return "-"
        return format_html_join(
            "", "<div><b>{}</b>: {} → {}</div>", ((f, old, new) for f, (old, new) in diff.items())
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not history_recorded():
            messages.info(request, NOT_RECORDED)
            return HttpResponseRedirect(request.GET.get("back") or reverse("admin:index"))
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context is not None:
            context["title"] = "History of changes"
        return response  # type: ignore[no-any-return]

    def _may_view(self, request: HttpRequest) -> bool:
        user: Any = request.user
        if not (user.is_active and user.is_staff):
            return False
        if user.is_superuser:
            return True
        model = _tracked_model(request)
        if model is not None and request.GET.get("method") == "tracks":
            opts = model._meta
            return bool(
                user.has_perm(f"{opts.app_label}.view_{opts.model_name}")
                or user.has_perm(f"{opts.app_label}.change_{opts.model_name}")
            )
        return bool(user.has_perm(f"{self.opts.app_label}.view_{self.opts.model_name}"))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_view(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        user: Any = request.user
        return bool(
            history_recorded()
            and user.is_active
            and user.is_staff
            and user.has_perm(f"{self.opts.app_label}.view_{self.opts.model_name}")
        )


class HistoryAdminMixin:
    """The change page's "History" button shows the pghistory events of the object."""

    opts: Any
    admin_site: admin.AdminSite
    has_view_or_change_permission: Callable[..., bool]

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        back = reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[object_id],
        )
        if not history_recorded():
            messages.info(request, NOT_RECORDED)
            return HttpResponseRedirect(back)
        events = pghistory.models.MiddlewareEvents._meta
        url = reverse(f"{self.admin_site.name}:{events.app_label}_{events.model_name}_changelist")
        query = urlencode(
            {"method": "tracks", "obj": f"{self.opts.label}:{object_id}", "back": back}
        )
        return HttpResponseRedirect(f"{url}?{query}")
