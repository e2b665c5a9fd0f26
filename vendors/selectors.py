"""Who may see which vendors' data."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

from .models import Vendor, VendorMembership


def is_finance_staff(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def is_read_only(user: User | AnonymousUser) -> bool:
    return bool(
        user.is_authenticated and user.groups.filter(name=settings.READ_ONLY_GROUP).exists()
    )


def visible_vendor_ids(user: User | AnonymousUser) -> set[int] | None:
    """None means every vendor (staff and the read-only group); otherwise the
    vendors the user is a member of (possibly none)."""
    if not user.is_authenticated:
        return set()
    if is_finance_staff(user) or is_read_only(user):
        return None
    cached = getattr(user, "_visible_vendor_ids", None)
    if cached is None:
        cached = set(
            VendorMembership.objects.filter(user=user, vendor__is_active=True).values_list(
                "vendor_id", flat=True
            )
        )
        user._visible_vendor_ids = cached  # type: ignore[attr-defined]  # a memo for this request
    return cached


def vendors_for(user: User | AnonymousUser):
    ids = visible_vendor_ids(user)
    queryset = Vendor.objects.all()
    return queryset if ids is None else queryset.filter(pk__in=ids)
