"""Login plumbing: the throttling authentication backend (django-axes).

The vendor a request works for is chosen in `portal.context`.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a locked-out username+IP before any password is checked.

    Every login over HTTP (portal, admin, API basic auth) passes its request and
    is throttled. Calls without a request (the test client's `login()`, a shell)
    have no IP to throttle by; axes would raise for them, so they pass through
    to the next backend, which checks the password as usual.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
