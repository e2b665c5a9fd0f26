from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """What is left of `integrations`: its migrations, for a release.

    Its code moved to `api` (keys, idempotency, authentication, errors,
    pagination) and `webhooks`; its tables stayed where they were. Migration
    0003 hands the models over to those apps. Kept installed so that a database
    migrated before the move runs 0003; remove once every database has.
    """

    name = "integrations"
    verbose_name = "Integrations (moved to api and webhooks)"
