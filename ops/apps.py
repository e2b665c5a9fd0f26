from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from .context import clear_request_id

        request_finished.connect(clear_request_id, dispatch_uid="ops.clear_request_id")
