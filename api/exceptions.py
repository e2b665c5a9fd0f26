"""One place that turns every error a DRF view raises into a problem
(RFC 9457, lib.problems): DRF's own (authentication, permissions, throttling,
parsing, negotiation, validation), the apps' domain errors, and the database
errors a request can cause. Never a 500 for a conflict the request caused.

Statuses: 400 for invalid input (code `validation_error`, every message
under its field's path in `errors`), 404 for an object that does not exist
(also one the body names, e.g. the order of a new case: `errors` names the
field), 409 for a refused transition, an over-refund, a duplicate or a
collision with a concurrent request (`conflict`, with Retry-After), 503 while
the database is unavailable.
"""

import logging
import math

from django.core import exceptions as django_exceptions
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, IntegrityError, OperationalError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.exceptions import APIException, ErrorDetail, ValidationError
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from lib.errors import DomainError, is_collision
from lib.problems import ProblemResponse, domain_code, problem, status_for

from .unavailable import RETRY_AFTER_SECONDS, is_database_unavailable

logger = logging.getLogger(__name__)

# A "conflict" is a collision with another request (a lock timeout, a deadlock,
# a serialization failure, a constraint race): nothing was written and the same
# request can succeed when sent again. Its answer carries Retry-After, and the
# Idempotency-Key middleware never stores an answer that does.
TRANSIENT_CODES = {"conflict"}
CONFLICT_RETRY_SECONDS = 1


def flatten_errors(detail, path: str = "") -> dict[str, list[ErrorDetail]]:
    """DRF's nested validation errors as {"lines[0].amount": [message, ...]},
    the field paths the services' domain errors use."""
    if isinstance(detail, dict):
        items = detail.items()
    elif isinstance(detail, list) and not all(isinstance(m, str) for m in detail):
        items = enumerate(detail)  # one entry per item of a list of objects
    else:
        messages = detail if isinstance(detail, list) else [detail]
        return {path or api_settings.NON_FIELD_ERRORS_KEY: list(messages)}
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


def _request(context) -> object | None:
    return (context or {}).get("request")


def _respond(
    context, code: str, detail: str, *, status: int | None = None, errors=None, headers=None
) -> ProblemResponse:
    retry_after = None
    if headers and "Retry-After" in headers:
        retry_after = int(headers["Retry-After"])
    body = problem(
        code,
        detail,
        status=status,
        errors=errors,
        request=_request(context),
        retry_after=retry_after,
    )
    return ProblemResponse(body, headers=headers)


def _validation_error(exc: ValidationError, context) -> ProblemResponse:
    errors = flatten_errors(exc.detail)
    field, messages = next(iter(errors.items()))
    return _respond(
        context,
        "validation_error",
        f"{field}: {messages[0]}",
        errors={name: [str(m) for m in found] for name, found in errors.items()},
    )


def _api_code(exc: APIException) -> str:
    """DRF's code for the exception (its default_code unless raised with
    another), as the API spells it."""
    if isinstance(exc, ValidationError):
        return "validation_error"
    detail = exc.detail
    code = getattr(detail, "code", None) if isinstance(detail, ErrorDetail) else None
    return str(code or exc.default_code)


def _api_exception(exc: APIException, context) -> ProblemResponse:
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(math.ceil(wait))
    if isinstance(exc.detail, (list, dict)):
        # An APIException raised with structured detail: a validation error's shape.
        errors = flatten_errors(exc.detail)
        field, messages = next(iter(errors.items()))
        return _respond(
            context,
            _api_code(exc),
            f"{field}: {messages[0]}",
            status=exc.status_code,
            errors={name: [str(m) for m in found] for name, found in errors.items()},
            headers=headers,
        )
    return _respond(
        context, _api_code(exc), str(exc.detail), status=exc.status_code, headers=headers
    )


def _domain_error(exc: DomainError, context) -> ProblemResponse:
    code = domain_code(exc.code)
    headers = {"Retry-After": str(CONFLICT_RETRY_SECONDS)} if code in TRANSIENT_CODES else None
    return _respond(
        context,
        code,
        exc.message,
        status=status_for(code),
        errors=exc.as_dict(),
        headers=headers,
    )


def _conflict(context, detail: str) -> ProblemResponse:
    set_rollback()
    return _respond(
        context, "conflict", detail, headers={"Retry-After": str(CONFLICT_RETRY_SECONDS)}
    )


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, django_exceptions.PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, ValidationError) and exc.detail:
        return _validation_error(exc, context)
    if isinstance(exc, APIException):
        return _api_exception(exc, context)
    if isinstance(exc, DomainError):
        return _domain_error(exc, context)
    if isinstance(exc, RequestDataTooBig):
        # DATA_UPLOAD_MAX_MEMORY_SIZE, met while the view read the body.
        return _respond(context, "too_large", str(exc) or "The request body is too large.")
    if isinstance(exc, IntegrityError):
        # A constraint the request ran into (a race with another request, a
        # value the database refuses): the caller can retry or fix the input.
        logger.warning("API request refused by a database constraint: %s", exc)
        return _conflict(context, "The request conflicts with the current state; retry it.")
    if isinstance(exc, OperationalError) and is_collision(exc):
        # Nothing was written; a retry (with the same Idempotency-Key) is safe.
        logger.warning("API request collided with another one: %s", exc)
        return _conflict(
            context, "The request collided with another one and was not applied; retry it."
        )
    if is_database_unavailable(exc):
        # The database is down or restarting: nothing was written (or the
        # transaction never committed); the same request can succeed shortly.
        logger.error("API request failed, the database is unavailable: %s", exc)
        set_rollback()
        return _respond(
            context,
            "service_unavailable",
            "The database is unavailable; retry the request shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, DatabaseError) and "out of range" in str(exc):
        # The failed statement aborted the transaction (ATOMIC_REQUESTS, or a test's
        # outer atomic block): mark it for rollback rather than run more SQL in it.
        set_rollback()
        return _respond(context, "validation_error", "A value is out of range.")
    return None
