"""Which vendor a portal request works for, checked on every request.

The session remembers the vendor a user last switched to; it is only a wish.
Each request reloads the user's memberships at active vendors and takes that
vendor only if the user still belongs to it, else the first membership (oldest
seat). So a removed seat or a deactivated vendor ends access at the next
request. A user with no such membership gets the 403 page: staff use the admin.

What the seat's role may do is vendors.permissions.ROLE_ACTIONS, the table the
API reads too; each view names the action it needs (`portal_view(action=...)`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from vendors.models import Vendor, VendorMembership
from vendors.permissions import VendorAction, vendor_may

from . import selectors

SESSION_KEY = "portal_vendor_id"


@dataclass
class Portal:
    """The current user's seat: vendor, role and the other vendors to switch to."""

    membership: VendorMembership
    memberships: list[VendorMembership] = field(default_factory=list)

    @property
    def vendor(self) -> Vendor:
        return self.membership.vendor

    @property
    def role(self) -> str:
        return self.membership.role

    def may(self, action: VendorAction) -> bool:
        return vendor_may(self.membership, self.vendor, action)

    @property
    def can_act(self) -> bool:
        """Whether the seat may answer cases at all (the templates' switch)."""
        return self.may(VendorAction.ACKNOWLEDGE) or self.may(VendorAction.DISPUTE)

    @cached_property
    def unread_count(self) -> int:
        return selectors.unread_count(self.vendor)


class PortalRequest(HttpRequest):
    portal: Portal


PortalView = Callable[..., HttpResponse]


def choose_membership(request: HttpRequest) -> Portal | None:
    memberships = list(
        VendorMembership.objects.filter(user=request.user, vendor__is_active=True)
        .select_related("vendor", "user")
        .order_by("created_at", "id")
    )
    if not memberships:
        return None
    wanted = request.session.get(SESSION_KEY)
    current = next((m for m in memberships if m.vendor_id == wanted), memberships[0])
    if wanted != current.vendor_id:
        request.session[SESSION_KEY] = current.vendor_id
    return Portal(membership=current, memberships=memberships)


def forbidden(request: HttpRequest, reason: str, *, portal: Portal | None = None) -> HttpResponse:
    return render(
        request, "portal/forbidden.html", {"reason": reason, "portal": portal}, status=403
    )


def portal_view(view: PortalView | None = None, *, action: VendorAction = VendorAction.VIEW) -> Any:
    """Log-in required, a seat at an active vendor required, and a role that
    allows `action` there (else the 403 page saying the role is read only)."""

    def decorate(func: PortalView) -> PortalView:
        @wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            portal = choose_membership(request)
            if portal is None:
                return forbidden(request, "no_membership")
            if not portal.may(action):
                return forbidden(request, "read_only", portal=portal)
            request.portal = portal  # type: ignore[attr-defined]
            return func(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
