"""Accounting periods: close and reopen through ledger.closing, each with its
audit trail. The pages collect input; the service decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone

from lib.admin import ExtraViewsMixin, ReadOnlyInline, add_domain_error
from lib.errors import DomainError

from ..closing import close_period, parse_month, reopen_period
from ..models import AccountingPeriod, PeriodEvent
from ..periods import first_open_day, next_month

PROCESS = "admin"


class MonthField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 7)
        kwargs.setdefault("help_text", "YYYY-MM, e.g. 2026-03.")
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        try:
            return parse_month(value)
        except DomainError as error:
            raise forms.ValidationError(error.message) from None


class CloseForm(forms.Form):
    month = MonthField()


class ReopenForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the month is reopened: kept with the period's history.",
    )


class PeriodEventInline(ReadOnlyInline):
    model = PeriodEvent
    fields = ("created_at", "action", "user", "process", "reason", "reclassified")
    readonly_fields = fields
    ordering = ("created_at", "id")


@admin.register(AccountingPeriod)
class AccountingPeriodAdmin(ExtraViewsMixin, admin.ModelAdmin):
    list_display = ("month_label", "status", "closed_by", "closed_at")
    list_filter = ("status",)
    list_select_related = ("closed_by",)
    ordering = ("-month",)
    fields = ("month", "status", "closed_by", "closed_at")
    readonly_fields = fields
    inlines = (PeriodEventInline,)
    actions = ("close_selected",)

    extra_views = (
        ("close/", "close"),
        ("<path:object_id>/reopen/", "reopen"),
    )
    object_links = ("reopen",)

    @admin.display(description="month", ordering="month")
    def month_label(self, obj: AccountingPeriod) -> str:
        return obj.label

    # Rows are made by postings and closes; the status moves only through the service.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_close_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ledger.close_accountingperiod")

    def has_reopen_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ledger.reopen_accountingperiod")

    def changelist_context(self, request: HttpRequest) -> dict[str, Any]:
        return {
            "close_url": self.admin_url("close") if self.has_close_permission(request) else None
        }

    def change_context(self, request: HttpRequest, object_id: str) -> dict[str, Any]:
        return {"can_reopen": self.has_reopen_permission(request)}

    @admin.action(description="Close the selected periods (in month order)", permissions=["close"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet[AccountingPeriod]) -> None:
        for month in sorted(queryset.values_list("month", flat=True)):
            try:
                period = close_period(month=month, user=request.user, process=PROCESS)
            except DomainError as error:
                self.message_user(request, f"{month:%Y-%m}: {error.message}", messages.ERROR)
                return
            self.message_user(request, f"{period.label} is closed.", messages.SUCCESS)

    def close_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_close_permission(request):
            raise PermissionDenied
        form = CloseForm(request.POST or None, initial={"month": _next_to_close()})
        if request.method == "POST" and form.is_valid():
            try:
                period = close_period(
                    month=form.cleaned_data["month"], user=request.user, process=PROCESS
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                self.message_user(request, f"{period.label} is closed.", messages.SUCCESS)
                return HttpResponseRedirect(self.admin_url("change", period.pk))
        return self.render_page(
            request, "admin/ledger/accountingperiod/close.html", "Close a month", form=form
        )

    def reopen_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_reopen_permission(request):
            raise PermissionDenied
        period = self.viewable_or_404(request, object_id)
        form = ReopenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                reopen_period(
                    month=period.month,
                    user=request.user,
                    process=PROCESS,
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                self.message_user(request, f"{period.label} is open again.", messages.SUCCESS)
                return HttpResponseRedirect(self.admin_url("change", period.pk))
        return self.render_page(
            request,
            "admin/ledger/accountingperiod/reopen.html",
            f"Reopen {period.label}",
            parent=period,
            parent_url=self.admin_url("change", period.pk),
            form=form,
            period=period,
        )


def _next_to_close() -> str:
    """The month a close would take next: the first open one, if it has ended."""
    first_open = first_open_day()
    if first_open is None:
        first = AccountingPeriod.objects.order_by("month").values_list("month", flat=True).first()
        if first is None:
            return ""
        first_open = first
    if next_month(first_open) > timezone.localdate():
        return ""
    return f"{first_open:%Y-%m}"
