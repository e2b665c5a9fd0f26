"""Refusing URLs that name nothing before any view sees them; every error
under /api/ a problem."""

import json

from django.http import Http404, HttpRequest, HttpResponse

from lib.problems import (
    PROBLEM_TYPES,
    code_for_status,
    is_problem,
    problem_response,
    status_phrase,
)

from .views import api_not_found


class RefuseNulInPathMiddleware:
    """A NUL character in the path (`/portal/cases/%00/`) names no resource:
    PostgreSQL text cannot hold one, and psycopg2 refuses such a parameter
    with a ValueError (a 500) in whichever view looks it up. Answer 404 here,
    once for every URL: JSON under /api/, the site's 404 page elsewhere. (A
    NUL in a query parameter is a field error: Django's and DRF's fields refuse
    it with a 400 naming the parameter.)"""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            if request.path.startswith("/api/"):
                return api_not_found(request)
            raise Http404("No such page.")
        return self.get_response(request)


# Headers a problem made from another error response keeps.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary")


class ProblemDetailsMiddleware:
    """Every error under /api/ is a problem (lib.problems). The API's views, its
    exception handler and the middlewares that answer early make problems
    themselves; this catches the rest (Django's CSRF page, a 405 from a plain
    view, the 400 of a SuspiciousOperation, a 500 page) and answers the same
    status as a problem, keeping Allow, Retry-After and WWW-Authenticate. Near
    the top of MIDDLEWARE, under the request ID, so that it sees every answer."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith("/api/")
            and not is_problem(response)
        ):
            return self.as_problem(request, response)
        return response

    @staticmethod
    def as_problem(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        status = response.status_code
        code = code_for_status(status)
        known = PROBLEM_TYPES.get(code)
        detail = f"{known.title if known else status_phrase(status)}."
        if code == "method_not_allowed":
            detail = f"Method {request.method} is not allowed here."
        problem = problem_response(request, code, detail, status=status)
        for name in KEPT_HEADERS:
            if response.has_header(name):
                problem[name] = response[name]
        if response.has_header("Retry-After"):
            body = json.loads(problem.content)
            try:
                body["retry_after"] = int(response["Retry-After"])
            except ValueError:
                pass
            problem.content = json.dumps(body).encode()
        return problem
