"""One place that turns domain errors into HTTP answers.

400 with field-level messages for invalid input, 409 for a refused
transition, and never a 500 for a database conflict the request caused.
"""

import logging

from django.db import DatabaseError, IntegrityError, OperationalError
from rest_framework import status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from lib.errors import DomainError, is_collision

from .unavailable import RETRY_AFTER_SECONDS, is_database_unavailable

logger = logging.getLogger(__name__)

CONFLICT_CODES = {"invalid_transition", "conflict"}
# A "conflict" is a collision with another request (a lock timeout, a deadlock,
# a serialization failure, a constraint race): nothing was written and the same
# request can succeed when sent again. Its answer carries Retry-After, and the
# Idempotency-Key middleware never stores an answer that does.
TRANSIENT_CODES = {"conflict"}


def _transient(response: Response) -> Response:
    response["Retry-After"] = "1"
    return response


def flatten_errors(detail, path: str = "") -> dict[str, list[ErrorDetail]]:
    """DRF's nested validation errors as {"lines[0].amount": [message, ...]},
    the field paths the services' domain errors use."""
    if isinstance(detail, dict):
        items = detail.items()
    elif isinstance(detail, list) and not all(isinstance(m, str) for m in detail):
        items = enumerate(detail)  # one entry per item of a list of objects
    else:
        messages = detail if isinstance(detail, list) else [detail]
        return {path or "non_field_errors": list(messages)}
    flat: dict[str, list[ErrorDetail]] = {}
    for key, value in items:
        if not value:
            continue  # an item of a list that had no error
        if isinstance(key, int):
            child = f"{path}[{key}]"
        elif key == api_settings.NON_FIELD_ERRORS_KEY and path:
            child = path  # "lines[0]: Expected a dictionary", not lines[0].non_field_errors
        else:
            child = f"{path}.{key}" if path else str(key)
        flat.update(flatten_errors(value, child))
    return flat


def _validation_error(exc: ValidationError) -> Response:
    errors = flatten_errors(exc.detail)
    field, messages = next(iter(errors.items()))
    return Response(
        {
            "detail": f"{field}: {messages[0]}",
            "code": getattr(messages[0], "code", None) or "invalid",
            "errors": {name: [str(m) for m in found] for name, found in errors.items()},
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


def exception_handler(exc, context):
    if isinstance(exc, ValidationError) and exc.detail:
        # The shape of a domain error's answer: a detail that names the field,
        # a code, and every message under its field's path.
        return _validation_error(exc)
    if isinstance(exc, DomainError):
        code = (
            status.HTTP_409_CONFLICT if exc.code in CONFLICT_CODES else status.HTTP_400_BAD_REQUEST
        )
        response = Response(
            {"detail": exc.message, "code": exc.code, "errors": exc.as_dict()}, status=code
        )
        return _transient(response) if exc.code in TRANSIENT_CODES else response
    if isinstance(exc, IntegrityError):
        # A constraint the request ran into (a race with another request, a
        # value the database refuses): the caller can retry or fix the input.
        logger.warning("API request refused by a database constraint: %s", exc)
        set_rollback()
        return _transient(
            Response(
                {
                    "detail": "The request conflicts with the current state; retry it.",
                    "code": "conflict",
                },
                status=status.HTTP_409_CONFLICT,
            )
        )
    if isinstance(exc, OperationalError) and is_collision(exc):
        # Nothing was written; a retry (with the same Idempotency-Key) is safe.
        logger.warning("API request collided with another one: %s", exc)
        set_rollback()
        return _transient(
            Response(
                {
                    "detail": "The request collided with another one and was not applied; "
                    "retry it.",
                    "code": "conflict",
                },
                status=status.HTTP_409_CONFLICT,
            )
        )
    if is_database_unavailable(exc):
        # The database is down or restarting: nothing was written (or the
        # transaction never committed); the same request can succeed shortly.
        logger.error("API request failed, the database is unavailable: %s", exc)
        set_rollback()
        response = Response(
            {
                "detail": "The database is unavailable; retry the request shortly.",
                "code": "service_unavailable",
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, DatabaseError) and "out of range" in str(exc):
        # The failed statement aborted the transaction (ATOMIC_REQUESTS, or a test's
        # outer atomic block): mark it for rollback rather than run more SQL in it.
        set_rollback()
        return Response(
            {"detail": "A value is out of range.", "code": "invalid"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)
