"""Custom fields: created through the API, stored as typed columns added in the same transaction."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import audit_repo, metadata_repo
from secteur.adapters.db.records_schema import add_field_columns, index_field
from secteur.adapters.db.sqlfunc import contains
from secteur.domain.actor import Actor
from secteur.domain.audit import AuditEvent
from secteur.domain.fields import (
    API_NAME_PATTERN,
    CUSTOM_FIELD_TYPES,
    DEFAULT_LENGTH,
    DataType,
    Field,
    Kind,
    Module,
    PicklistValue,
    column_for,
)
from secteur.domain.text import MULTISELECT_SEPARATOR, fold
from secteur.services.app import Tx
from secteur.services.errors import NoPermission, NotFound, ServiceError, item_failure

MAX_CUSTOM_FIELDS = 500
MAX_PICKLIST_VALUES = 1000
MAX_PICKLIST_LENGTH = 120


def _require(actor: Actor) -> None:
    if not actor.profile.may("manage_fields"):
        raise NoPermission("permission denied", {"permissions": ["manage_fields"]})


def get_field(module: Module, field_id: int) -> Field:
    found = next((f for f in module.fields if f.id == field_id), None)
    if found is None:
        raise NotFound()
    return found


def api_name_from_label(label: str) -> str:
    """Zoho derives an api name from the label: words joined by underscores."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")
    if name and not name[0].isalpha():
        name = "F_" + name
    return name[:50]


def _picklist(
    raw: Any, path: str, existing: tuple[PicklistValue, ...] = ()
) -> tuple[PicklistValue, ...]:
    if not isinstance(raw, list) or not raw:
        raise item_failure(
            "MANDATORY_NOT_FOUND",
            "a picklist needs at least one value",
            api_name="pick_list_values",
            json_path=path,
        )
    if len(raw) > MAX_PICKLIST_VALUES:
        raise item_failure(
            "LIMIT_EXCEEDED",
            "too many picklist values",
            api_name="pick_list_values",
            json_path=path,
            limit=MAX_PICKLIST_VALUES,
        )
    by_id = {v.id: v for v in existing}
    # Clients often resend a picklist by its values alone: a value without an id is the
    # existing entry of that value, so its id, probability and forecast category survive.
    by_value = {fold(v.actual_value): v for v in existing}
    values: list[PicklistValue] = []
    seen: set[str] = set()
    next_id = max([v.id for v in existing] + [0]) + 1
    for index, entry in enumerate(raw):
        item_path = f"{path}[{index}]"
        if not isinstance(entry, Mapping):
            raise item_failure("INVALID_DATA", "invalid data", json_path=item_path)
        display = entry.get("display_value")
        actual = entry.get("actual_value", display)
        if not isinstance(display, str) or not display.strip():
            raise item_failure(
                "MANDATORY_NOT_FOUND",
                "display_value is missing",
                api_name="display_value",
                json_path=f"{item_path}.display_value",
            )
        if not isinstance(actual, str) or not actual.strip():
            raise item_failure(
                "INVALID_DATA",
                "invalid actual_value",
                api_name="actual_value",
                json_path=f"{item_path}.actual_value",
            )
        display, actual = display.strip(), actual.strip()
        too_long = max(len(display), len(actual)) > MAX_PICKLIST_LENGTH
        if MULTISELECT_SEPARATOR in display + actual or too_long:
            raise item_failure(
                "INVALID_DATA",
                "invalid picklist value",
                json_path=f"{item_path}.display_value",
                maximum_length=MAX_PICKLIST_LENGTH,
            )
        if fold(actual) in seen:
            raise item_failure(
                "DUPLICATE_DATA", "duplicate picklist value", json_path=f"{item_path}.actual_value"
            )
        seen.add(fold(actual))
        raw_id = entry.get("id")
        given_id = str(raw_id) if raw_id is not None else ""
        previous = by_id.get(int(given_id)) if given_id.isdigit() else by_value.get(fold(actual))
        if previous is not None:
            values.append(
                replace(
                    previous, display_value=display, actual_value=actual, sequence_number=index + 1
                )
            )
        else:
            values.append(PicklistValue(display, actual, index + 1, id=next_id))
            next_id += 1
    return tuple(values)


