"""Read-side queries of the cash app, scoped by who asks."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from vendors.selectors import visible_vendor_ids

from .models import Receivable, ReceivableAllocation, ReceivableKind


def receivables_for(user: User | AnonymousUser) -> QuerySet[Receivable]:
    """Every receivable for staff and the read-only group; for a vendor user,
    the vendor-kind receivables of the vendors it may view (none otherwise)."""
    ids = visible_vendor_ids(user)
    queryset = Receivable.objects.all()
    if ids is None:
        return queryset
    return queryset.filter(kind=ReceivableKind.VENDOR, vendor_id__in=ids)


def vendor_receivables(vendor_id: int) -> QuerySet[Receivable]:
    """One vendor's receivables (the portal's page), oldest first."""
    return (
        Receivable.objects.filter(kind=ReceivableKind.VENDOR, vendor_id=vendor_id)
        .select_related("order", "order_line")
        .prefetch_related("allocations__payout")
        .order_by("opened_on", "id")
    )


def vendor_payout_allocations(vendor_id: int) -> QuerySet[ReceivableAllocation]:
    """Which lines each of one vendor's payouts paid."""
    return (
        ReceivableAllocation.objects.filter(
            receivable__vendor_id=vendor_id, receivable__kind=ReceivableKind.VENDOR
        )
        .select_related("payout", "receivable__order", "receivable__order_line")
        .order_by("-payout__paid_on", "-payout_id", "id")
    )
