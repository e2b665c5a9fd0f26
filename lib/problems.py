"""RFC 9457 problem details: the one shape of every error the API answers.

    HTTP/1.1 409 Conflict
    Content-Type: application/problem+json
    X-Request-ID: 4f1c...

    {"type": "/api/problems/over_refund/", "title": "More than remains to refund",
     "status": 409, "detail": "Only 2 of 2 × MUG-01 can still be refunded.",
     "code": "over_refund", "errors": {"lines[0].quantity": ["Only 2 of ..."]},
     "instance": "/api/v1/refund-cases/", "request_id": "4f1c..."}

`code` is the stable machine code a client branches on; `type` is the same
code as a URI reference (`/api/problems/<code>/` describes it); `title` never
changes for a code; `detail` and `errors` (field path → messages, the paths
the services use: `lines[1].quantity`) describe this occurrence. `request_id`
repeats the response's X-Request-ID, so a report can be matched to the logs.

Every error under /api/ takes this shape: the DRF exception handler
(api.exceptions), the middlewares that answer before a view (request size,
idempotency keys, two-factor, database outage) and, as a safety net for
anything else, api.middleware.ProblemDetailsMiddleware.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "/api/problems/"


@dataclass(frozen=True)
class ProblemType:
    status: int
    title: str
    description: str


# Every code the API answers with, its usual status and its fixed title. A
# code not listed here (a new domain error code) is still answered, with
# type "about:blank" and the status's own phrase as its title.
PROBLEM_TYPES: dict[str, ProblemType] = {
    "validation_error": ProblemType(
        400,
        "Invalid input",
        "A field, query parameter or header is missing or invalid; `errors` names each "
        "one (`lines[1].quantity`) with its messages.",
    ),
    "parse_error": ProblemType(
        400, "Malformed request body", "The body is not valid JSON (or nests too deep)."
    ),
    "invalid_cursor": ProblemType(
        404,
        "Invalid cursor",
        "The `cursor` query parameter names no page: it is not one this API handed out. "
        "Start again from the first page.",
    ),
    "not_authenticated": ProblemType(
        401, "Authentication required", "Send `Authorization: Token <key>`."
    ),
    "authentication_failed": ProblemType(
        401, "Authentication failed", "The API key is invalid, expired or revoked."
    ),
    "permission_denied": ProblemType(
        403, "Permission denied", "The credentials are valid but do not allow this request."
    ),
    "two_factor_required": ProblemType(
        403,
        "Second factor required",
        "A staff session must enter its two-factor code first; API keys are not asked.",
    ),
    "not_found": ProblemType(
        404,
        "Not found",
        "The URL, or an object the body names (`errors` says which field), does not exist "
        "or is not visible to you.",
    ),
    "method_not_allowed": ProblemType(
        405, "Method not allowed", "The `Allow` header lists the methods this URL takes."
    ),
    "statement_archived": ProblemType(
        410,
        "Statement lines archived",
        "The statement's totals stand, but the ledger entries of its month were detached "
        "(archived): its lines can no longer be downloaded. Ask the platform for them.",
    ),
    "journal_archived": ProblemType(
        410,
        "Journal archived",
        "The journal's month was detached from the ledger (archived), its entries first: "
        "it no longer reads here. The books' totals stand. Ask the platform for it.",
    ),
    "not_acceptable": ProblemType(
        406,
        "Not acceptable",
        "No representation matches the `Accept` header: JSON, or the file's own type "
        "for downloads.",
    ),
    "conflict": ProblemType(
        409,
        "Conflict with a concurrent request",
        "Another request changed the same rows; nothing was written. Send the request "
        "again (with the same Idempotency-Key) after `Retry-After` seconds.",
    ),
    "invalid_transition": ProblemType(
        409,
        "Transition not allowed",
        "The case's status does not allow this action (see the status table).",
    ),
    "over_refund": ProblemType(
        409,
        "More than remains to refund",
        "The refund exceeds what the order line, its shipping or the captured payment "
        "still allows (open cases count).",
    ),
    "duplicate": ProblemType(409, "Already exists", "An object with this key exists already."),
    "not_ended": ProblemType(
        409,
        "Not ended yet",
        "The period has not ended: it can be closed from the day after its last day.",
    ),
    "ambiguous": ProblemType(
        409,
        "Name one",
        "The request leaves out what it is for, and more than one would fit: name one.",
    ),
    "too_large": ProblemType(413, "Request too large", "The body exceeds the size limit."),
    "file_type": ProblemType(
        400,
        "File type refused",
        "The file's contents are not an allowed type, or disagree with its name.",
    ),
    "unsupported_media_type": ProblemType(
        415,
        "Unsupported media type",
        "Send `Content-Type: application/json` (uploads: `multipart/form-data`).",
    ),
    "idempotency_key_reused": ProblemType(
        422,
        "Idempotency-Key reused",
        "This Idempotency-Key was used before with another method, path or body.",
    ),
    "throttled": ProblemType(
        429,
        "Too many requests",
        "Past the rate limit; wait `Retry-After` seconds (also `retry_after`).",
    ),
    "server_error": ProblemType(
        500, "Internal server error", "A fault on our side; the request ID finds it in the logs."
    ),
    "service_unavailable": ProblemType(
        503,
        "Service unavailable",
        "The database is unavailable; retry after `Retry-After` seconds.",
    ),
}

# The code a bare status gets when nothing more specific is known.
STATUS_CODES: dict[int, str] = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "idempotency_key_reused",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}

# Domain errors (lib.errors.DomainError) whose code is a generic "this field is
# wrong": to a client they are validation errors like the serializers' own.
GENERIC_FIELD_CODES = frozenset({"invalid", "required"})


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status Python does not name
        return "Error"


def code_for_status(status: int) -> str:
    return STATUS_CODES.get(status, "server_error" if status >= 500 else "bad_request")


def domain_code(code: str) -> str:
    """The API code of a domain error's code."""
    return "validation_error" if code in GENERIC_FIELD_CODES else code


