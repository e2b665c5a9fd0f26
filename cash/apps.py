from django.apps import AppConfig


class CashConfig(AppConfig):
    name = "cash"
    verbose_name = "Cash"
