"""Idempotency-Key on API POSTs.

A key belongs to the principal that sent it: the user and the API key, or the
user of a session. The middleware runs before DRF's views, so it authenticates
the request itself with the configured DRF authenticators (the API key
authenticator keeps its answer on the request, so the view does not look the
key up a second time). An unauthenticated request is passed to the view, which
refuses it: nothing is stored for it and nothing is replayed to it.

A request with a key runs in one transaction, and its answer is stored at
the end of it, in that transaction, by one statement that also claims the key
(`INSERT ... ON CONFLICT DO NOTHING RETURNING`): a key costs one statement.
When the key is taken already, by an earlier request or by a concurrent one
(whose transaction this statement waits for on the record's unique index),
nothing is inserted: this request's work is rolled back and the stored answer
is returned instead. So a retry runs the work once more and throws it away
(side effects outside the database go through the outbox, after commit, and
are thrown away with it); racing requests with one key have one effect. The
same key with a different body answers 422.

An answer that says "try again" is never stored, so that the retry with the
same key can succeed: any 5xx, any answer with Retry-After (the 409 the
exception handler gives after a lock timeout, a deadlock, a serialization
failure or a constraint race), any streaming answer, and any answer whose
transaction was marked for rollback. Its work is rolled back, and when an
earlier request stored an answer under the key, that answer is returned.

Records older than IDEMPOTENCY_RETENTION_DAYS are purged by a periodic task
(api.tasks.purge_idempotency_records).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.settings import api_settings

from lib.problems import is_problem, problem_response

from .models import ApiToken, IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255
# Visible ASCII, inner spaces allowed: what a client can send in a header as is.
KEY_PATTERN = r"^[\x21-\x7E]([\x20-\x7E]{0,253}[\x21-\x7E])?$"
PURGE_BATCH_SIZE = 5000


def principal_scope(request: HttpRequest) -> str | None:
    """Who is asking, as the scope of their keys; None when nobody is
    authenticated (or the credentials are refused: the view will say why)."""
    before = request.user if hasattr(request, "user") else None
    drf_request = Request(
        request, authenticators=[cls() for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    )
    try:
        user, auth = drf_request.user, drf_request.auth
    except APIException:
        user, auth = None, None
    if user is None or not user.is_authenticated:
        # DRF put an AnonymousUser on the request; the view authenticates
        # afresh and must see what AuthenticationMiddleware saw.
        if before is not None:
            request.user = before
        return None
    if isinstance(auth, ApiToken):
        return f"user:{user.pk}/key:{auth.pk}"
    return f"user:{user.pk}/session"


def _storable(response: HttpResponse) -> bool:
    return (
        response.status_code < 500
        and not response.has_header("Retry-After")
        and not getattr(response, "streaming", False)
        and not transaction.get_rollback()
    )


def _retry_later(request: HttpRequest) -> HttpResponse:
    return problem_response(
        request,
        "conflict",
        "The request conflicts with the current state; retry it.",
        retry_after=1,
    )


def _replayed(request: HttpRequest, record: IdempotencyRecord) -> HttpResponse:
    """The stored answer; a stored problem names this request's ID, as every
    problem repeats the X-Request-ID of its response."""
    body = bytes(record.body)
    response = HttpResponse(body, status=record.status_code, content_type=record.content_type)
    if is_problem(response):
        problem = json.loads(body)
        if "request_id" in problem and getattr(request, "request_id", None):
            problem["request_id"] = request.request_id
            response.content = json.dumps(problem).encode()
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not re.fullmatch(KEY_PATTERN.removeprefix("^").removesuffix("$"), key):
            message = (
                f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} visible ASCII characters "
                "(spaces inside only)."
            )
            return problem_response(
                request,
                "validation_error",
                message,
                errors={"Idempotency-Key": [message]},
            )
        scope = principal_scope(request)
        if scope is None:
            return self.get_response(request)
        body = request.body  # read before the view, so it can be fingerprinted
        fingerprint = hashlib.sha256(
            b"\0".join([request.method.encode(), request.path.encode(), body])
        ).hexdigest()
        with transaction.atomic():
            response = self.get_response(request)
            if _storable(response):
                try:
                    if _claim(scope, key, request, fingerprint, response):
                        return response  # ours: committed with the work
                except DatabaseError:
                    # The view left the transaction aborted (a database error it
                    # turned into a 4xx): nothing can be stored with it.
                    pass
            # Not ours to keep: another request with this key got there first,
            # or the answer says "try again". The work goes with it.
            transaction.set_rollback(True)
        return self._replay(request, scope, key, fingerprint, response)

    def _replay(
        self,
        request: HttpRequest,
        scope: str,
        key: str,
        fingerprint: str,
        response: HttpResponse,
    ) -> HttpResponse:
        """The answer stored under the key, if there is one; else this request's
        own answer, which was not stored (a "try again", say)."""
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None:
            return response
        if record.status_code is None:
            # A record written before answers that were not stored were rolled
            # back: nothing to replay, and the key is taken.
            return _retry_later(request)
        if record.fingerprint != fingerprint:
            return problem_response(
                request,
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request.",
                errors={"Idempotency-Key": ["Used before with another body or path."]},
            )
        return _replayed(request, record)


_TABLE = IdempotencyRecord._meta.db_table
# The claim and the answer in one statement, at the end of the work, in its
# transaction. A concurrent request that inserted the same key first makes
# this one wait on the unique index until it ends: if it committed, nothing is
# inserted (no row returned) and this request's work is rolled back; if it
# rolled back, this one inserts.
_CLAIM = (
    f"INSERT INTO {_TABLE} "
    "(scope, key, method, path, fingerprint, status_code, content_type, body, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (scope, key) DO NOTHING RETURNING id"
)


def _claim(
    scope: str, key: str, request: HttpRequest, fingerprint: str, response: HttpResponse
) -> bool:
    """Store `response` under the key; False when the key was taken already."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM,
            [
                scope,
                key,
                request.method,
                request.path[:500],
                fingerprint,
                response.status_code,
                response.get("Content-Type", "")[:100],
                response.content,
                timezone.now(),
            ],
        )
        return cursor.fetchone() is not None


def purge_idempotency_records(*, now: datetime | None = None) -> int:
    """Delete the records older than IDEMPOTENCY_RETENTION_DAYS, in batches so
    that no statement holds many row locks; returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.IDEMPOTENCY_RETENTION_DAYS)
    purged = 0
    while True:
        ids = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff)
            .order_by()
            .values_list("pk", flat=True)[:PURGE_BATCH_SIZE]
        )
        if not ids:
            return purged
        purged += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]
