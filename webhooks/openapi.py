"""The OpenAPI document's `webhooks` section (SPECTACULAR_SETTINGS["WEBHOOKS"]):
one entry per event of the catalogue, its payload as the request a receiver gets."""

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema

from .catalogue import CATALOGUE

HEADERS = (
    "\n\nSigned as Standard Webhooks asks (https://www.standardwebhooks.com): headers "
    "`webhook-id` (the same on every retry: deduplicate by it), `webhook-timestamp` "
    "(Unix seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256>` of "
    '`"{id}.{timestamp}.{body}"` with the endpoint\'s secret; two, space separated, while '
    "a rotated-out secret is still valid). Answer 2xx within the timeout; anything else "
    "is retried. See docs/webhooks.md."
)

WEBHOOKS = [
    OpenApiWebhook(
        name=event.name,
        decorator=extend_schema(
            summary=event.name,
            description=event.description + HEADERS,
            request={"application/json": event.payload},
            responses={
                200: OpenApiResponse(description="Received (any 2xx will do)."),
            },
        ),
    )
    for event in CATALOGUE.values()
]
