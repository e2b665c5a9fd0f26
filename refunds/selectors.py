"""Read queries scoped by who is asking: a vendor user sees only what touches
its vendors; finance staff and the read-only group see everything."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from vendors.selectors import visible_vendor_ids

from .models import (
    CaseEvent,
    Order,
    OrderLine,
    Payment,
    RefundCase,
    RefundLine,
    RefundLineKind,
    VendorLiability,
)

User = AbstractBaseUser | AnonymousUser


def orders_for(user: User) -> QuerySet[Order]:
    ids = visible_vendor_ids(user)
    lines = OrderLine.objects.select_related("vendor").order_by("id")
    queryset = Order.objects.select_related("channel")
    if ids is not None:
        queryset = queryset.filter(
            Exists(OrderLine.objects.filter(order=OuterRef("pk"), vendor_id__in=ids))
        )
        lines = lines.filter(vendor_id__in=ids)
    return queryset.prefetch_related(
        Prefetch("lines", queryset=lines),
        Prefetch("payments", queryset=Payment.objects.order_by("id")),
    )


def cases_for(user: User) -> QuerySet[RefundCase]:
    ids = visible_vendor_ids(user)
    liabilities = VendorLiability.objects.select_related("vendor").order_by("vendor__code")
    lines = RefundLine.objects.select_related("order_line", "vendor", "reason").order_by("id")
    events = CaseEvent.objects.select_related("actor", "vendor").order_by("created_at", "id")
    queryset = RefundCase.objects.select_related("order", "owner")
    if ids is not None:
        queryset = queryset.filter(
            Exists(VendorLiability.objects.filter(case=OuterRef("pk"), vendor_id__in=ids))
        )
        liabilities = liabilities.filter(vendor_id__in=ids)
        lines = lines.filter(vendor_id__in=ids).exclude(kind=RefundLineKind.SHIPPING)
        events = events.filter(Q(vendor__isnull=True) | Q(vendor_id__in=ids))
    return queryset.prefetch_related(
        Prefetch("liabilities", queryset=liabilities),
        Prefetch("lines", queryset=lines),
        Prefetch("events", queryset=events),
        "attachments",
    )
