"""Absolute links for text that leaves the request: notifications, e-mails,
invitations. They use the address the app is served on, settings.PORTAL_BASE_URL
(scripts/dev.sh sets it to the port it serves on)."""

from django.conf import settings
from django.urls import NoReverseMatch, reverse


def absolute_url(path: str) -> str:
    """`path` (e.g. "/portal/") on settings.PORTAL_BASE_URL."""
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}/{path.lstrip('/')}"


def link_to(view: str, *args: object) -> str:
    """The absolute URL of a named view, or "" if it is not mounted."""
    try:
        return absolute_url(reverse(view, args=args))
    except NoReverseMatch:
        return ""
