"""Values on the wire: canonical values and domain objects as Zoho v8 JSON.

Ids are strings (64-bit), datetimes ISO-8601 with the reader's offset to the second,
numbers of decimal types are JSON floats (the SDK type-checks them), booleans are booleans.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from secteur.adapters.db import records_repo
from secteur.domain.directory import Directory
from secteur.domain.fields import DataType, Field, Kind, Module
from secteur.domain.records import StoredRecord


@lru_cache(maxsize=4096)
def when(value: datetime | None, time_zone: str) -> str | None:
    """A datetime as the reader sees it. Cached: a page or a batch repeats the same instants."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(time_zone)).replace(microsecond=0).isoformat()


def user_ref(
    directory: Directory, user_id: int | None, *, email: bool = True
) -> dict[str, Any] | None:
    if user_id is None:
        return None
    user = directory.users.get(user_id)
    if user is None:
        return {"id": str(user_id), "name": None}
    ref: dict[str, Any] = {"id": str(user.id), "name": user.full_name}
    if email:
        ref["email"] = user.email
    return ref


@dataclass(frozen=True)
class Names:
    """Display names of the records that lookups on a page point to."""

    by_module: Mapping[str, Mapping[int, str]]

    @classmethod
    def resolve(
        cls,
        conn: sa.Connection,
        tables: Mapping[str, Any],
        module: Module,
        records: Iterable[StoredRecord],
        fields: Iterable[Field],
    ) -> Names:
        wanted: dict[str, set[int]] = {}
        lookups = [f for f in fields if f.data_type is DataType.LOOKUP and f.lookup_module]
        for record in records:
            for f in lookups:
                value = record.values.get(f.api_name)
                if value is not None:
                    wanted.setdefault(f.lookup_module or "", set()).add(value)
        return cls(
            {
                target: records_repo.display_names(conn, tables[target], ids)
                for target, ids in wanted.items()
                if target in tables
            }
        )

    def name(self, module: str, record_id: int) -> str | None:
        return self.by_module.get(module, {}).get(record_id)


def field_value(f: Field, value: Any, *, names: Names, directory: Directory, time_zone: str) -> Any:
    if value is None or value == ():
        return [] if f.kind is Kind.MULTISELECT else None
    match f.kind:
        case Kind.DATETIME:
            return when(value, time_zone)
        case Kind.DATE:
            return value.isoformat() if isinstance(value, date) else value
        case Kind.MULTISELECT:
            return list(value)
        case Kind.REFERENCE:
            if f.data_type is DataType.LOOKUP:
                name = names.name(f.lookup_module or "", value)
                return None if name is None else {"name": name, "id": str(value)}
            return user_ref(directory, value, email=f.data_type is DataType.OWNERLOOKUP)
        case Kind.NUMBER:
            if f.data_type in (DataType.INTEGER, DataType.BIGINT):
                return int(value)
            return float(value)
    return value


def record_json(
    module: Module,
    record: StoredRecord,
    *,
    names: Names,
    directory: Directory,
    time_zone: str,
    fields: Iterable[Field],
    editable: bool,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A record as Zoho sends it, restricted to `fields` (system keys always included)."""
    values = record.field_values()
    out: dict[str, Any] = {"id": str(record.id)}
    for f in fields:
        if f.kind is Kind.TERRITORIES:
            continue
        out[f.api_name] = field_value(
            f, values.get(f.api_name), names=names, directory=directory, time_zone=time_zone
        )
    for system in ("Owner", "Created_By", "Modified_By", "Created_Time", "Modified_Time"):
        if system not in out:
            sf = module.field(system)
            if sf is not None:
                out[system] = field_value(
                    sf, values.get(system), names=names, directory=directory, time_zone=time_zone
                )
    state = record.approval_state or "approved"
    out.update(
        {
            "$approved": state == "approved",
            "$approval_state": state,
            "$approval": {
                "delegate": False,
                "approve": False,
                "reject": False,
                "resubmit": False,
                "recall": False,
                "takeover": False,
            },
            "$process_flow": record.process_flow,
            "$editable": editable,
            "$version": record.version,
        }
    )
    if extra:
        out.update(extra)
    return out


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(header: str | None) -> int | None:
    """The version an `If-Match` header asks for; None when absent or `*`."""
    if header is None or header.strip() == "*":
        return None
    value = header.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        return -1
    return int(value)
