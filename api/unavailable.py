"""The database is down: 503 with Retry-After, never a 500 page.

Three places see the error: the API's exception handler (DRF views),
`DatabaseUnavailableMiddleware` (any other view: portal, admin) and
`server_error`, the 500 handler, for errors raised in a middleware before any
view ran (sessions, authentication, idempotency keys all read the database).
Django turns a middleware's exception into a response at that middleware, so
no outer middleware can catch it: the 500 handler is the one place left.
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views import defaults

from lib.problems import problem_response

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# SQLSTATE classes and codes that mean "no database to talk to": connection
# exceptions (08...), the server shutting down or starting (57P01-57P03),
# too many connections (53300). A connection that never opened has no code.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def is_database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, InterfaceError):
        return True  # "connection already closed"
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
    if code is None:
        # psycopg2 gives no code when it could not connect or the server went
        # away mid-query; a lock timeout or deadlock always has one.
        return True
    return code.startswith("08") or code in UNAVAILABLE_SQLSTATES


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_response(
            request,
            "service_unavailable",
            "The database is unavailable; retry the request shortly.",
            retry_after=RETRY_AFTER_SECONDS,
        )
    response = HttpResponse(
        "Service unavailable: the site cannot reach its database. "
        "Please try again in a few seconds.",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """A view (outside DRF, which has its own handler) that lost the database
    answers 503."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exc):
            return None
        logger.error("database unavailable: %s %s: %s", request.method, request.path, exc)
        return unavailable_response(request)


def server_error(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """handler500: Django calls it inside the `except` of the failed request."""
    exc = sys.exc_info()[1]
    if exc is not None and is_database_unavailable(exc):
        return unavailable_response(request)
    if request.path.startswith("/api/"):
        return problem_response(
            request,
            "server_error",
            "The server failed to answer this request; the request ID finds it in our logs.",
        )
    return defaults.server_error(request, *args, **kwargs)
