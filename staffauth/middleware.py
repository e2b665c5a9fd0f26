"""With settings.STAFF_REQUIRE_2FA on, a staff session signed in with a
password alone reaches no staff page until it is verified with a TOTP code."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp import user_has_device

from lib.problems import problem_response

# Pages for staff: the admin, the staff dashboard, and the API when used
# through the session (API tokens are their own credential: not asked).
STAFF_PREFIXES = ("/admin/", "/staff/", "/api/v1/")
# Reachable before the second factor: signing in, signing out, static files.
OPEN_PATHS = ("/admin/login/", "/admin/logout/")


def needs_second_factor(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return False
    if user.is_verified():  # set by django_otp.middleware.OTPMiddleware
        return False
    path = request.path_info
    if not path.startswith(STAFF_PREFIXES) or path.startswith(OPEN_PATHS):
        return False
    # A token (Authorization header) authenticates API calls on its own.
    return not (path.startswith("/api/") and "HTTP_AUTHORIZATION" in request.META)


class StaffTwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.STAFF_REQUIRE_2FA and needs_second_factor(request):
            return self.ask_for_second_factor(request)
        return self.get_response(request)

    def ask_for_second_factor(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            return problem_response(
                request,
                "two_factor_required",
                "Enter your two-factor code at /two-factor/verify/ first, "
                "or authenticate with an API token.",
            )
        step = "verify" if user_has_device(request.user) else "enrol"
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse(f'staffauth:{step}')}?{query}")
