import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from .health import liveness, readiness
from .metrics import exposition


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse(liveness())


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    report = readiness()
    return JsonResponse(report, status=200 if report["status"] == "ready" else 503)


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format. METRICS_TOKEN set: the scrape must bear it.
    Unset: not found, unless METRICS_ALLOW_UNAUTHENTICATED says otherwise."""
    token = settings.METRICS_TOKEN
    if token:
        if not _bearer_matches(request, token):
            response = JsonResponse(
                {"detail": "Send the metrics token: Authorization: Bearer <METRICS_TOKEN>."},
                status=401,
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not settings.METRICS_ALLOW_UNAUTHENTICATED:
        raise Http404
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
