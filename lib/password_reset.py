"""Password reset that sends at most so many e-mails per address and per client."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpRequest

from .throttle import hit

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest | None) -> str:
    """The client's address as django-axes sees it (its AXES_IPWARE_* settings
    say which proxy headers to trust), so that login and reset throttles agree."""
    if request is None:
        return ""
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or request.META.get("REMOTE_ADDR", "") or ""


def reset_allowed(email: str, ip: str) -> bool:
    """Count this request against the address and the client; both must be within their limit."""
    window = settings.PASSWORD_RESET_WINDOW_SECONDS
    by_email = hit(
        "password-reset-email",
        email,
        limit=settings.PASSWORD_RESET_MAX_PER_EMAIL,
        window_seconds=window,
    )
    by_ip = hit(
        "password-reset-ip", ip, limit=settings.PASSWORD_RESET_MAX_PER_IP, window_seconds=window
    )
    return by_email and by_ip


class ThrottledPasswordResetForm(PasswordResetForm):
    """Django's form; past the limits the page answers the same (nothing tells
    whether the address exists or was throttled) and no e-mail goes out."""

    def save(self, **kwargs: Any) -> None:  # type: ignore[override]
        # PasswordResetView.form_valid passes everything by keyword, request included.
        request: HttpRequest | None = kwargs.get("request")
        email = self.cleaned_data["email"]
        if not reset_allowed(email, client_ip(request)):
            logger.warning("Password reset throttled: too many requests for one address or client.")
            return
        super().save(**kwargs)
