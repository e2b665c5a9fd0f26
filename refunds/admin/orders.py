"""Orders, payments and channels: rows that come from integrations, shown
read-only; of a channel, staff set only its tax settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from lib.admin import (
    BigTableAdmin,
    ExtraViewsMixin,
    ReadOnlyInline,
    ViewOnlyAdmin,
    currency_of,
    money_column,
    timestamp_column,
)
from lib.history_admin import HistoryAdminMixin
from lib.money import display_money
from refunds.models import (
    Channel,
    Order,
    OrderLine,
    Payment,
    ShippingTax,
)

from .common import search_terms

order_currency = currency_of("order")


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = (
        "vendor",
        "sku",
        "description",
        "quantity",
        "unit",
        "tax_rate",
        "commission_rate",
        "net",
        "tax",
        "commission",
        "refunded_quantity",
        "refunded_net_amount",
        "refunded_tax_amount",
    )
    readonly_fields = fields

    unit = money_column("unit_price", "unit price", order_currency)
    net = money_column("net_amount", "net", order_currency)
    tax = money_column("tax_amount", "tax", order_currency)
    commission = money_column("commission_amount", "commission", order_currency)
    refunded_net_amount = money_column("refunded_net", "refunded net", order_currency)
    refunded_tax_amount = money_column("refunded_tax", "refunded tax", order_currency)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderLine]:
        return super().get_queryset(request).select_related("order", "vendor")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("method", "amount_with_currency", "reference", "captured_at")
    readonly_fields = fields

    amount_with_currency = money_column("amount", "amount", order_currency)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return super().get_queryset(request).select_related("order")


@admin.register(Order)
class OrderAdmin(ViewOnlyAdmin, BigTableAdmin):
    list_display = (
        "number",
        "channel",
        "customer",
        "total",
        "refunded",
        "placed",
    )
    list_select_related = ("channel",)
    list_filter = ("currency", ("placed_at", admin.DateFieldListFilter), "channel")
    sortable_by = ("number", "placed")
    search_fields = ("number",)
    search_help_text = "Exact order number or customer email."
    inlines = (OrderLineInline, PaymentInline)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "channel",
                    "currency",
                    "customer_name",
                    "customer_email",
                    "placed_at",
                    "created_at",
                )
            },
        ),
        (
            "Amounts",
            {
                "fields": (
                    "net",
                    "tax",
                    "shipping",
                    "total",
                    "captured",
                    "refunded",
                    "refunded_shipping_amount",
                    "refundable",
                )
            },
        ),
        ("Refund cases", {"fields": ("refund_case_links",)}),
    )
    readonly_fields = flatten_fieldsets(fieldsets)  # the page is read, never edited

    net = money_column("net_amount", "net")
    tax = money_column("tax_amount", "tax")
    shipping = money_column("shipping_amount", "shipping")
    total = money_column("total_amount", "total")
    captured = money_column("captured_amount", "captured")
    refunded = money_column("refunded_amount", "refunded or reserved")
    refunded_shipping_amount = money_column("refunded_shipping", "shipping refunded or reserved")
    refundable = money_column("refundable_amount", "still refundable")
    placed = timestamp_column("placed_at", "placed")

    @admin.display(description="customer")
    def customer(self, obj: Order) -> SafeString:
        return format_html("{}<br><small>{}</small>", obj.customer_name, obj.customer_email)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        for term in search_terms(search_term):
            if "@" in term:
                queryset = queryset.filter(customer_email__iexact=term)
            else:
                queryset = queryset.filter(number__in=sorted({term, term.upper()}))
        return queryset, False

    @admin.display(description="refund cases")
    def refund_case_links(self, obj: Order) -> str:
        cases = obj.refund_cases.order_by("initiated_at").values_list(
            "pk", "case_id", "status", "total_refund_amount"
        )
        return (
            format_html_join(
                ", ",
                '<a href="{}">{}</a> ({}, {})',
                (
                    (
                        reverse("admin:refunds_refundcase_change", args=[pk]),
                        case_id,
                        status,
                        display_money(amount, obj.currency),
                    )
                    for pk, case_id, status, amount in cases
                ),
            )
            or "-"
        )


@admin.register(Payment)
class PaymentAdmin(ViewOnlyAdmin, BigTableAdmin):
    list_display = ("reference", "order", "method", "amount_with_currency", "captured_at")
    list_select_related = ("order",)
    list_filter = ("method",)
    sortable_by = ()
    search_fields = ("reference",)
    search_help_text = "Exact payment reference or order number."
    fields = ("order", "method", "amount_with_currency", "reference", "captured_at")
    readonly_fields = fields

    amount_with_currency = money_column("amount", "amount", order_currency)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Payment], search_term: str
    ) -> tuple[QuerySet[Payment], bool]:
        for term in search_terms(search_term):
            queryset = queryset.filter(Q(reference=term) | Q(order__number=term))
        return queryset, False


# What staff may change on a channel: how its sales are taxed (docs/accounting.md).
CHANNEL_TAX_FIELDS = (
    "tax_model",
    "jurisdiction",
    "shipping_tax",
    "shipping_tax_rate",
    "shipping_earned_by",
)


class ChannelTaxForm(forms.ModelForm):
    class Meta:
        model = Channel
        fields = CHANNEL_TAX_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Refused on the field itself, not as the CHECK constraint's form-wide error.
        rate = self.fields["shipping_tax_rate"]
        rate.validators += [MinValueValidator(0), MaxValueValidator(1)]
        rate.widget.attrs.update(min="0", max="1", step="0.0001")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("shipping_tax") == ShippingTax.FIXED and not data.get("shipping_tax_rate"):
            self.add_error(
                "shipping_tax_rate",
                "Shipping taxed at a fixed rate needs the rate (e.g. 0.2 for 20%); "
                "choose untaxed for none.",
            )
        return data


@admin.register(Channel)
class ChannelAdmin(HistoryAdminMixin, ExtraViewsMixin, admin.ModelAdmin):
    """A channel comes from the integrations; its tax settings are staff's.

    A change applies to what posts from then on: orders paid and cases
    completed later. Journals already posted stay as they are.
    """

    form = ChannelTaxForm
    list_display = (
        "source",
        "subsource",
        "payout_terms_days",
        "tax_model",
        "jurisdiction",
        "shipping_tax",
        "shipping_earned_by",
    )
    list_filter = ("tax_model", "shipping_tax", "shipping_earned_by")
    search_fields = ("source", "subsource")
    fields = ("source", "subsource", "payout_terms_days", *CHANNEL_TAX_FIELDS)
    readonly_fields = ("source", "subsource", "payout_terms_days")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
