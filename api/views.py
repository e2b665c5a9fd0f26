"""The API's own pages: its index, the catalogue of its error codes, and a
problem 404 for any URL under /api/ that names nothing (never Django's HTML
page, whatever DEBUG says).

These are plain Django views: they take no body, so they are exempt from the
CSRF check (a POST to an unknown URL is a 404, not a CSRF page), and they
answer GET and HEAD only (405 otherwise, made a problem by
api.middleware.ProblemDetailsMiddleware).
"""

from django.http import HttpRequest, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from lib.problems import PROBLEM_TYPES, TYPE_PREFIX, problem_response


@csrf_exempt
@require_safe
def api_root(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "v1": request.build_absolute_uri(reverse("api-v1-root")),
            "schema": request.build_absolute_uri(reverse("schema")),
            "docs": request.build_absolute_uri(reverse("api-docs")),
            "redoc": request.build_absolute_uri(reverse("api-redoc")),
            "problems": request.build_absolute_uri(reverse("api-problems")),
        }
    )


@csrf_exempt
@require_safe
def api_v1_root(request: HttpRequest, resources: list[tuple[str, str]]) -> JsonResponse:
    """The index of /api/v1/: `resources` is (name, URL name) of each, given by the URLconf."""
    return JsonResponse(
        {name: request.build_absolute_uri(reverse(url_name)) for name, url_name in resources}
    )


def _problem_type(code: str) -> dict:
    known = PROBLEM_TYPES[code]
    return {
        "type": f"{TYPE_PREFIX}{code}/",
        "code": code,
        "status": known.status,
        "title": known.title,
        "description": known.description,
    }


@csrf_exempt
@require_safe
def problem_types(request: HttpRequest) -> JsonResponse:
    """What each error `code` (and `type`) means: /api/problems/."""
    return JsonResponse({"results": [_problem_type(code) for code in PROBLEM_TYPES]})


@csrf_exempt
@require_safe
def problem_type(request: HttpRequest, code: str):
    """One error code: the document a problem's `type` names."""
    if code not in PROBLEM_TYPES:
        return problem_response(request, "not_found", f"No error code {code!r}.")
    return JsonResponse(_problem_type(code))


@csrf_exempt
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
    return problem_response(request, "not_found", detail)
