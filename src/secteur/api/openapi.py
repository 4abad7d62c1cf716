"""What `/openapi.json` says each operation answers: Zoho's envelopes, as the routes send them.

The routes return `Response` objects built by `responses`, so FastAPI cannot see their bodies;
each route declares its answers with the helpers below, the routers add the errors every
authenticated operation may answer, and `document` finishes the generated document: the shared
schemas, and no FastAPI 422 (a validation failure here is Zoho's 400, see `app.py`).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ERROR",
    "ERRORS",
    "Responses",
    "batch",
    "deleted",
    "document",
    "found",
    "listing",
    "oauth",
    "outcome",
    "single",
]

Responses = dict[int | str, dict[str, Any]]

_COMPONENTS = "#/components/schemas/"
ERROR = {"$ref": _COMPONENTS + "ZohoError"}
SUCCESS = {"$ref": _COMPONENTS + "ZohoSuccess"}
OUTCOME = {"anyOf": [SUCCESS, ERROR]}

SCHEMAS: dict[str, dict[str, Any]] = {
    "ZohoError": {
        "title": "ZohoError",
        "description": "Zoho's error object, for a whole request or for one item of a batch.",
        "type": "object",
        "required": ["code", "details", "message", "status"],
        "properties": {
            "code": {"type": "string", "examples": ["INVALID_DATA"]},
            "details": {"type": "object"},
            "message": {"type": "string"},
            "status": {"type": "string", "enum": ["error"]},
        },
    },
    "ZohoSuccess": {
        "title": "ZohoSuccess",
        "description": "The outcome of one item that succeeded (upserts add `action`).",
        "type": "object",
        "required": ["code", "details", "message", "status"],
        "properties": {
            "code": {"type": "string", "examples": ["SUCCESS"]},
            "details": {"type": "object"},
            "message": {"type": "string"},
            "status": {"type": "string", "enum": ["success"]},
        },
    },
    "PageInfo": {
        "title": "PageInfo",
        "type": "object",
        "required": ["per_page", "count", "page", "more_records"],
        "properties": {
            "per_page": {"type": "integer"},
            "count": {"type": "integer"},
            "page": {"type": "integer"},
            "more_records": {"type": "boolean"},
        },
    },
}

_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _envelope(key: str, value: dict[str, Any], **others: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key],
        "properties": {key: value, **others},
    }


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


# Every authenticated operation: the errors of `deps`, `services.errors`, the body limit and
# the validation handler, all in Zoho's shape.
ERRORS: Responses = {
    400: _json("A request-level error: INVALID_DATA, REQUIRED_PARAM_MISSING, …", ERROR),
    401: _json("INVALID_TOKEN: no token, or one that is unknown, expired or revoked", ERROR),
    403: _json("NO_PERMISSION or OAUTH_SCOPE_MISMATCH", ERROR),
    404: _json("INVALID_URL_PATTERN, or an unknown resource", ERROR),
    409: _json("CONFLICT: an `If-Match` version that is no longer current", ERROR),
    413: _json("LIMIT_EXCEEDED: the request body is too large", ERROR),
    500: _json("INTERNAL_ERROR", ERROR),
}

_NO_CONTENT: Responses = {204: {"description": "Nothing to list"}}


def found(key: str, *, may_be_empty: bool = False) -> Responses:
    """`{key: [object]}` — one resource, or all of them (or 204, when it may be absent)."""
    answers: Responses = {200: _json("Found", _envelope(key, _array({"type": "object"})))}
    if may_be_empty:
        answers.update(_NO_CONTENT)
    return answers


def listing(key: str, *, not_modified: bool = False) -> Responses:
    """A page of `{key: [object], info}`, or 204 when the page is empty."""
    answers: Responses = {
        200: _json(
            "A page",
            _envelope(key, _array({"type": "object"}), info={"$ref": _COMPONENTS + "PageInfo"}),
        ),
        **_NO_CONTENT,
    }
    if not_modified:
        answers[304] = {"description": "Nothing changed since `If-Modified-Since`"}
    return answers


def single(key: str, schema: dict[str, Any], *, may_be_empty: bool = False) -> Responses:
    """`{key: schema}` — a count, a settings object, an explanation."""
    answers: Responses = {200: _json("Found", _envelope(key, schema))}
    if may_be_empty:
        answers.update(_NO_CONTENT)
    return answers


def batch(key: str, status: int = 200) -> Responses:
    """One outcome per item: all succeed, some do (207), or none (400, as a request-level error
    may be too)."""
    body = _envelope(key, _array(OUTCOME))
    return {
        status: _json("Every item succeeded", body),
        207: _json("Some items succeeded", body),
        400: _json("No item succeeded, or the request was refused", {"anyOf": [ERROR, body]}),
    }


def deleted(key: str) -> Responses:
    """`{key: [success]}` — the one resource was deleted."""
    return {200: _json("Deleted", _envelope(key, _array(SUCCESS)))}


def outcome(key: str, status: int = 200) -> Responses:
    """`{key: success}`, or `{key: error}` (400) when the request's one change is refused."""
    return {
        status: _json("Done", _envelope(key, SUCCESS)),
        400: _json("Refused", {"anyOf": [ERROR, _envelope(key, ERROR)]}),
    }


def oauth(success: dict[str, Any], refused: dict[str, Any]) -> Responses:
    """The accounts server's answers: its own bodies, and Zoho's for what happens before it."""
    return {
        200: _json("Done", success),
        400: _json("Refused", refused),
        413: ERRORS[413],
        500: ERRORS[500],
    }


def document(generated: dict[str, Any]) -> dict[str, Any]:
    """Finish FastAPI's document in place: the shared schemas, and no 422 anywhere."""
    for operations in generated.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = generated.setdefault("components", {}).setdefault("schemas", {})
    for name in _VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas.update(SCHEMAS)
    return generated
