import django_filters
from django.db.models import Exists, OuterRef

from lib.api_filters import UtcIsoDateTimeFilter
from lib.money import CURRENCY_CHOICES
from vendors.selectors import visible_vendor_ids

from ..models import (
    CaseStatus,
    Order,
    OrderLine,
    RefundCase,
    RefundLine,
    RefundLineKind,
    VendorLiability,
)


def _visible(queryset, request, vendor_field: str):
    """Limit a filter's subquery to what the caller may see, so that filtering
    never reveals another vendor's part of a shared case or order."""
    ids = visible_vendor_ids(request.user) if request is not None else None
    return queryset if ids is None else queryset.filter(**{f"{vendor_field}__in": ids})


class RefundCaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CaseStatus.choices)
    vendor = django_filters.CharFilter(method="filter_vendor", help_text="Vendor code.")
    reason = django_filters.CharFilter(method="filter_reason", help_text="Reason code.")
    order = django_filters.CharFilter(field_name="order__number", help_text="Order number.")
    owner = django_filters.CharFilter(field_name="owner__username")
    created_after = UtcIsoDateTimeFilter(field_name="initiated_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="initiated_at", lookup_expr="lt")
    search = django_filters.CharFilter(method="filter_search", help_text="Case ID, or its start.")

    class Meta:
        model = RefundCase
        fields = ["status", "vendor", "reason", "order", "owner"]

    def filter_vendor(self, queryset, name, value):
        rows = VendorLiability.objects.filter(case=OuterRef("pk"), vendor__code=value)
        return queryset.filter(Exists(_visible(rows, self.request, "vendor_id")))

    def filter_reason(self, queryset, name, value):
        lines = RefundLine.objects.filter(case=OuterRef("pk"), reason__code=value)
        if visible_vendor_ids(self.request.user) is not None:
            # Vendors are not shown shipping lines (see refunds.selectors.cases_for).
            lines = lines.exclude(kind=RefundLineKind.SHIPPING)
        return queryset.filter(Exists(_visible(lines, self.request, "vendor_id")))

    def filter_search(self, queryset, name, value):
        return queryset.filter(case_id__istartswith=value.strip())


class OrderFilter(django_filters.FilterSet):
    vendor = django_filters.CharFilter(method="filter_vendor", help_text="Vendor code.")
    currency = django_filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    created_after = UtcIsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")
    search = django_filters.CharFilter(field_name="number", lookup_expr="istartswith")

    class Meta:
        model = Order
        fields = ["currency"]

    def filter_vendor(self, queryset, name, value):
        lines = OrderLine.objects.filter(order=OuterRef("pk"), vendor__code=value)
        return queryset.filter(Exists(_visible(lines, self.request, "vendor_id")))
