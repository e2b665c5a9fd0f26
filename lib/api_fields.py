"""Generic Django REST framework fields any app's API may use.

Input fields are strict about JSON types: what the schema calls a string,
an integer or a boolean is refused as anything else (DRF's own fields would
take 5 for "5", "5" for 5 and "yes" for true), so that the server accepts
exactly what its OpenAPI document describes.
"""

import re

from django.core.validators import RegexValidator, URLValidator
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
# A month, YYYY-MM, of the years 0001 to 9999 (what a Python date can hold).
MONTH_PATTERN = r"^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(0[1-9]|1[0-2])$"
# An object's id: a positive PostgreSQL bigint.
ID_MAXIMUM = 2**63 - 1


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
    """A JSON integer: a string is refused ("5"), and so is a number with a
    fraction (5.5). A number written with a zero fraction (5.0) is the integer
    5, as JSON Schema's `type: integer` (and JavaScript) has it."""

    default_error_messages = {"not_an_integer": "Send a whole number, e.g. 2."}

    def to_internal_value(self, data) -> int:
        if isinstance(data, float) and data.is_integer():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_an_integer")
        return super().to_internal_value(data)


class IdField(WholeNumberField):
    """An object's id in a body: a whole number from 1 (a bigint)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAXIMUM)
        super().__init__(**kwargs)


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


_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SUBLABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,38}[A-Za-z0-9])?"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_PORT = "(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
# A character of a path, query or fragment as RFC 3986 has it (pchar).
_PCHAR = "([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})"
# An http(s) URL to a host name (up to six labels, at most 253 characters in all),
# an IPv4 address or localhost, with an optional port, path, query and fragment.
HTTP_URL_PATTERN = (
    rf"^https?://({_LABEL}(\.{_SUBLABEL}){{0,4}}\.[A-Za-z]{{2,24}}"
    rf"|{_OCTET}(\.{_OCTET}){{3}}|localhost)(:{_PORT})?"
    rf"(/({_PCHAR}|/)*)?(\?({_PCHAR}|[/?])*)?(#({_PCHAR}|[/?])*)?$"
)


def _http_url(value: str) -> None:
    # A function, not the validator itself, which the schema would read as `format: uri`.
    URLValidator(schemes=["http", "https"])(value)


@extend_schema_field(
    {
        "type": "string",
        "pattern": HTTP_URL_PATTERN,
        "maxLength": 500,
        "description": "An http or https URL: a host name, an IPv4 address or localhost, "
        "an optional port, path, query and fragment (RFC 3986 characters).",
        "example": "https://hooks.example.com/splitledger",
    }
)
class HttpUrlField(serializers.CharField):
    """An http(s) URL, as strict as its pattern: what the pattern refuses, the
    field refuses, and what it accepts Django's URL validator accepts too. (No
    `format: uri` in the schema: the pattern says more, and a URI of any other
    form is refused.)"""

    default_error_messages = {"not_a_string": "Send a string."}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators.append(
            RegexValidator(
                HTTP_URL_PATTERN,
                "Enter an http or https URL to a host name or an IPv4 address.",
                code="invalid",
            )
        )
        self.validators.append(_http_url)

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


def related(source: str, **kwargs) -> serializers.CharField:
    """A related object's attribute as text ("imported_by.username"), read only;
    null when there is no related object."""
    return serializers.CharField(
        source=source, read_only=True, default=None, allow_null=True, **kwargs
    )


class UploadField(serializers.FileField):
    """An uploaded file of at most `max_bytes` (default 50 MiB)."""

    default_error_messages = {"too_big": "The file is {size} bytes; at most {limit} are accepted."}

    def __init__(self, *, max_bytes: int = 50 * 1024 * 1024, **kwargs) -> None:
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        file = super().to_internal_value(data)
        if file.size > self.max_bytes:
            self.fail("too_big", size=file.size, limit=self.max_bytes)
        return file


def optional_choice(choices, **kwargs) -> serializers.ChoiceField:
    """One of `choices`, or blank (the default) for the server's choice."""
    return serializers.ChoiceField(
        choices=choices, required=False, allow_blank=True, default="", **kwargs
    )


def optional_text(**kwargs) -> serializers.CharField:
    """Text that may be left out or blank (the default)."""
    return serializers.CharField(required=False, allow_blank=True, default="", **kwargs)
