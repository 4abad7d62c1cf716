"""The audit timeline: who changed what, when, from which value to which."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditEvent:
    at: datetime
    actor_id: int | None
    entity: str
    entity_id: int
    action: str
    source: str
    module: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


def jsonable(value: Any) -> Any:
    """A canonical value as it is kept in JSON (audit, recycle bin, change sets)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that changed: their old values and their new values, as JSON."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key, value in after.items():
        previous = before.get(key)
        if previous != value:
            old[key] = jsonable(previous)
            new[key] = jsonable(value)
    return old, new
