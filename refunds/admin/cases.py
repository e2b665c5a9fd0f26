"""The refund case list and page (workbench views in .workbench, bulk actions in .actions)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from lib.admin import (
    BigTableAdmin,
    money_column,
    timestamp_column,
)
from refunds.models import (
    CASE_ID_REGEX,
    CaseStatus,
    Order,
    OrderLine,
    RefundCase,
    RefundLine,
    VendorLiability,
)
from vendors.models import Vendor

from .actions import BulkCaseActions
from .common import CASE_ID_PREFIX, any_of, search_terms
from .filters import OwnerFilter, ReasonFilter, VendorFilter
from .forms import AttachmentForm, CaseActionForm, NoteForm, OwnerForm, ResolveForm, WorkbenchItem
from .inlines import AttachmentInline, CaseEventInline, RefundLineInline, VendorLiabilityInline
from .workbench import CaseWorkbench


class RefundCaseChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        # Vendors of the page's cases in one query, not one per row.
        self.result_list = self.result_list.prefetch_related(
            Prefetch(
                "liabilities",
                queryset=VendorLiability.objects.select_related("vendor").only(
                    "case_id", "vendor_id", "vendor__code"
                ),
            )
        )


@admin.register(RefundCase)
class RefundCaseAdmin(CaseWorkbench, BulkCaseActions, BigTableAdmin):
    list_display = (
        "case_id",
        "order_number",
        "status",
        "refund_total",
        "vendor_codes",
        "owner",
        "initiated",
    )
    list_select_related = ("order", "owner")
    list_filter = (
        "status",
        VendorFilter,
        ReasonFilter,
        OwnerFilter,
        ("initiated_at", admin.DateFieldListFilter),
    )
    # Sorting by anything else would sort the whole table on every page.
    sortable_by = ("case_id", "status", "initiated")
    # The search box needs search_fields; get_search_results does the matching.
    search_fields = ("case_id",)
    search_help_text = "Case ID (or its start), or exact order number, vendor code or SKU."
    action_form = CaseActionForm
    actions = (
        "approve_selected",
        "complete_selected",
        "reject_selected",
        "cancel_selected",
        "close_selected",
    )
    inlines = (RefundLineInline, VendorLiabilityInline, CaseEventInline, AttachmentInline)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "case_id",
                    "order_link",
                    "status_display",
                    "owner",
                    "opened_by",
                    "note",
                )
            },
        ),
        ("Amounts", {"fields": ("refund_total", "shipping_refund", "gateway_reference")}),
        (
            "Dates",
            {"fields": ("initiated", "approved", "completed", "closed", "updated")},
        ),
    )
    readonly_fields = flatten_fieldsets(fieldsets)  # the page is read, never edited

    refund_total = money_column("total_refund_amount", "refund")
    refund_total.admin_order_field = "total_refund_amount"
    shipping_refund = money_column("shipping_refund_amount", "shipping refund")

    # ------------------------------------------------------------ permissions, queryset

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Cases are opened through open_case (API, portal), which prices and reserves them.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RefundCase | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[RefundCase]:
        return super().get_queryset(request).select_related("order", "owner", "opened_by")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RefundCaseChangeList

    def changelist_context(self, request: HttpRequest) -> dict[str, Any]:
        return {"title": "Refund cases"}

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[RefundCase], search_term: str
    ) -> tuple[QuerySet[RefundCase], bool]:
        for term in search_terms(search_term):
            condition = self.term_condition(term)
            if condition is None:
                return queryset.none(), False
            queryset = queryset.filter(condition)
        # EXISTS never repeats a case, so no DISTINCT is needed.
        return queryset, False

    @staticmethod
    def term_condition(term: str) -> Q | None:
        """What `term` may be, asked of small indexed lookups first, so the case
        query carries only the branches that can match: an OR over every kind
        of match would make PostgreSQL scan all cases."""
        upper = term.upper()
        if re.fullmatch(CASE_ID_REGEX, upper):
            return Q(case_id=upper)
        if upper.startswith(CASE_ID_PREFIX):
            # LIKE 'RFND-2026%' runs on the case_id column's pattern index.
            return Q(case_id__startswith=upper)
        variants = sorted({term, upper})
        branches: list[Any] = []
        order_ids = list(
            Order.objects.filter(number__in=variants).order_by().values_list("pk", flat=True)
        )
        if order_ids:
            branches.append(Q(order_id__in=order_ids))
        vendor_ids = list(
            Vendor.objects.filter(code__iexact=term).order_by().values_list("pk", flat=True)
        )
        if vendor_ids:
            branches.append(
                Exists(
                    VendorLiability.objects.filter(case=OuterRef("pk"), vendor_id__in=vendor_ids)
                )
            )
        if OrderLine.objects.filter(sku__in=variants).exists():
            branches.append(
                Exists(RefundLine.objects.filter(case=OuterRef("pk"), order_line__sku__in=variants))
            )
        return any_of(branches)

    # ------------------------------------------------------------ list columns

    @admin.display(description="order", ordering="order__number")
    def order_number(self, obj: RefundCase) -> str:
        return obj.order.number

    @admin.display(description="vendors")
    def vendor_codes(self, obj: RefundCase) -> str:
        return ", ".join(row.vendor.code for row in obj.liabilities.all())

    initiated = timestamp_column("initiated_at", "initiated")
    approved = timestamp_column("approved_at", "approved")
    completed = timestamp_column("completed_at", "completed")
    closed = timestamp_column("closed_at", "closed")
    updated = timestamp_column("updated_at", "updated")

    # ------------------------------------------------------------ case page

    @admin.display(description="order")
    def order_link(self, obj: RefundCase) -> SafeString:
        url = reverse("admin:refunds_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    @admin.display(description="status")
    def status_display(self, obj: RefundCase) -> str:
        if obj.status == CaseStatus.DISPUTED and obj.status_before_dispute:
            before = CaseStatus(obj.status_before_dispute).label.lower()
            return f"{obj.get_status_display()} (was {before})"
        return obj.get_status_display()

    def change_view(
        self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        if request.method == "POST":
            # Nothing here is edited directly; the workbench forms post to their own views.
            return HttpResponseRedirect(request.get_full_path())
        return super().change_view(request, object_id, *args, **kwargs)

    def change_context(self, request: HttpRequest, object_id: str) -> dict[str, Any]:
        # Not "Change refund case": the page is read, and worked through the workbench.
        return {"title": "Refund case"}

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: RefundCase | None = None,
    ) -> HttpResponse:
        context.update(
            show_save=False,
            show_save_and_continue=False,
            show_save_and_add_another=False,
            show_delete=False,
        )
        if obj is not None and self.has_change_permission(request, obj):
            context["workbench"] = self.workbench_items(obj)
            context["can_override_breakdown"] = obj.status == CaseStatus.PENDING
        return super().render_change_form(request, context, add, change, form_url, obj)

    def workbench_items(self, case: RefundCase) -> list[WorkbenchItem]:
        items = []
        if case.status == CaseStatus.DISPUTED:
            items.append(self.resolve_item(case, ResolveForm(case=case)))
        return [
            *items,  # the dispute first: it is what the case waits for
            WorkbenchItem(
                "note", "Add a note", self.case_url("note", case), NoteForm(case=case), "Add note"
            ),
            WorkbenchItem(
                "attachment",
                "Attach a file",
                self.case_url("attachment", case),
                AttachmentForm(case=case),
                "Upload",
            ),
            WorkbenchItem(
                "owner", "Owner", self.case_url("owner", case), OwnerForm(case=case), "Assign"
            ),
        ]
