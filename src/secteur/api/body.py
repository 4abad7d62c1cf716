"""Request bodies: JSON whatever the Content-Type says (the Zoho SDK sends none)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import Request

from secteur.services.errors import ServiceError


def _invalid_body(reason: str) -> ServiceError:
    return ServiceError(
        "INVALID_DATA",
        f"the request body is not valid JSON: {reason}",
        {"expected_data_type": "jsonobject"},
    )


async def json_body(request: Request) -> Any:
    return parse_json(await request.body())


def parse_json(raw: bytes) -> Any:
    """The JSON value of a request body, or Zoho's request-level error."""
    if not raw.strip():
        raise ServiceError(
            "REQUIRED_PARAM_MISSING", "the request body is empty", {"param_name": "body"}
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid_body("it is not UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        raise _invalid_body(str(exc).split(":")[0]) from None
    if "\\u" in text and not _encodable(value):
        # `"\ud800"` is valid JSON but no UTF-8 text: nothing could store or echo it.
        raise _invalid_body("it contains an unpaired surrogate escape")
    return value


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return False
    return True


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _under(body: Any, key: str) -> Any:
    """What a JSON-object body holds under `key`, or Zoho's request-level error."""
    if not isinstance(body, dict):
        raise ServiceError(
            "INVALID_DATA",
            "the request body must be a JSON object",
            {"expected_data_type": "jsonobject"},
        )
    if key not in body:
        raise ServiceError(
            "REQUIRED_PARAM_MISSING", f"the {key} key is missing", {"param_name": key}
        )
    return body[key]


def envelope_list(body: Any, key: str, limit: int) -> list[Any]:
    """The list under `key` of `{key: [...]}`, with Zoho's request-level errors."""
    items = _under(body, key)
    if not isinstance(items, list):
        raise ServiceError(
            "INVALID_DATA",
            f"{key} must be a JSON array",
            {"api_name": key, "json_path": f"$.{key}", "expected_data_type": "jsonarray"},
        )
    if not items:
        raise ServiceError(
            "MANDATORY_NOT_FOUND", f"{key} is empty", {"api_name": key, "json_path": f"$.{key}"}
        )
    if len(items) > limit:
        raise ServiceError(
            "LIMIT_EXCEEDED", f"at most {limit} items per call", {"limit": limit, "api_name": key}
        )
    return items


def envelope_object(body: Any, key: str) -> Mapping[str, Any]:
    """The object under `key` of a settings body (`{"forecast": {...}}`), or Zoho's error."""
    found = _under(body, key)
    if not isinstance(found, Mapping):
        raise ServiceError(
            "INVALID_DATA",
            f"{key} must be a JSON object",
            {"api_name": key, "json_path": f"$.{key}", "expected_data_type": "jsonobject"},
        )
    return found


def envelope_doc(key: str, max_items: int, **extra: Any) -> dict[str, Any]:
    """The OpenAPI request body of a `{key: [...]}` envelope (the routes read bodies raw, so
    that JSON sent without a Content-Type is accepted, and document them here)."""
    properties: dict[str, Any] = {
        key: {"type": "array", "minItems": 1, "maxItems": max_items,
              "items": {"type": "object", "additionalProperties": True}},
        **extra,
    }  # fmt: skip
    schema = {"type": "object", "required": [key], "properties": properties}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
