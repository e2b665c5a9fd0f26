"""The API's own pages: its index, and a JSON 404 for any URL under /api/
that names nothing (never Django's HTML page, whatever DEBUG says)."""

from django.http import HttpRequest, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse


def api_root(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "v1": request.build_absolute_uri(reverse("api-v1-root")),
            "schema": request.build_absolute_uri(reverse("schema")),
            "docs": request.build_absolute_uri(reverse("api-docs")),
            "redoc": request.build_absolute_uri(reverse("api-redoc")),
        }
    )


def api_v1_root(request: HttpRequest, resources: list[tuple[str, str]]) -> JsonResponse:
    """The index of /api/v1/: `resources` is (name, URL name) of each, given by the URLconf."""
    return JsonResponse(
        {name: request.build_absolute_uri(reverse(url_name)) for name, url_name in resources}
    )


def api_not_found(request: HttpRequest, *args, **kwargs):
    detail = "Not found."
    path = request.path_info
    if not path.endswith("/") and "\x00" not in path:
        # The catch-all makes every path valid, so CommonMiddleware's
        # APPEND_SLASH never redirects under /api/: do it here.
        try:
            match = resolve(path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            if request.method in ("GET", "HEAD"):
                return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
            detail = f"Not found. Did you mean {request.path}/ (with a trailing slash)?"
    return JsonResponse({"detail": detail, "code": "not_found"}, status=404)
