from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .context import (
    HEADER,
    accepted_request_id,
    bind_request_id,
    clear_request_id,
    new_request_id,
)
from .metrics import record_request, route_of


class RequestIdMiddleware:
    """Take the client's X-Request-ID when it is safe to log (visible ASCII, at
    most 200 characters), else make one; bind it for the logs and the tasks
    this request queues, and send it back on every response. First in
    MIDDLEWARE, so even a response another middleware makes carries it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accepted_request_id(request.META.get("HTTP_X_REQUEST_ID")) or new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        # Left bound until the response is closed (request_finished, see
        # ops.apps): Django logs "Not Found" and the like after the middleware
        # chain has returned, and a streamed body is sent later still.
        bind_request_id(request_id)
        try:
            response = self.get_response(request)
        except BaseException:
            clear_request_id()
            raise
        response[HEADER] = request_id
        return response


class RequestMetricsMiddleware:
    """Count and time every request by the URL pattern it matched (ops.metrics).
    Near the top of MIDDLEWARE: Django turns an exception into a response at
    each layer, so a 500 is counted as one too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        record_request(
            route=route_of(request),
            method=request.method or "",
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response
