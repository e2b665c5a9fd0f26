"""Exchange rates (with their CSV import) and the report pages: a form of
dates, the report's table and its CSV. The reports are ledger.reports'."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone

from lib.admin import ExtraViewsMixin
from lib.errors import DomainError

from ..models import ExchangeRate
from ..reports import (
    Report,
    accrued_refunds,
    customer_aging,
    import_rates_csv,
    report_csv,
    tax_report,
    vendor_aging,
)

REPORT_PERMISSION = "ledger.view_journal"


class DateRangeForm(forms.Form):
    date_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    convert = forms.BooleanField(
        required=False, initial=True, label="In the reporting currency too"
    )


class AtDateForm(forms.Form):
    at = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    convert = forms.BooleanField(
        required=False, initial=True, label="In the reporting currency too"
    )


class RatesImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with the header date,currency,rate (ISO dates).")


# name: (title, form, report function)
REPORTS: dict[str, tuple[str, type[forms.Form], Callable[..., Report]]] = {
    "tax": ("Tax report", DateRangeForm, tax_report),
    "accrued_refunds": ("Accrued refunds", AtDateForm, accrued_refunds),
    "vendor_aging": ("Vendor receivables aging", AtDateForm, vendor_aging),
    "customer_aging": ("Customer-side receivables aging", AtDateForm, customer_aging),
}


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ExtraViewsMixin, admin.ModelAdmin):
    list_display = ("date", "currency", "rate", "created_at")
    list_filter = ("currency",)
    date_hierarchy = "date"
    ordering = ("-date", "currency")
    extra_views = (
        ("import/", "import"),
        ("reports/tax/", "report_tax"),
        ("reports/accrued-refunds/", "report_accrued_refunds"),
        ("reports/vendor-aging/", "report_vendor_aging"),
        ("reports/customer-aging/", "report_customer_aging"),
    )

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("ledger.add_exchangerate"):
            raise PermissionDenied
        form = RatesImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                text = upload.read().decode("utf-8")
                result = import_rates_csv(text)
            except UnicodeDecodeError:
                form.add_error("file", "The file is not UTF-8 text.")
            except DomainError as error:
                form.add_error("file", f"{error.field}: {error.message}")
            else:
                messages.success(
                    request,
                    f"{upload.name}: {result.created} rates added, {result.updated} updated.",
                )
                return HttpResponseRedirect(self.admin_url("changelist"))
        return self.render_page(
            request, "admin/ledger/rates_import.html", "Import exchange rates", form=form
        )

    def _report(self, request: HttpRequest, name: str) -> HttpResponse:
        if not request.user.has_perm(REPORT_PERMISSION):
            raise PermissionDenied
        title, form_class, run = REPORTS[name]
        today = timezone.localdate()
        initial: dict[str, Any] = {"convert": True}
        if form_class is DateRangeForm:
            initial |= {"date_from": today.replace(day=1), "date_to": today}
        else:
            initial |= {"at": today}
        form = form_class(request.GET or None, initial=initial)
        report = None
        if form.is_bound and form.is_valid():
            try:
                report = run(**form.cleaned_data)
            except DomainError as error:
                form.add_error(None, error.message)
        if report is not None and request.GET.get("format") == "csv":
            response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
            filename = f"{name.replace('_', '-')}-{_stamp(form.cleaned_data)}.csv"
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        query = request.GET.copy()
        query["format"] = "csv"
        return self.render_page(
            request,
            "admin/ledger/report.html",
            title,
            form=form,
            report=report,
            table=report.table() if report else [],
            csv_url=f"?{query.urlencode()}",
            reports=[(t, self.admin_url(f"report_{n}")) for n, (t, _, _) in REPORTS.items()],
        )

    def report_tax_view(self, request: HttpRequest) -> HttpResponse:
        return self._report(request, "tax")

    def report_accrued_refunds_view(self, request: HttpRequest) -> HttpResponse:
        return self._report(request, "accrued_refunds")

    def report_vendor_aging_view(self, request: HttpRequest) -> HttpResponse:
        return self._report(request, "vendor_aging")

    def report_customer_aging_view(self, request: HttpRequest) -> HttpResponse:
        return self._report(request, "customer_aging")


def _stamp(data: dict[str, Any]) -> str:
    days = [value for key, value in data.items() if isinstance(value, date)]
    return "-".join(f"{day:%Y-%m-%d}" for day in days)
