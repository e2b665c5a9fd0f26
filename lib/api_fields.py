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
        name = self.amount_attr or self.field_name
        assert name is not None  # bound to a serializer, the field has its name
        amount = getattr(instance, name)
        currency = instance
        for part in self.currency_path.split("."):
            currency = getattr(currency, part)
        return format_amount(amount, currency)


class DecimalTextField(serializers.CharField):
    """A decimal the caller sends as a JSON string ("5.50"). A JSON number is
    refused, float or int: a float cannot hold most amounts exactly, and an
    amount is always written with its currency's minor digits. The service
    parses the text (lib.parsing) and names the field if it is not a number."""

    what = "amounts"
    example = '"5.50"'
    default_error_messages = {"not_a_string": "Send {what} as strings, e.g. {example}."}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string", what=self.what, example=self.example)
        return super().to_internal_value(data)


class AmountField(DecimalTextField):
    pass


class RateField(DecimalTextField):
    what = "rates"
    example = '"0.1000"'

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
