"""Refusing URLs that name nothing before any view sees them."""

from django.http import Http404, HttpRequest, HttpResponse

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
