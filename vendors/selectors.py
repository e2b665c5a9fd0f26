"""Who may see which vendors' data."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

from .models import Vendor
from .permissions import VendorAction, vendors_allowing


def is_finance_staff(user: User | AnonymousUser) -> bool:
    """Staff see every vendor; what they may do is up to their model permissions."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def is_read_only(user: User | AnonymousUser) -> bool:
    return bool(
        user.is_authenticated and user.groups.filter(name=settings.READ_ONLY_GROUP).exists()
    )


def visible_vendor_ids(user: User | AnonymousUser) -> set[int] | None:
    """None means every vendor (staff and the read-only group); otherwise the
    vendors the user may view (possibly none)."""
    if not user.is_authenticated:
        return set()
    if is_finance_staff(user) or is_read_only(user):
        return None
    return vendors_allowing(user, VendorAction.VIEW)


def vendors_for(user: User | AnonymousUser):
    ids = visible_vendor_ids(user)
    queryset = Vendor.objects.all()
    return queryset if ids is None else queryset.filter(pk__in=ids)
