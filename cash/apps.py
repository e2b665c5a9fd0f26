from django.apps import AppConfig


class CashConfig(AppConfig):
    name = "cash"
    verbose_name = "Cash"

    def ready(self) -> None:
        # refunds cannot import cash (the layer contract): the rule that a case
        # closes only when its refund is matched is registered from here.
        from refunds.close_rules import register_close_rule

        from . import reconciliation_tasks  # noqa: F401  (registers the beat task)
        from .services.case_rules import require_matched_refund

        register_close_rule("cash.refund_matched", require_matched_refund)
