"""Idempotency-Key on API POSTs.

The key is scoped by the credentials that sent it. The first request with a
key inserts its record, runs, and stores its answer, all in one transaction;
a concurrent request with the same key waits on the record's unique index
until that transaction ends, then returns the stored answer without running
again. The same key with a different body answers 422. Server errors are not
stored (the transaction rolls back), so the client can retry them.
"""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from .models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255


class IdempotencyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            return JsonResponse(
                {
                    "detail": f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters.",
                    "code": "invalid",
                    "errors": {"Idempotency-Key": ["Invalid length."]},
                },
                status=400,
            )
        scope = hashlib.sha256(request.META.get("HTTP_AUTHORIZATION", "").encode()).hexdigest()
        body = request.body  # read before the view, so it can be fingerprinted
        fingerprint = hashlib.sha256(
            b"\0".join([request.method.encode(), request.path.encode(), body])
        ).hexdigest()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope,
                    key=key,
                    method=request.method,
                    path=request.path[:500],
                    fingerprint=fingerprint,
                )
                response = self.get_response(request)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                    return response
                if getattr(response, "streaming", False):
                    return response
                record.status_code = response.status_code
                record.content_type = response.get("Content-Type", "")[:100]
                record.body = response.content
                record.save(update_fields=["status_code", "content_type", "body"])
                return response
        except IntegrityError:
            pass
        return self._replay(scope, key, fingerprint)

    def _replay(self, scope: str, key: str, fingerprint: str) -> HttpResponse:
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None or record.status_code is None:
            # The view itself raised an IntegrityError and nothing was stored.
            return JsonResponse(
                {
                    "detail": "The request conflicts with the current state; retry it.",
                    "code": "conflict",
                },
                status=409,
            )
        if record.fingerprint != fingerprint:
            return JsonResponse(
                {
                    "detail": "This Idempotency-Key was used with a different request.",
                    "code": "idempotency_key_reused",
                    "errors": {"Idempotency-Key": ["Used before with another body or path."]},
                },
                status=422,
            )
        response = HttpResponse(
            bytes(record.body), status=record.status_code, content_type=record.content_type
        )
        response["Idempotent-Replayed"] = "true"
        return response