def create_field(
    tx: Tx, actor: Actor, module: Module, index: int, item: Mapping[str, Any]
) -> Field:
    _require(actor)
    path = f"$.fields[{index}]"
    label = item.get("field_label") or item.get("display_label")
    if not isinstance(label, str) or not label.strip():
        raise item_failure(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            api_name="field_label",
            json_path=f"{path}.field_label",
        )
    if len(label.strip()) > 100:
        raise item_failure(
            "INVALID_DATA",
            "the label is too long",
            api_name="field_label",
            json_path=f"{path}.field_label",
            maximum_length=100,
        )
    raw_type = item.get("data_type")
    try:
        data_type = DataType(raw_type) if isinstance(raw_type, str) else None
    except ValueError:
        data_type = None
    if data_type is None:
        raise item_failure(
            "MANDATORY_NOT_FOUND" if raw_type is None else "INVALID_DATA",
            "invalid data_type",
            api_name="data_type",
            json_path=f"{path}.data_type",
            supported_values=sorted(t.value for t in CUSTOM_FIELD_TYPES),
        )
    if data_type not in CUSTOM_FIELD_TYPES:
        raise item_failure(
            "INVALID_DATA",
            "this data_type cannot be used for a custom field",
            api_name="data_type",
            json_path=f"{path}.data_type",
            supported_values=sorted(t.value for t in CUSTOM_FIELD_TYPES),
        )
    api_name = item.get("api_name") or api_name_from_label(label)
    if not isinstance(api_name, str) or not API_NAME_PATTERN.match(api_name):
        raise item_failure(
            "INVALID_DATA", "invalid api_name", api_name="api_name", json_path=f"{path}.api_name"
        )
    if module.field(api_name) is not None or api_name.lower() in ("id", "territories"):
        raise item_failure(
            "DUPLICATE_DATA",
            "a field with this api_name exists",
            api_name="api_name",
            json_path=f"{path}.api_name",
        )
    if sum(1 for f in module.fields if f.custom) >= MAX_CUSTOM_FIELDS:
        raise item_failure("LIMIT_EXCEEDED", "too many custom fields", limit=MAX_CUSTOM_FIELDS)
    length = item.get("length", DEFAULT_LENGTH.get(data_type))
    if length is not None and (
        not isinstance(length, int)
        or isinstance(length, bool)
        or not 1 <= length <= DEFAULT_LENGTH.get(data_type, length)
    ):
        raise item_failure(
            "INVALID_DATA",
            "invalid length",
            api_name="length",
            json_path=f"{path}.length",
            maximum_length=DEFAULT_LENGTH.get(data_type),
        )
    decimal_place = item.get("decimal_place")
    if decimal_place is not None and (
        not isinstance(decimal_place, int)
        or isinstance(decimal_place, bool)
        or not 0 <= decimal_place <= 9
    ):
        raise item_failure(
            "INVALID_DATA",
            "invalid decimal_place",
            api_name="decimal_place",
            json_path=f"{path}.decimal_place",
        )
    picklist: tuple[PicklistValue, ...] = ()
    if data_type in (DataType.PICKLIST, DataType.MULTISELECTPICKLIST):
        picklist = _picklist(item.get("pick_list_values"), f"{path}.pick_list_values")
    lookup_module = None
    if data_type is DataType.LOOKUP:
        lookup = item.get("lookup")
        target = lookup.get("module") if isinstance(lookup, Mapping) else None
        name = target.get("api_name") if isinstance(target, Mapping) else None
        target_module = tx.state.module(name) if isinstance(name, str) else None
        if target_module is None:
            raise item_failure(
                "INVALID_DATA",
                "the lookup module given seems to be invalid",
                api_name="lookup",
                json_path=f"{path}.lookup.module.api_name",
            )
        lookup_module = target_module.api_name
    if data_type is DataType.USERLOOKUP:
        lookup_module = "users"
    mandatory = item.get("system_mandatory", item.get("mandatory", False))
    if not isinstance(mandatory, bool):
        raise item_failure(
            "INVALID_DATA",
            "invalid data",
            api_name="mandatory",
            json_path=f"{path}.mandatory",
            expected_data_type="boolean",
        )
    new = Field(
        api_name=api_name,
        label=label.strip(),
        data_type=data_type,
        column=column_for(api_name),
        custom=True,
        mandatory=mandatory,
        length=length,
        decimal_place=decimal_place,
        picklist=picklist,
        lookup_module=lookup_module,
        sequence=max((f.sequence for f in module.fields), default=0) + 1,
    )
    _check_column_free(tx, module, new)
    stored = metadata_repo.insert_field(tx.conn, module, new, tx.now, actor.id)
    add_field_columns(tx.conn, module, stored)
    if stored.kind is Kind.BOOLEAN:
        # Existing records get the unset value of a checkbox, false, as new ones do.
        records = sa.table(module.table, sa.column(stored.column, sa.Boolean()))
        tx.conn.execute(records.update().values({stored.column: False}))
    if stored.kind is Kind.REFERENCE:
        index_field(tx.conn, module, stored)
    audit_repo.append(
        tx.conn,
        [
            AuditEvent(
                tx.now,
                actor.id,
                "field",
                stored.id,
                "create",
                actor.source,
                module.api_name,
                None,
                {"api_name": api_name, "data_type": data_type.value, "label": stored.label},
            )
        ],
    )
    tx.metadata_changed()
    return stored


