"""The rows shown on a refund case's page: lines, vendor parts, timeline, files."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from lib.admin import (
    ReadOnlyInline,
    currency_of,
    money_column,
    when,
)
from lib.money import display_money
from refunds.models import (
    Attachment,
    CaseEvent,
    RefundLine,
    RefundLineKind,
    VendorLiability,
)

case_currency = currency_of("case")


class CaseAmountColumns:
    """The amount columns a refund line and a vendor's part share, in the case's currency."""

    net = money_column("net_amount", "net", case_currency)
    tax = money_column("tax_amount", "tax", case_currency)
    shipping = money_column("shipping_amount", "shipping", case_currency)
    vendor_share_amount = money_column("vendor_share", "vendor share", case_currency)
    platform_share_amount = money_column("platform_share", "platform share", case_currency)
    commission_reversal_amount = money_column(
        "commission_reversal", "commission reversal", case_currency
    )


class RefundLineInline(CaseAmountColumns, ReadOnlyInline):
    model = RefundLine
    verbose_name_plural = "refund lines"
    fields = (
        "refunded",
        "sku",
        "vendor_code",
        "net",
        "tax",
        "shipping",
        "gross",
        "reason",
        "policy",
        "vendor_share_amount",
        "platform_share_amount",
        "commission_reversal_amount",
    )
    readonly_fields = fields

    gross = money_column("gross_amount", "gross", case_currency)

    def get_queryset(self, request: HttpRequest) -> QuerySet[RefundLine]:
        return (
            super().get_queryset(request).select_related("case", "order_line", "vendor", "reason")
        )

    @admin.display(description="SKU")
    def sku(self, obj: RefundLine) -> str:
        return obj.order_line.sku if obj.order_line else "(shipping)"

    @admin.display(description="refunded")
    def refunded(self, obj: RefundLine) -> str:
        # An amount line has no quantity (it is 0): say what was refunded instead.
        if obj.kind == RefundLineKind.QUANTITY:
            return f"{obj.quantity} unit{'s' if obj.quantity != 1 else ''}"
        if obj.kind == RefundLineKind.AMOUNT:
            return f"amount {display_money(obj.gross_amount, obj.case.currency)}"
        return "shipping"

    @admin.display(description="vendor")
    def vendor_code(self, obj: RefundLine) -> str:
        return obj.vendor.code if obj.vendor else "-"

    @admin.display(description="policy version")
    def policy(self, obj: RefundLine) -> SafeString | str:
        # The version that priced the line; its history shows that version's terms.
        if obj.policy_version is None:
            return "-"
        history = reverse("admin:refunds_reasonpolicy_history", args=[obj.reason_id])
        return format_html('<a href="{}">v{}</a>', history, obj.policy_version)


class VendorLiabilityInline(CaseAmountColumns, ReadOnlyInline):
    model = VendorLiability
    verbose_name_plural = "breakdown by vendor"
    fields = (
        "vendor_code",
        "refund",
        "net",
        "tax",
        "shipping",
        "vendor_share_amount",
        "platform_share_amount",
        "commission_reversal_amount",
        "overridden",
        "acknowledged",
    )
    readonly_fields = fields

    refund = money_column("refund_amount", "refund", case_currency)

    def get_queryset(self, request: HttpRequest) -> QuerySet[VendorLiability]:
        return super().get_queryset(request).select_related("case", "vendor", "acknowledged_by")

    @admin.display(description="vendor")
    def vendor_code(self, obj: VendorLiability) -> str:
        return obj.vendor.code

    @admin.display(description="acknowledged")
    def acknowledged(self, obj: VendorLiability) -> str:
        if obj.acknowledged_at is None:
            return ""
        by = f" by {obj.acknowledged_by.get_username()}" if obj.acknowledged_by else ""
        return f"{when(obj.acknowledged_at)}{by}"


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    verbose_name_plural = "timeline"
    fields = (
        "at",
        "kind",
        "transition",
        "actor",
        "vendor_code",
        "channel",
        "internal",
        "text",
        "details",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseEvent]:
        return super().get_queryset(request).select_related("case", "actor", "vendor")

    @admin.display(description="at")
    def at(self, obj: CaseEvent) -> str:
        return when(obj.created_at)

    @admin.display(description="vendor")
    def vendor_code(self, obj: CaseEvent) -> str:
        return obj.vendor.code if obj.vendor else "-"

    @admin.display(description="from → to")
    def transition(self, obj: CaseEvent) -> str:
        if not (obj.from_status or obj.to_status):
            return ""
        return f"{obj.from_status or '-'} → {obj.to_status or '-'}"

    @admin.display(description="details")
    def details(self, obj: CaseEvent) -> str:
        changes = (obj.data or {}).get("changes") if isinstance(obj.data, dict) else None
        if not changes:
            return ""
        parts = []
        for change in changes:
            before, after = change.get("before", {}), change.get("after", {})
            moved = ", ".join(
                f"{name.replace('_', ' ')} {before.get(name)} → {after.get(name)}"
                for name in ("vendor_share", "platform_share", "commission_reversal")
                if before.get(name) != after.get(name)
            )
            parts.append(f"{change.get('vendor')}: {moved or 'unchanged'}")
        return "; ".join(parts)


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ("download", "size_display", "content_type", "uploaded_by", "uploaded_at")
    readonly_fields = fields

    @admin.display(description="uploaded at")
    def uploaded_at(self, obj: Attachment) -> str:
        return when(obj.created_at)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Attachment]:
        return super().get_queryset(request).select_related("uploaded_by")

    @admin.display(description="file")
    def download(self, obj: Attachment) -> SafeString:
        url = reverse("admin:refunds_refundcase_download", args=[obj.case_id, obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.filename)

    @admin.display(description="size")
    def size_display(self, obj: Attachment) -> str:
        return filesizeformat(obj.size)
