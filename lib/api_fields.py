"""Generic Django REST framework fields any app's API may use.

Input fields are strict about JSON types: what the schema calls a string,
an integer or a boolean is refused as anything else (DRF's own fields would
take 5 for "5", "5" for 5 and "yes" for true), so that the server accepts
exactly what its OpenAPI document describes.
"""

import re

from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lib.money import format_amount

# An amount: ASCII digits, at most 15 before the point (below 10^15) and 3
# after it (the most any currency has; each currency allows its own number).
AMOUNT_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,3})?$"
# A rate: a fraction between 0 and 1 with at most 4 decimals ("0.1000" is 10%).
RATE_PATTERN = r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"
# Text that is not blank once trimmed and holds no NUL (PostgreSQL text cannot).
TEXT_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
OPTIONAL_TEXT_PATTERN = r"^[^\u0000]*$"


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


class TextField(serializers.CharField):
    """A JSON string (a number or a boolean is refused, not turned into text).
    Unless blank is allowed it must hold more than white space; the pattern
    says so in the schema (DRF refuses a blank value before it runs)."""

    default_error_messages = {"not_a_string": "Send a string."}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if not self.allow_blank:
            self.validators.append(
                RegexValidator(TEXT_PATTERN, "This field may not be blank.", code="blank")
            )

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class WholeNumberField(serializers.IntegerField):
    """A JSON integer (a string or a float is refused, even "5" or 5.0)."""

    default_error_messages = {"not_an_integer": "Send a whole number, e.g. 2."}

    def to_internal_value(self, data) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_an_integer")
        return super().to_internal_value(data)


class JSONBooleanField(serializers.BooleanField):
    """JSON true or false (DRF's BooleanField would take "yes", "1" or 1).
    Multipart bodies, where every value is text, keep DRF's BooleanField."""

    default_error_messages = {"not_a_boolean": "Send true or false."}

    def to_internal_value(self, data) -> bool:
        if not isinstance(data, bool):
            self.fail("not_a_boolean")
        return data


class DecimalTextField(TextField):
    """A decimal the caller sends as a JSON string ("5.50"), matching `pattern`.
    A JSON number is refused, float or int: a float cannot hold most amounts
    exactly, and an amount is always written with its currency's minor digits.
    The service parses the text (lib.parsing) and applies the rules that depend
    on other fields (the currency's minor digits)."""

    what = "amounts"
    example = '"5.50"'
    pattern = AMOUNT_PATTERN
    default_error_messages = {
        "not_a_string": "Send {what} as strings, e.g. {example}.",
        "pattern": "{value!r} is not {shape}: write it with the digits 0-9 and a point, "
        "e.g. {example}.",
    }
    shape = "an amount"

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 40)
        # What the pattern refuses, the field refuses: no padding trimmed away.
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string", what=self.what, example=self.example)
        if not re.fullmatch(self.pattern.removeprefix("^").removesuffix("$"), data):
            self.fail("pattern", value=data, shape=self.shape, example=self.example)
        return data


@extend_schema_field(
    {
        "type": "string",
        "pattern": AMOUNT_PATTERN,
        "maxLength": 40,
        "description": "An amount as a decimal string with at most the currency's minor "
        'digits: "5.50" EUR, "1500" JPY, "1.250" KWD.',
        "example": "5.50",
    }
)
class AmountField(DecimalTextField):
    pass


@extend_schema_field(
    {
        "type": "string",
        "pattern": RATE_PATTERN,
        "maxLength": 6,
        "description": 'A rate as a fraction between 0 and 1, at most 4 decimals: "0.1000" is '
        "10%, never 10.",
        "example": "0.1000",
    }
)
class RateField(DecimalTextField):
    what = "rates"
    example = '"0.1000"'
    pattern = RATE_PATTERN
    shape = "a rate (a fraction between 0 and 1, at most 4 decimals)"

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 6)
        super().__init__(**kwargs)


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": RATE_PATTERN,
        "description": 'A rate as a fraction between 0 and 1 with 4 decimals: "0.1000" is 10%.',
        "example": "0.1000",
    }
)
class RateOutputField(serializers.DecimalField):
    """A stored rate as the API shows it ("0.1000")."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_digits", 7)
        kwargs.setdefault("decimal_places", 4)
        kwargs.setdefault("coerce_to_string", True)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)
