"""The outbox: messages waiting, failed, and retried by staff."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from lib.admin import (
    BigTableAdmin,
    when,
)
from refunds.models import (
    OutboxMessage,
)
from refunds.outbox import retry_messages

from .common import MAX_BULK_CASES, search_terms


class OutboxStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("failed", "Failed (parked)"),
            ("retrying", "Failing, will retry"),
            ("waiting", "Waiting for the drainer"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "failed":
            return queryset.filter(failed_at__isnull=False)
        if value == "retrying":
            return queryset.filter(failed_at__isnull=True, attempts__gt=0)
        if value == "waiting":
            return queryset.filter(failed_at__isnull=True, attempts=0)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(BigTableAdmin):
    """Work the ledger, notifications and webhooks still have to do. A message
    that keeps failing is parked here with its error until staff retry it."""

    list_display = (
        "id",
        "state",
        "consumer",
        "topic",
        "about",
        "attempts",
        "error",
        "next_try",
        "created",
    )
    list_filter = (OutboxStateFilter, "consumer", "topic")
    list_select_related = ("case", "order")
    sortable_by = ("id",)
    search_fields = ("consumer",)
    search_help_text = "Exact consumer, topic, case ID or order number."
    actions = ("retry_selected",)
    fields = (
        "consumer",
        "topic",
        "about",
        "state",
        "attempts",
        "last_error",
        "next_try",
        "failed",
        "created",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Nothing is edited: a message is only given back to the drainer (the action).
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Deleting a message loses its work (a journal, a notification).
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[OutboxMessage], search_term: str
    ) -> tuple[QuerySet[OutboxMessage], bool]:
        for term in search_terms(search_term):
            upper = term.upper()
            queryset = queryset.filter(
                Q(consumer=term)
                | Q(topic=term)
                | Q(case__case_id=upper)
                | Q(order__number__in=sorted({term, upper}))
            )
        return queryset, False

    @admin.display(description="state")
    def state(self, obj: OutboxMessage) -> str:
        if obj.failed_at is not None:
            return "Failed (parked)"
        if obj.attempts:
            return "Failing, will retry"
        return "Waiting"

    @admin.display(description="about")
    def about(self, obj: OutboxMessage) -> SafeString | str:
        if obj.case_id is not None:
            url = reverse("admin:refunds_refundcase_change", args=[obj.case_id])
            return format_html('<a class="nowrap" href="{}">{}</a>', url, obj.case.case_id)
        if obj.order_id is not None:
            url = reverse("admin:refunds_order_change", args=[obj.order_id])
            return format_html('<a class="nowrap" href="{}">{}</a>', url, obj.order.number)
        return "-"

    @admin.display(description="last error")
    def error(self, obj: OutboxMessage) -> str:
        text = obj.last_error.strip().splitlines()[0] if obj.last_error.strip() else ""
        return text if len(text) <= 120 else f"{text[:119]}…"

    @admin.display(description="next try")
    def next_try(self, obj: OutboxMessage) -> str:
        return "-" if obj.failed_at is not None else when(obj.available_at)

    @admin.display(description="failed at")
    def failed(self, obj: OutboxMessage) -> str:
        return when(obj.failed_at)

    @admin.display(description="created", ordering="id")
    def created(self, obj: OutboxMessage) -> str:
        return when(obj.created_at)

    @admin.action(description="Retry selected messages now", permissions=["retry"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        ids = list(queryset.values_list("pk", flat=True)[: MAX_BULK_CASES + 1])
        if len(ids) > MAX_BULK_CASES:
            self.message_user(
                request,
                f"Select at most {MAX_BULK_CASES} messages at a time; nothing was retried.",
                messages.ERROR,
            )
            return
        count = retry_messages(ids=ids)
        if count:
            self.message_user(
                request,
                f"{count} message{'s' if count != 1 else ''} given back to the drainer; "
                "a drain is queued.",
                messages.SUCCESS,
            )
        skipped = len(ids) - count
        if skipped:
            self.message_user(
                request,
                f"{skipped} message{'s' if skipped != 1 else ''} not retried: not failed "
                "(still waiting for its first try) or already done.",
                messages.WARNING,
            )
