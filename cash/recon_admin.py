"""Admin for reconciliation by account and month: run, sign off, re-open (with
a reason), download the CSV and PDF report; write-off requests and their
approval by another user; the closed cases whose refund no provider row
matches, for review. The rules live in cash.services.periods, .writeoffs and
.case_rules; admin only collects and shows."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from lib.admin import ExtraViewsMixin, ViewOnlyAdmin, money_cell
from lib.admin_actions import each_one
from lib.downloads import download
from lib.replica import reading_from_replica
from refunds.models import RefundCase

from .models import BankAccount, ReconciliationPeriod, WriteOffRequest, WriteOffStatus
from .services.case_rules import closed_without_matched_refund
from .services.periods import reopen, report_csv, report_pdf, report_rows, run_period, sign_off
from .services.trace import case_trace
from .services.writeoffs import approve_write_off, reject_write_off, request_write_off


class TextActionForm(ActionForm):
    text = forms.CharField(
        required=False, label="Reason", widget=forms.TextInput(attrs={"size": 40})
    )


class RunForm(forms.Form):
    account = forms.ModelChoiceField(BankAccount.objects.all())
    month = forms.DateField(help_text="Any day of the month, YYYY-MM-DD.")


def _each(request: HttpRequest, queryset: QuerySet[Any], done: str, service: Any) -> None:
    count = each_one(request, queryset, service)
    if count:
        messages.success(request, f"{count} {done}.")


def _report_name(period: ReconciliationPeriod, extension: str) -> str:
    return f"reconciliation-{period.account_id}-{period.month:%Y-%m}.{extension}"


@admin.register(ReconciliationPeriod)
class ReconciliationPeriodAdmin(ViewOnlyAdmin):
    list_display = ("account", "month", "verdict", "difference", "signed_off_by", "signed_off_at")
    list_filter = ("account", ("signed_off_at", admin.EmptyFieldListFilter))
    date_hierarchy = "month"
    readonly_fields = ("account", "month", "report", "last_run", "last_run_at", "reopenings")
    fields = readonly_fields
    actions = ("run_selected", "sign_off_selected", "reopen_selected")
    action_form = TextActionForm
    extra_views = (
        ("run/", "run"),
        ("closed-for-review/", "review"),
        ("trace/<int:case_pk>/", "trace"),
        ("<path:object_id>/report.csv", "csv"),
        ("<path:object_id>/report.pdf", "pdf"),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReconciliationPeriod]:
        return super().get_queryset(request).select_related("account", "signed_off_by")

    def has_signoff_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("cash.change_reconciliationperiod")

    @admin.display(description="verdict")
    def verdict(self, obj: ReconciliationPeriod) -> str:
        return str((obj.figures or {}).get("verdict", "not run"))

    @admin.display(description="statement − ledger")
    def difference(self, obj: ReconciliationPeriod) -> SafeString | str:
        value = (obj.figures or {}).get("difference")
        return "—" if value is None else money_cell(value, obj.account.currency)

    @admin.display(description="report")
    def report(self, obj: ReconciliationPeriod) -> SafeString:
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", report_rows(obj))
        return format_html(
            '<table>{}</table><p><a href="{}">CSV</a> · <a href="{}">PDF</a></p>',
            rows,
            self.admin_url("csv", obj.pk),
            self.admin_url("pdf", obj.pk),
        )

    @admin.display(description="re-openings")
    def reopenings(self, obj: ReconciliationPeriod) -> SafeString:
        return format_html_join(
            "",
            "<p>{} by {}: {} (was signed by {} at {})</p>",
            (
                (r.reopened_at, r.reopened_by, r.reason, r.was_signed_off_by, r.was_signed_off_at)
                for r in obj.reopenings.select_related("reopened_by", "was_signed_off_by")
            ),
        )

    @admin.action(description="Run the selected periods again", permissions=["signoff"])
    def run_selected(self, request: HttpRequest, queryset: QuerySet[ReconciliationPeriod]) -> None:
        _each(
            request,
            queryset,
            "run",
            lambda p: run_period(account=p.account, month=p.month, user=request.user),
        )

    @admin.action(description="Sign off the selected periods", permissions=["signoff"])
    def sign_off_selected(
        self, request: HttpRequest, queryset: QuerySet[ReconciliationPeriod]
    ) -> None:
        _each(request, queryset, "signed off", lambda p: sign_off(period=p, user=request.user))

    @admin.action(
        description="Re-open the selected periods (text: reason)", permissions=["signoff"]
    )
    def reopen_selected(
        self, request: HttpRequest, queryset: QuerySet[ReconciliationPeriod]
    ) -> None:
        reason = (request.POST.get("text") or "").strip()
        _each(
            request,
            queryset,
            "re-opened",
            lambda p: reopen(period=p, user=request.user, reason=reason),
        )

    def run_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_signoff_permission(request):
            raise PermissionDenied
        form = RunForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            outcome = run_period(
                account=form.cleaned_data["account"],
                month=form.cleaned_data["month"],
                user=request.user,
            )
            if not outcome.ran:
                messages.warning(request, f"{outcome.period} is signed off: not run again.")
            return HttpResponseRedirect(self.admin_url("change", outcome.period.pk))
        return self.render_page(
            request, "admin/cash/upload_form.html", "Run a reconciliation", form=form
        )

    def csv_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        period = self.viewable_or_404(request, object_id)
        with reading_from_replica():
            body = report_csv(period).encode()
        return download(
            body, filename=_report_name(period, "csv"), content_type="text/csv; charset=utf-8"
        )

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        period = self.viewable_or_404(request, object_id)
        with reading_from_replica():
            body = report_pdf(period)
        return download(body, filename=_report_name(period, "pdf"), content_type="application/pdf")

    def review_view(self, request: HttpRequest) -> HttpResponse:
        """Closed cases no provider refund row matches (closed before the rule)."""
        if not request.user.has_perm("refunds.view_refundcase"):
            raise PermissionDenied
        cases = closed_without_matched_refund().order_by("closed_at")[:500]
        rows = [
            (
                case.case_id,
                reverse("admin:refunds_refundcase_change", args=[case.pk]),
                self.admin_url("trace", case.pk),
                case.closed_at,
                case.total_refund_amount,
                case.currency,
            )
            for case in cases
        ]
        return self.render_page(
            request,
            "admin/cash/closed_review.html",
            "Closed cases whose refund is not matched (review)",
            rows=rows,
        )

    def trace_view(self, request: HttpRequest, case_pk: int) -> HttpResponse:
        if not request.user.has_perm("refunds.view_refundcase"):
            raise PermissionDenied
        case = RefundCase.objects.filter(pk=case_pk).first()
        if case is None:
            raise Http404("No such refund case.")
        return self.render_page(
            request,
            "admin/cash/case_trace.html",
            f"Trace of {case.case_id}: from request to bank",
            trace=case_trace(case),
            case_url=reverse("admin:refunds_refundcase_change", args=[case.pk]),
        )


class WriteOffForm(forms.ModelForm):
    class Meta:
        model = WriteOffRequest
        fields = ("account", "line", "amount", "target_account", "reason", "on_date")


@admin.register(WriteOffRequest)
class WriteOffRequestAdmin(ExtraViewsMixin, admin.ModelAdmin):
    list_display = (
        "pk",
        "account",
        "amount",
        "target_account",
        "status",
        "requested_by",
        "decided_by",
        "journal",
    )
    list_filter = ("status", "account")
    raw_id_fields = ("line",)
    actions = ("approve_selected", "reject_selected")
    form = WriteOffForm

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("cash.change_writeoffrequest")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"on_date": date.today()}

    def save_model(
        self, request: HttpRequest, obj: WriteOffRequest, form: Any, change: bool
    ) -> None:
        saved = request_write_off(
            account=obj.account,
            amount=obj.amount,
            target_account=obj.target_account,
            reason=obj.reason,
            user=request.user,
            on_date=obj.on_date,
            line=obj.line,
        )
        obj.pk = saved.pk

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[WriteOffRequest], service: Any, done: str
    ) -> None:
        _each(
            request,
            queryset.filter(status=WriteOffStatus.REQUESTED),
            done,
            lambda w: service(request_id=w.pk, user=request.user),
        )

    @admin.action(description="Approve and post the selected write-offs", permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[WriteOffRequest]) -> None:
        self._decide(request, queryset, approve_write_off, "approved and posted")

    @admin.action(description="Reject the selected write-offs", permissions=["approve"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[WriteOffRequest]) -> None:
        self._decide(request, queryset, reject_write_off, "rejected")