def _check_column_free(tx: Tx, module: Module, f: Field) -> None:
    """A column left by an earlier field of the same name would clash (fields are never dropped)."""
    existing = {c["name"] for c in sa.inspect(tx.conn).get_columns(module.table)}
    if f.column in existing:
        raise item_failure(
            "DUPLICATE_DATA", "this api_name was used by an earlier field", api_name="api_name"
        )


def update_field(
    tx: Tx,
    actor: Actor,
    module: Module,
    field_id: int,
    item: Mapping[str, Any],
    expected_version: int | None,
    index: int = 0,
) -> Field:
    """Change a field's label or picklist values; a value still used by records stays."""
    _require(actor)
    current = get_field(module, field_id)
    path = f"$.fields[{index}]"
    _check_identity_kept(current, item, path)
    changed = current
    if "field_label" in item or "display_label" in item:
        label = item.get("field_label", item.get("display_label"))
        if not isinstance(label, str) or not label.strip() or len(label) > 100:
            raise item_failure(
                "INVALID_DATA",
                "invalid label",
                api_name="field_label",
                json_path=f"{path}.field_label",
            )
        changed = replace(changed, label=label.strip())
    has_picklist = current.kind in (Kind.PICKLIST, Kind.MULTISELECT)
    # A field sent back whole carries the `[]` a field without a picklist is read with.
    if "pick_list_values" in item and (has_picklist or item["pick_list_values"] != []):
        if not has_picklist:
            raise item_failure(
                "INVALID_DATA",
                "this field has no picklist",
                api_name="pick_list_values",
                json_path=f"{path}.pick_list_values",
            )
        values = _picklist(item["pick_list_values"], f"{path}.pick_list_values", current.picklist)
        _check_values_unused(tx, module, current, values)
        changed = replace(changed, picklist=values)
    if not metadata_repo.update_field(tx.conn, module, changed, tx.now, actor.id, expected_version):
        raise ServiceError(
            "CONFLICT", "the field was changed by someone else", {"id": str(field_id)}, status=409
        )
    audit_repo.append(
        tx.conn,
        [
            AuditEvent(
                tx.now,
                actor.id,
                "field",
                field_id,
                "update",
                actor.source,
                module.api_name,
                {
                    "label": current.label,
                    "pick_list_values": [v.actual_value for v in current.picklist],
                },
                {
                    "label": changed.label,
                    "pick_list_values": [v.actual_value for v in changed.picklist],
                },
            )
        ],
    )
    tx.metadata_changed()
    return changed


def _check_identity_kept(current: Field, item: Mapping[str, Any], path: str) -> None:
    """A field's api name and type are its identity (its column): they never change.

    Clients often send a field back whole, so the same value is accepted; a different one is
    refused rather than silently ignored.
    """
    for key, value in (("api_name", current.api_name), ("data_type", current.data_type.value)):
        if key in item and item[key] != value:
            raise item_failure(
                "INVALID_DATA",
                f"the {key} of a field cannot be changed",
                api_name=key,
                json_path=f"{path}.{key}",
            )


def _check_values_unused(
    tx: Tx, module: Module, f: Field, values: tuple[PicklistValue, ...]
) -> None:
    kept = {fold(v.actual_value) for v in values}
    removed = [v for v in f.picklist if fold(v.actual_value) not in kept]
    if not removed:
        return
    rt = tx.state.table(module)
    for value in removed:
        column = rt.fold_column(f)
        if f.kind is Kind.MULTISELECT:
            needle = MULTISELECT_SEPARATOR + fold(value.actual_value) + MULTISELECT_SEPARATOR
            condition = contains(column, needle)
        else:
            condition = column == fold(value.actual_value)
        used = tx.conn.execute(sa.select(rt.table.c.id).where(condition).limit(1)).first()
        if used is not None:
            raise item_failure(
                "INVALID_DATA",
                f"the value {value.actual_value!r} is used by records",
                api_name="pick_list_values",
                value=value.actual_value,
            )
