"""Errors a use case reports, in Zoho's vocabulary; the shells turn them into responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ServiceError(Exception):
    """A request-level failure: nothing was changed."""

    status = 400

    def __init__(
        self,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details or {})
        if status is not None:
            self.status = status


class NotFound(ServiceError):
    """An id that does not exist or that the caller may not see (the two answer alike)."""

    def __init__(
        self,
        message: str = "the id given seems to be invalid",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__("INVALID_DATA", message, details or {})


class NoPermission(ServiceError):
    status = 403

    def __init__(
        self, message: str = "permission denied", details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__("NO_PERMISSION", message, details or {"permissions": []})


class Conflict(ServiceError):
    """An `If-Match` version that is no longer current, or a concurrent change."""

    status = 409

    def __init__(
        self,
        message: str = "the resource was changed by someone else",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__("CONFLICT", message, details or {})


class ItemFailure(ServiceError):
    """A failure that concerns one item of a batch (reported in its place, not for the call)."""


def item_failure(code: str, message: str, **details: Any) -> ItemFailure:
    return ItemFailure(code, message, details)
