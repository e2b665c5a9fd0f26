"""Error reporting to Sentry (or anything that speaks its protocol, e.g.
GlitchTip), switched on by SENTRY_DSN alone. Settings call `init_sentry` when
it is set; without it nothing is imported or initialised."""

from __future__ import annotations


def init_sentry(
    *, dsn: str, environment: str, release: str | None, traces_sample_rate: float
) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    from .context import current_request_id

    def tag_request_id(event: dict, hint: dict) -> dict:
        # The ID in the logs and the X-Request-ID header, to go from a report to its lines.
        request_id = current_request_id()
        if request_id:
            event.setdefault("tags", {})["request_id"] = request_id
        return event

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # No user names, e-mail or IP addresses, cookies or request bodies.
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        before_send=tag_request_id,
    )
