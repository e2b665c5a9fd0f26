"""Turning caller input into exact values, or a RefundError naming the field.

The parsers themselves are generic and live in lib.parsing; refunds' services
see their refusals as RefundError (the one error type the app raises).
"""

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from lib import parsing
from lib.parsing import InputError

from ..errors import RefundError

P = ParamSpec("P")
T = TypeVar("T")


def _as_refund_error(parse: Callable[P, T]) -> Callable[P, T]:
    @wraps(parse)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return parse(*args, **kwargs)
        except InputError as error:
            raise RefundError(error.field, error.message, code=error.code) from None

    return wrapper


parse_currency = _as_refund_error(parsing.parse_currency)
parse_amount = _as_refund_error(parsing.parse_amount)
parse_rate = _as_refund_error(parsing.parse_rate)
parse_quantity = _as_refund_error(parsing.parse_quantity)
parse_text = _as_refund_error(parsing.parse_text)
