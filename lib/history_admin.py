"""The admin side of lib/history.py: an object's "History" button lists its events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pghistory.models
from django.apps import apps
from django.contrib import admin, messages
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from pghistory.admin import EventsAdmin

from lib.history import NOT_RECORDED, history_recorded


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
        return response

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
