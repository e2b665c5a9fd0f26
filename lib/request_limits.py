"""Refuse a request whose declared body is too large, before anything reads it."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .problems import problem_response


def declared_length(request: HttpRequest) -> int:
    """The Content-Length the client sent (0 when absent or not a number)."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    megabytes = limit / (1024 * 1024)
    detail = f"The request body is larger than {megabytes:.0f} MB."
    response: HttpResponse
    if request.path_info.startswith("/api/"):
        response = problem_response(request, "too_large", detail)
    else:
        response = HttpResponse(
            "<!doctype html><title>Request too large</title>"
            f"<h1>Request too large</h1><p>{detail} Attach a smaller file.</p>",
            status=413,
            content_type="text/html; charset=utf-8",
        )
    # Set here, as CommonMiddleware (which would) never sees this answer.
    response["Content-Length"] = str(len(response.content))
    return response


class RequestSizeLimitMiddleware:
    """413 for a Content-Length above settings.REQUEST_MAX_BYTES, without
    touching request.body (Django's own DATA_UPLOAD_MAX_MEMORY_SIZE only acts
    once a view reads it). A body sent without a Content-Length (chunked) is
    the web server's to cap: nginx client_max_body_size, deploy/README.md."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.REQUEST_MAX_BYTES
        if declared_length(request) > limit:
            return too_large(request, limit)
        return self.get_response(request)
