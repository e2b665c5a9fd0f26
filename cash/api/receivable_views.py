"""Receivables over the API: GET /api/v1/receivables/ (filters kind, status,
tag, vendor, order). Staff and the read-only group read both kinds; vendor
users read only the vendor-kind receivables of their own vendors."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from rest_framework import serializers

from lib.api_fields import MoneyField
from lib.api_views import ReadOnlyViewSet
from vendors.api.permissions import ApiAccess, reads

from ..models import Receivable, ReceivableKind, ReceivableStatus, ReceivableTag
from ..selectors import receivables_for


class ReceivableAllocationSerializer(serializers.Serializer):
    payout = serializers.IntegerField(source="payout_id")
    paid_on = serializers.DateField(source="payout.paid_on")
    reference = serializers.CharField(source="payout.reference")
    amount = MoneyField(currency="payout.currency")


class ReceivableSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    line = serializers.CharField(source="order_line.sku", default="shipping")
    vendor = serializers.CharField(source="vendor.code", default=None)
    tags = serializers.ListField(child=serializers.CharField())
    amount = MoneyField()
    refunded_amount = MoneyField()
    paid_amount = MoneyField()
    open_amount = MoneyField()
    allocations = ReceivableAllocationSerializer(many=True)

    class Meta:
        model = Receivable
        fields = [
            "id",
            "kind",
            "order",
            "line",
            "vendor",
            "payment_method",
            "currency",
            "amount",
            "refunded_amount",
            "paid_amount",
            "open_amount",
            "opened_on",
            "due_date",
            "payment_date",
            "status",
            "tags",
            "allocations",
        ]


class ReceivableFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ReceivableKind.choices)
    status = django_filters.ChoiceFilter(choices=ReceivableStatus.choices)
    tag = django_filters.ChoiceFilter(choices=ReceivableTag.choices, method="filter_tag")
    vendor = django_filters.CharFilter(field_name="vendor__code", help_text="Vendor code.")
    order = django_filters.CharFilter(field_name="order__number", help_text="Order number.")

    class Meta:
        model = Receivable
        fields = ["kind", "status", "vendor", "order"]

    def filter_tag(self, queryset: QuerySet[Receivable], name: str, value: str):
        return queryset.filter(**{value: True})


class ReceivableViewSet(ReadOnlyViewSet):
    """Receivables per order line and shipping line: what the payment provider owes
    the platform (provider) and what the platform owes a vendor (vendor), with
    status, tags and the payouts allocated to them. Vendors see their own vendor
    items only."""

    serializer_class = ReceivableSerializer
    permission_classes = [ApiAccess]
    access = reads("cash.view_receivable")
    filterset_class = ReceivableFilter

    def get_queryset(self):
        return (
            receivables_for(self.request.user)
            .select_related("order", "order_line", "vendor")
            .prefetch_related("allocations__payout")
            .order_by("opened_on", "id")
        )
