"""What drf-spectacular adds to the OpenAPI document beyond the views' own
annotations, so that a client generated from it works as written:

- the one error shape, `Problem` (lib.problems), answered with
  application/problem+json for every 4xx an operation can give, and 503;
- `Idempotency-Key` as a header parameter of every POST (api.idempotency);
- `X-Request-ID` on every response (ops.middleware), `Retry-After` on 429 and 503;
- minItems/maxItems of nested lists (DRF's allow_empty, min_length, max_length);
- a pattern on every free-text request field saying what the server refuses:
  NUL characters (PostgreSQL text cannot hold one) and, where a value is
  required, a blank one; files that are not empty.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_list_serializer

from lib.api_fields import OPTIONAL_TEXT_PATTERN
from lib.problems import CONTENT_TYPE, PROBLEM_TYPES

from .idempotency import KEY_PATTERN, MAX_KEY_LENGTH


class ApiAutoSchema(AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if schema is not None and is_list_serializer(field) and direction == "request":
            if not getattr(field, "allow_empty", True):
                schema["minItems"] = max(1, schema.get("minItems", 0))
            if getattr(field, "min_length", None):
                schema["minItems"] = max(field.min_length, schema.get("minItems", 0))
            if getattr(field, "max_length", None):
                schema["maxItems"] = field.max_length
        return schema


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error, as RFC 9457 problem details (`application/problem+json`). "
    "Branch on `code`; show `detail`; `errors` names each invalid field by its path "
    "(`lines[1].quantity`); quote `request_id` when reporting a problem.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {
            "type": "string",
            "description": "A URI reference naming the kind of error: `/api/problems/<code>/` "
            "describes it.",
            "example": "/api/problems/over_refund/",
        },
        "title": {
            "type": "string",
            "description": "A short summary of the kind of error; the same for every "
            "occurrence of a code.",
        },
        "status": {
            "type": "integer",
            "minimum": 400,
            "maximum": 599,
            "description": "The HTTP status code.",
        },
        "detail": {"type": "string", "description": "What went wrong this time."},
        "code": {
            "type": "string",
            "description": "A stable machine-readable code: "
            + ", ".join(f"`{code}`" for code in PROBLEM_TYPES)
            + " (GET /api/problems/ lists them); new codes may be added.",
            "example": "validation_error",
        },
        "errors": {
            "type": "object",
            "description": "For invalid input: each field's path (`lines[1].quantity`, "
            "`payment.amount`, a query parameter or a header) and its messages.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "instance": {"type": "string", "description": "The path of the request."},
        "request_id": {
            "type": "string",
            "description": "The X-Request-ID of the response: the client's, or one made for it.",
        },
        "retry_after": {
            "type": "integer",
            "minimum": 0,
            "description": "When the request may be sent again, in seconds (as Retry-After).",
        },
    },
}

REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "description": "The request's ID: the client's X-Request-ID when it sent one (visible "
        "ASCII, at most 200 characters), else a new one.",
        "required": True,
        "schema": {"type": "string"},
    }
}
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before sending the request again.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}

# Status → what it means, for every operation (EVERY) and for POSTs (ON_POST).
EVERY = {
    "400": "Invalid input (`validation_error`, `errors` names the fields) or malformed JSON "
    "(`parse_error`).",
    "401": "No API key, or one that is invalid, expired or revoked.",
    "403": "The credentials do not allow this request.",
    "404": "Not found, or not visible to these credentials; also an object the body names "
    "(`errors` says which field), or a page `cursor` the API did not hand out "
    "(`invalid_cursor`).",
    "406": "No representation matches the Accept header.",
    "429": "Too many requests (`throttled`): wait Retry-After seconds.",
    "503": "The database is unavailable (`service_unavailable`): retry after Retry-After seconds.",
}
ON_POST = {
    "409": "Refused by the current state: a transition the status does not allow "
    "(`invalid_transition`), more than remains to refund (`over_refund`), a duplicate "
    "(`duplicate`), or a collision with a concurrent request (`conflict`, with Retry-After: "
    "send it again).",
    "413": "The body is too large (`too_large`).",
    "415": "The body is not in a media type the operation takes.",
    "422": "The Idempotency-Key was used before with another request (`idempotency_key_reused`).",
}
WITH_RETRY_AFTER = {"429", "503"}

IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Makes the POST safe to retry: the first request with a key runs and its "
    "answer is stored; a retry with the same key and body gets the stored answer (with "
    "`Idempotent-Replayed: true`) and does nothing twice; the same key with another body "
    "is a 422. Keys belong to the credentials that sent them and are kept "
    "IDEMPOTENCY_RETENTION_DAYS (7). Visible ASCII (inner spaces allowed), 1-255 characters; "
    "a UUID is a good key.",
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
}


def _problem_response(description: str, status: str) -> dict[str, Any]:
    headers = dict(REQUEST_ID_HEADER)
    if status in WITH_RETRY_AFTER:
        headers.update(RETRY_AFTER_HEADER)
    return {
        "description": description,
        "headers": headers,
        "content": {CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _constrain_text(schema: dict[str, Any]) -> None:
    """Say in the schema that free text may not hold a NUL, and a file may not
    be empty (the server refuses both)."""
    for prop in (schema.get("properties") or {}).values():
        for node in (prop, prop.get("items") or {}):
            if node.get("type") == "string" and node.get("format") == "binary":
                node["minLength"] = 1
        if (
            prop.get("type") == "string"
            and not prop.get("readOnly")
            and not {"pattern", "format", "enum"} & set(prop)
        ):
            prop["pattern"] = OPTIONAL_TEXT_PATTERN


def postprocess(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for name, schema in schemas.items():
        if name.endswith("Request"):
            _constrain_text(schema)
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    _constrain_text({"properties": {"_": parameter.get("schema", {})}})
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {}).update(REQUEST_ID_HEADER)
            errors = dict(EVERY)
            if method == "post":
                errors.update(ON_POST)
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(IDEMPOTENCY_KEY_PARAMETER)
            for status, description in errors.items():
                operation["responses"].setdefault(status, _problem_response(description, status))
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return result
