"""What a vendor's people may do: one table, read by the portal and the API alike.

A seat (VendorMembership) counts only while its vendor is active and its user
is; both are read from the database on every request (the portal's session
keeps only which vendor was last chosen), so deactivating a vendor or removing
a seat ends its access at the next request, on both channels.

Staff are not in this table: they need the Django model permissions the admin
asks for (vendors.api.permissions); finance staff get them from the FINANCE_GROUP
made by migration vendors 0003.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from .models import Vendor, VendorMembership, VendorRole

FINANCE_GROUP = "Finance"


class VendorAction(StrEnum):
    VIEW = "view"  # cases, orders, the vendor's own record, inbox, statement pages
    ACKNOWLEDGE = "acknowledge"  # accept the vendor's part of a case
    DISPUTE = "dispute"  # dispute the vendor's part of a case
    ATTACH = "attach"  # add files (evidence) to a case
    MANAGE_USERS = "manage_users"  # list and onboard the vendor's users
    DOWNLOAD_STATEMENTS = "download_statements"  # settlement statement CSV and PDF


ROLE_ACTIONS: Mapping[str, frozenset[VendorAction]] = {
    VendorRole.OWNER: frozenset(VendorAction),
    VendorRole.FINANCE: frozenset(VendorAction) - {VendorAction.MANAGE_USERS},
    # A viewer reads, statements included, and answers nothing.
    VendorRole.VIEWER: frozenset({VendorAction.VIEW, VendorAction.DOWNLOAD_STATEMENTS}),
}


def vendor_roles(user: AbstractBaseUser | AnonymousUser) -> dict[int, str]:
    """The user's seats, vendor id -> role, at active vendors only.

    Read once per request: the user object is loaded afresh for each request
    (session or API key), so the cache on it never outlives the request.
    """
    if not (user.is_authenticated and user.is_active):
        return {}
    cached = getattr(user, "_vendor_roles", None)
    if cached is None:
        cached = dict(
            VendorMembership.objects.filter(user=user, vendor__is_active=True).values_list(
                "vendor_id", "role"
            )
        )
        user._vendor_roles = cached
    return cached


def role_may(role: str, action: VendorAction) -> bool:
    return action in ROLE_ACTIONS.get(role, frozenset())


def vendor_may(
    who: AbstractBaseUser | AnonymousUser | VendorMembership,
    vendor: Vendor | int,
    action: VendorAction,
) -> bool:
    """Whether a user (or the seat the portal chose for them) may do `action` for `vendor`.

    A membership passed in must have been loaded in this request (the portal
    does); a user's seats are read once per request (vendor_roles).
    """
    vendor_id = vendor if isinstance(vendor, int) else vendor.pk
    if isinstance(who, VendorMembership):
        if who.vendor_id != vendor_id or not (who.vendor.is_active and who.user.is_active):
            return False
        return role_may(who.role, action)
    role = vendor_roles(who).get(vendor_id)
    return role is not None and role_may(role, action)


def vendors_allowing(user: AbstractBaseUser | AnonymousUser, action: VendorAction) -> set[int]:
    """Ids of the active vendors for which `user` may do `action` (possibly none)."""
    return {pk for pk, role in vendor_roles(user).items() if role_may(role, action)}
