"""Zoho-shaped responses: JSON always, 204 for nothing, error objects with code/details/message."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import JSONResponse, Response

from secteur.services.errors import ServiceError


class ZohoJSON(JSONResponse):
    """Compact UTF-8 JSON (a `JSONResponse`, so that the OpenAPI document knows it is JSON)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def ok(content: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return ZohoJSON(content, status_code=status, headers=dict(headers or {}))


def no_content() -> Response:
    return Response(status_code=204)


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "details": dict(details or {}), "message": message, "status": "error"}


def error(
    code: str, message: str, details: Mapping[str, Any] | None = None, status: int = 400
) -> Response:
    return ZohoJSON(error_body(code, message, details), status_code=status)


def from_service_error(exc: ServiceError) -> Response:
    return error(exc.code, exc.message, exc.details, exc.status)


def success_item(
    message: str, details: Mapping[str, Any], code: str = "SUCCESS", **extra: Any
) -> dict[str, Any]:
    return {
        "code": code,
        "details": dict(details),
        "message": message,
        "status": "success",
        **extra,
    }


def batch_status(oks: Sequence[bool], success_status: int) -> int:
    """core.md: all succeed → 201/200; some fail → 207; all fail → 400."""
    if all(oks):
        return success_status
    if any(oks):
        return 207
    return 400
