"""Who may do what through the API: one `access` table per view, read by ApiAccess.

Each view maps its actions (DRF's `view.action`, or the HTTP method in lower
case for a plain APIView; `"<action>:<method>"` where one action answers
several methods) to an `Allow`:

- staff (is_staff) need every Django model permission it names, exactly as the
  admin asks for them (superusers have all; a user with only view_* permissions
  reads and changes nothing);
- the read-only group (settings.READ_ONLY_GROUP) may make the reads marked
  `read_only_group`, nothing else;
- vendor users need the vendor action it names (vendors.permissions.ROLE_ACTIONS)
  at one of their active vendors; the view then scopes the data, or the vendor
  acted for, to the vendors that allow it;
- an action missing from the table is refused to everyone.
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..models import Vendor
from ..permissions import VendorAction, vendor_may, vendors_allowing
from ..selectors import is_finance_staff, is_read_only


@dataclass(frozen=True)
class Allow:
    staff: tuple[str, ...]  # Django permissions a staff user needs, all of them
    vendor: VendorAction | None = None  # what a vendor user needs for one of its vendors
    read_only_group: bool = False


def read(permission: str, *, vendor: VendorAction | None = VendorAction.VIEW) -> Allow:
    """A GET: staff with the view permission, the read-only group, and (by default)
    vendor users who may view."""
    return Allow((permission,), vendor, read_only_group=True)


def staff_read(permission: str) -> Allow:
    """A GET that vendors never make (ledger internals)."""
    return read(permission, vendor=None)


def reads(permission: str, *, vendor: VendorAction | None = VendorAction.VIEW) -> dict[str, Allow]:
    """A collection's list and detail, both as `read`."""
    return {"list": read(permission, vendor=vendor), "retrieve": read(permission, vendor=vendor)}


def staff_reads(permission: str) -> dict[str, Allow]:
    """A collection's list and detail, both as `staff_read`."""
    return reads(permission, vendor=None)


def change(*permissions: str, vendor: VendorAction | None = None) -> Allow:
    """A write: staff with the permissions, and the vendor users the vendor action allows."""
    return Allow(permissions, vendor)


def rule_for(request, view) -> Allow | None:
    table = getattr(view, "access", {})
    method = "get" if request.method == "HEAD" else request.method.lower()
    action = getattr(view, "action", None) or method
    return table.get(f"{action}:{method}", table.get(action))


def require_vendor_action(user, vendor: Vendor, action: VendorAction) -> None:
    """For an action on one vendor's own record (its users): staff passed ApiAccess
    on their permissions; a vendor user needs the action at this very vendor."""
    if not is_finance_staff(user) and not vendor_may(user, vendor, action):
        raise PermissionDenied(ApiAccess.message)


class ApiAccess(BasePermission):
    message = "Your API key does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            # DRF checks throttles after permissions: count a request without
            # credentials here, so that past its limit it is a 429, not a 401.
            view.check_throttles(request)
            return False
        if request.method == "OPTIONS":
            return True  # the endpoint's description, as public as the schema
        if not hasattr(view, request.method.lower()):
            return True  # a method the URL does not take: the view answers 405
        rule = rule_for(request, view)
        if rule is None:
            return False
        if is_finance_staff(user):
            return user.has_perms(rule.staff)
        if is_read_only(user):
            return rule.read_only_group and request.method in SAFE_METHODS
        return rule.vendor is not None and bool(vendors_allowing(user, rule.vendor))