def status_for(code: str, default: int = 400) -> int:
    known = PROBLEM_TYPES.get(code)
    return known.status if known else default


def problem(
    code: str,
    detail: str,
    *,
    status: int | None = None,
    errors: dict[str, list[str]] | None = None,
    request: Any = None,
    retry_after: int | None = None,
) -> dict[str, Any]:
    """The body of a problem. `request` (Django's or DRF's) gives the instance
    (its path) and the request ID the ops middleware set on it."""
    known = PROBLEM_TYPES.get(code)
    status = status or (known.status if known else 400)
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{code}/" if known else "about:blank",
        "title": known.title if known else status_phrase(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    if retry_after is not None:
        body["retry_after"] = retry_after
    if request is not None:
        body["instance"] = request.path
        request_id = getattr(request, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    return body


def problem_response(
    request: HttpRequest | None,
    code: str,
    detail: str,
    *,
    status: int | None = None,
    errors: dict[str, list[str]] | None = None,
    retry_after: int | None = None,
) -> HttpResponse:
    """A problem as a plain Django response, for middlewares and plain views."""
    body = problem(
        code, detail, status=status, errors=errors, request=request, retry_after=retry_after
    )
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder).encode(),
        status=body["status"],
        content_type=CONTENT_TYPE,
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def is_problem(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").split(";", 1)[0].strip() == CONTENT_TYPE


class ProblemJSONRenderer(JSONRenderer):
    media_type = CONTENT_TYPE
    format = "problem+json"


_RENDERER = ProblemJSONRenderer()


class ProblemResponse(Response):
    """A DRF response that is problem+json whatever the request's Accept header
    negotiated (a download's PDF renderer cannot draw an error; a client that
    asked for a PDF still reads why it got none)."""

    def __init__(self, data: dict[str, Any], *, headers: dict[str, str] | None = None) -> None:
        super().__init__(data, status=data["status"], headers=headers, content_type=CONTENT_TYPE)

    # DRF's finalize_response sets the negotiated renderer on every response;
    # a problem keeps its own.
    @property
    def accepted_renderer(self) -> JSONRenderer:
        return _RENDERER

    @accepted_renderer.setter
    def accepted_renderer(self, value: object) -> None:
        pass

    @property
    def accepted_media_type(self) -> str:
        return CONTENT_TYPE

    @accepted_media_type.setter
    def accepted_media_type(self, value: object) -> None:
        pass
