"""Who may do what through the API.

- finance staff (is_staff): everything;
- the read-only group (settings.READ_ONLY_GROUP): every GET, nothing else;
- vendor users: GETs scoped to their vendors, plus the actions a view lists
  in `vendor_actions` (e.g. disputing a case) for their own vendors;
- anyone else authenticated: nothing.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..selectors import is_finance_staff, is_read_only, visible_vendor_ids


class ApiAccess(BasePermission):
    message = "Your API key does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if is_finance_staff(user):
            return True
        if is_read_only(user):
            return request.method in SAFE_METHODS
        vendor_ids = visible_vendor_ids(user)
        if not vendor_ids:
            return False
        if request.method in SAFE_METHODS:
            return not getattr(view, "staff_only_reads", False)
        return getattr(view, "action", None) in getattr(view, "vendor_actions", ())


class StaffOnly(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_finance_staff(request.user)
