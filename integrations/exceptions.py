"""One place that turns domain errors into HTTP answers.

400 with field-level messages for invalid input, 409 for a refused
transition, and never a 500 for a database conflict the request caused.
"""

import logging

from django.db import DatabaseError, IntegrityError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from lib.errors import DomainError, is_collision

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


def exception_handler(exc, context):
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
    if isinstance(exc, DatabaseError) and "out of range" in str(exc):
        # The failed statement aborted the transaction (ATOMIC_REQUESTS, or a test's
        # outer atomic block): mark it for rollback rather than run more SQL in it.
        set_rollback()
        return Response(
            {"detail": "A value is out of range.", "code": "invalid"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)
