"""Modules, fields and layouts in the database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.domain.fields import DataType, Field, Module, PicklistValue


def _picklist_json(values: tuple[PicklistValue, ...]) -> list[dict[str, Any]]:
    return [
        {
            "display_value": v.display_value,
            "actual_value": v.actual_value,
            "sequence_number": v.sequence_number,
            "probability": v.probability,
            "forecast_category": v.forecast_category,
            "id": str(v.id),
        }
        for v in values
    ]


def _picklist(raw: list[dict[str, Any]]) -> tuple[PicklistValue, ...]:
    return tuple(
        PicklistValue(
            display_value=v["display_value"],
            actual_value=v["actual_value"],
            sequence_number=int(v["sequence_number"]),
            probability=v.get("probability"),
            forecast_category=v.get("forecast_category"),
            id=int(v.get("id") or 0),
        )
        for v in raw
    )


def _field(row: sa.Row[Any]) -> Field:
    return Field(
        api_name=row.api_name,
        label=row.label,
        data_type=DataType(row.data_type),
        column=row.column_name,
        id=row.id,
        mandatory=row.mandatory,
        custom=row.custom,
        read_only=row.read_only,
        system=row.system,
        length=row.length,
        decimal_place=row.decimal_place,
        picklist=_picklist(row.picklist),
        lookup_module=row.lookup_module,
        sequence=row.sequence,
        version=row.version,
    )


def load_modules(conn: sa.Connection) -> tuple[Module, ...]:
    by_module: dict[int, list[Field]] = {}
    for row in conn.execute(sa.select(t.fields).order_by(t.fields.c.sequence, t.fields.c.id)):
        by_module.setdefault(row.module_id, []).append(_field(row))
    return tuple(
        Module(
            api_name=row.api_name,
            singular_label=row.singular_label,
            plural_label=row.plural_label,
            id=row.id,
            table=row.table_name,
            display_field=row.display_field,
            fields=tuple(by_module.get(row.id, ())),
            sequence=row.sequence,
        )
        for row in conn.execute(sa.select(t.modules).order_by(t.modules.c.sequence))
    )


def _stamp(now: datetime, actor: int | None) -> dict[str, Any]:
    return {"created_time": now, "modified_time": now, "created_by": actor, "modified_by": actor}


def field_values(f: Field) -> dict[str, Any]:
    return {
        "api_name": f.api_name,
        "api_name_key": f.api_name.lower(),
        "label": f.label,
        "data_type": f.data_type.value,
        "column_name": f.column,
        "mandatory": f.mandatory,
        "custom": f.custom,
        "read_only": f.read_only,
        "system": f.system,
        "length": f.length,
        "decimal_place": f.decimal_place,
        "picklist": _picklist_json(f.picklist),
        "lookup_module": f.lookup_module,
        "sequence": f.sequence,
    }


def insert_module(conn: sa.Connection, module: Module, now: datetime) -> None:
    """Seed a module with its fields and Standard layout, keeping their given ids."""
    conn.execute(
        t.modules.insert().values(
            id=module.id,
            api_name=module.api_name,
            singular_label=module.singular_label,
            plural_label=module.plural_label,
            table_name=module.table,
            display_field=module.display_field,
            sequence=module.sequence,
            **_stamp(now, None),
        )
    )
    conn.execute(
        t.fields.insert(),
        [
            {"id": f.id, "module_id": module.id, **field_values(f), **_stamp(now, None)}
            for f in module.fields
        ],
    )
    conn.execute(
        t.layouts.insert().values(
            module_id=module.id, name="Standard", status="active", **_stamp(now, None)
        )
    )


def insert_field(conn: sa.Connection, module: Module, f: Field, now: datetime, actor: int) -> Field:
    new_id = conn.execute(
        t.fields.insert()
        .values(module_id=module.id, **field_values(f), **_stamp(now, actor))
        .returning(t.fields.c.id)
    ).scalar_one()
    return replace(f, id=new_id)


def update_field(
    conn: sa.Connection,
    module: Module,
    f: Field,
    now: datetime,
    actor: int,
    expected_version: int | None,
) -> bool:
    """Write a changed field; False when `expected_version` is no longer current."""
    query = t.fields.update().where(t.fields.c.id == f.id, t.fields.c.module_id == module.id)
    if expected_version is not None:
        query = query.where(t.fields.c.version == expected_version)
    result = conn.execute(
        query.values(
            **field_values(f), modified_time=now, modified_by=actor, version=t.fields.c.version + 1
        )
    )
    return result.rowcount == 1


def layout_ids(conn: sa.Connection) -> dict[int, list[tuple[int, str]]]:
    """Layouts per module id: (layout id, name)."""
    result: dict[int, list[tuple[int, str]]] = {}
    for row in conn.execute(sa.select(t.layouts).order_by(t.layouts.c.id)):
        result.setdefault(row.module_id, []).append((row.id, row.name))
    return result


def bump_metadata_version(conn: sa.Connection) -> None:
    conn.execute(t.org.update().values(metadata_version=t.org.c.metadata_version + 1))


def metadata_version(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(t.org.c.metadata_version)).scalar_one())
