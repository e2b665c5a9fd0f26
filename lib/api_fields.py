"""Generic Django REST framework fields any app's API may use."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lib.money import format_amount


@extend_schema_field(OpenApiTypes.STR)
class MoneyField(serializers.Field):
    """An amount as a string with its currency's minor digits ("27.50", "1500").

    `currency` is the dotted path from the object to its currency code.
    """

    def __init__(self, *, amount: str | None = None, currency: str = "currency", **kwargs):
        self.amount_attr = amount
        self.currency_path = currency
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, instance) -> str:
        amount = getattr(instance, self.amount_attr or self.field_name)
        currency = instance
        for part in self.currency_path.split("."):
            currency = getattr(currency, part)
        return format_amount(amount, currency)
