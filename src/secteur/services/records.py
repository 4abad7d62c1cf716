"""Writing records: insert, update, upsert, delete — the save pipeline's steps 1, 2 and 7.

Each item of a batch succeeds or fails on its own (per-item results, core.md); what fails
is never written. Everything a batch writes shares one transaction, the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import audit_repo, records_repo
from secteur.adapters.db.records_schema import RecordTable
from secteur.domain.actor import Actor
from secteur.domain.audit import AuditEvent, diff, jsonable
from secteur.domain.directory import Operation
from secteur.domain.fields import DataType, Field, Kind, Module
from secteur.domain.records import (
    InvalidValue,
    Problem,
    StoredRecord,
    clean_item,
    coerce,
    derive,
    reference_id,
)
from secteur.domain.text import fold
from secteur.services import access
from secteur.services.app import Tx
from secteur.services.errors import NotFound, ServiceError
from secteur.services.pipeline import Change, selected_stages

MAX_BATCH = 100

# Zoho's default duplicate-check fields for upsert, per module.
DEFAULT_DUPLICATE_FIELDS = {
    "Leads": ("Email",),
    "Contacts": ("Email",),
    "Accounts": ("Account_Name",),
    "Deals": ("Deal_Name",),
}


class Mode(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    UPSERT = "upsert"


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one item, in Zoho's per-item vocabulary."""

    code: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    record: StoredRecord | None = None
    action: str | None = None
    duplicate_field: str | None = None

    @property
    def ok(self) -> bool:
        return self.record is not None


def module_or_error(tx: Tx, name: str) -> Module:
    module = tx.state.module(name)
    if module is None:
        raise ServiceError(
            "INVALID_MODULE",
            "the module name given seems to be invalid",
            {"resource_path_index": 0},
        )
    return module


def _failure(problems: Sequence[Problem]) -> ItemResult:
    first = problems[0]
    return ItemResult(first.code, first.message, dict(first.details))


@dataclass
class _Pending:
    index: int
    values: dict[str, Any]
    before: StoredRecord | None = None
    owner_id: int | None = None
    action: str | None = None
    duplicate_field: str | None = None


def write_records(
    tx: Tx,
    actor: Actor,
    module: Module,
    items: Sequence[Any],
    *,
    mode: Mode,
    trigger: Sequence[str] | None = None,
    duplicate_check_fields: Sequence[str] | None = None,
    expected_version: int | None = None,
    max_batch: int | None = MAX_BATCH,
) -> list[ItemResult]:
    """Validate and write a batch; one result per item, in order."""
    if max_batch is not None and len(items) > max_batch:
        raise ServiceError(
            "LIMIT_EXCEEDED", f"more than {MAX_BATCH} records in one call", {"limit": MAX_BATCH}
        )
    if mode is not Mode.UPDATE:
        access.require_module(actor, module, Operation.CREATE)
    if mode is not Mode.INSERT:
        access.require_module(actor, module, Operation.EDIT)
    rt = tx.state.table(module)
    stages = selected_stages(trigger)
    results: list[ItemResult | None] = [None] * len(items)
    pending: list[_Pending] = []
    time_zone = actor.user.time_zone or tx.state.org.time_zone

    existing = _existing_for(tx, actor, rt, items, mode, duplicate_check_fields)
    for index, raw in enumerate(items):
        if not isinstance(raw, Mapping):
            results[index] = ItemResult(
                "INVALID_DATA",
                "invalid data",
                {"json_path": f"$.data[{index}]", "expected_data_type": "jsonobject"},
            )
            continue
        before, action, duplicate_field, problem = existing[index]
        if problem is not None:
            results[index] = ItemResult(problem.code, problem.message, dict(problem.details))
            continue
        creating = before is None
        cleaned = clean_item(module, raw, index=index, creating=creating, time_zone=time_zone)
        problems = list(cleaned.problems)
        values = dict(cleaned.values)
        owner_id = values.pop("Owner", None) if "Owner" in values else None
        if "Owner" in cleaned.values and owner_id is None:
            problems.append(
                Problem(
                    "INVALID_DATA",
                    "invalid data",
                    {
                        "api_name": "Owner",
                        "json_path": f"$.data[{index}].Owner",
                        "expected_data_type": "jsonobject",
                    },
                )
            )
        stale = before is not None and expected_version not in (None, before.version)
        if not problems and stale and before is not None:
            raise ServiceError(
                "CONFLICT",
                "the record was changed by someone else",
                {"id": str(before.id), "current_version": before.version},
                status=409,
            )
        if not problems:
            problems.extend(tx.app.pipeline.check(tx, actor, module, before, values, stages))
        if problems:
            results[index] = _failure(problems)
            continue
        pending.append(_Pending(index, values, before, owner_id, action, duplicate_field))

    _check_references(tx, actor, module, pending, results)
    pending = [p for p in pending if results[p.index] is None]

    changes = _write(tx, actor, rt, pending, results)
    outcome = tx.app.pipeline.apply(tx, actor, changes, stages)
    audit_repo.enqueue(tx.conn, outcome.outbox, tx.now)
    return [r if r is not None else ItemResult("INTERNAL_ERROR", "not processed") for r in results]


def _existing_for(
    tx: Tx,
    actor: Actor,
    rt: RecordTable,
    items: Sequence[Any],
    mode: Mode,
    duplicate_check_fields: Sequence[str] | None,
) -> list[tuple[StoredRecord | None, str | None, str | None, Problem | None]]:
    """For each item, the record it changes (None to create), upsert's action, or a problem."""
    blank: tuple[StoredRecord | None, str | None, str | None, Problem | None]
    blank = (None, "insert" if mode is Mode.UPSERT else None, None, None)
    if mode is Mode.INSERT:
        return [blank] * len(items)
    editable = access.editable(tx, actor, rt)
    if mode is Mode.UPDATE:
        ids = [_item_id(raw, index, required=True) for index, raw in enumerate(items)]
        wanted = [i for i in ids if isinstance(i, int)]
        _lock(tx, rt, wanted)
        found = records_repo.fetch(tx.conn, rt, wanted, editable)
        out: list[tuple[StoredRecord | None, str | None, str | None, Problem | None]] = []
        for record_id in ids:
            if not isinstance(record_id, int):
                out.append((None, None, None, record_id))
            elif record_id not in found:
                out.append(
                    (
                        None,
                        None,
                        None,
                        Problem(
                            "INVALID_DATA",
                            "the id given seems to be invalid",
                            {"id": str(record_id)},
                        ),
                    )
                )
            else:
                out.append((found[record_id], None, None, None))
        return out
    return _upsert_matches(tx, actor, rt, items, duplicate_check_fields, editable)


def _lock(tx: Tx, rt: RecordTable, ids: Sequence[int]) -> None:
    """Queue up behind other writers of these records before reading them.

    PostgreSQL row locks, taken in id order so two batches never deadlock; the read that
    follows then sees the committed version, so an `If-Match` is checked against the truth
    and an unconditional write never fails on a race. (SQLite's write transactions are
    already serialised: FOR UPDATE renders as nothing there.)
    """
    if ids:
        table = rt.table
        tx.conn.execute(
            sa.select(table.c.id)
            .where(table.c.id.in_(sorted(set(ids))))
            .order_by(table.c.id)
            .with_for_update()
        )


def _item_id(raw: Any, index: int, *, required: bool) -> int | Problem | None:
    """The id an item names; a Problem when it is missing (if `required`) or not an id."""
    value = raw.get("id") if isinstance(raw, Mapping) else None
    try:
        if isinstance(value, Mapping):
            raise ValueError("a record's own id is never an object")
        found = reference_id(value)
    except ValueError:
        # Present but not a 64-bit id: the same answer as an id that does not exist.
        return Problem(
            "INVALID_DATA",
            "the id given seems to be invalid",
            {"api_name": "id", "json_path": f"$.data[{index}].id"},
        )
    if found is None and required:
        return Problem(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            {"api_name": "id", "json_path": f"$.data[{index}].id"},
        )
    return found


def _upsert_matches(
    tx: Tx,
    actor: Actor,
    rt: RecordTable,
    items: Sequence[Any],
    duplicate_check_fields: Sequence[str] | None,
    editable: sa.ColumnElement[bool] | None,
) -> list[tuple[StoredRecord | None, str | None, str | None, Problem | None]]:
    module = rt.module
    default: tuple[str, ...] = DEFAULT_DUPLICATE_FIELDS.get(module.api_name, ())
    names = list(duplicate_check_fields or default)
    fields = []
    for name in names:
        f = module.field(name)
        if f is None or f.kind not in (Kind.TEXT, Kind.PICKLIST, Kind.NUMBER):
            raise ServiceError(
                "INVALID_DATA",
                "invalid duplicate_check_fields",
                {"api_name": name, "json_path": "$.duplicate_check_fields"},
            )
        fields.append(f)
    out: list[tuple[StoredRecord | None, str | None, str | None, Problem | None]] = []
    time_zone = actor.user.time_zone or tx.state.org.time_zone
    _lock(
        tx,
        rt,
        [
            i
            for index, raw in enumerate(items)
            if isinstance(i := _item_id(raw, index, required=False), int)
        ],
    )
    for index, raw in enumerate(items):
        match: StoredRecord | None = None
        matched_on: str | None = None
        if isinstance(raw, Mapping):
            explicit = _item_id(raw, index, required=False)
            if isinstance(explicit, Problem):
                out.append((None, None, None, explicit))
                continue
            if explicit is not None:
                match = records_repo.fetch(tx.conn, rt, [explicit], editable).get(explicit)
            for f in fields:
                if match is not None:
                    break
                # Compare the value as it would be stored; a value that cannot be stored
                # matches nothing (validation reports it for the item).
                try:
                    value = coerce(f, raw.get(f.api_name), time_zone=time_zone)
                except InvalidValue:
                    continue
                if value is None:
                    continue
                column = rt.fold_column(f) if f.folded else rt.column(f)
                key = fold(value) if f.folded else value
                query = records_repo.select_records(rt).where(column == key)
                if editable is not None:
                    query = query.where(editable)
                found = records_repo.fetch_page(tx.conn, rt, query.order_by(rt.table.c.id).limit(1))
                if found:
                    match, matched_on = found[0], f.api_name
        out.append((match, "update" if match else "insert", matched_on, None))
    return out


def _check_references(
    tx: Tx, actor: Actor, module: Module, pending: list[_Pending], results: list[ItemResult | None]
) -> None:
    """Lookups must name records the actor can see, owners active users.

    A hidden lookup target answers like a missing one, so a write never reveals what exists.
    A value the record already holds is kept without a check: the SDK sends records back
    whole, and a lookup someone else set (or an owner since deactivated) must not fail that.
    """
    users = tx.state.directory.users
    references = module.reference_fields
    wanted: dict[str, set[int]] = {}
    for p in pending:
        for f in references:
            value = p.values.get(f.api_name)
            if value is not None and f.data_type is DataType.LOOKUP:
                wanted.setdefault(f.lookup_module or "", set()).add(value)
    found: dict[str, set[int]] = {}
    for target, ids in wanted.items():
        target_module = tx.state.module(target)
        found[target] = (
            set()
            if target_module is None
            else _visible_ids(tx, actor, tx.state.table(target_module), ids)
        )
    for p in pending:
        for f in references:
            value = p.owner_id if f.api_name == "Owner" else p.values.get(f.api_name)
            if value is None or (p.before is not None and _current(p.before, f) == value):
                continue
            if f.data_type is DataType.LOOKUP:
                ok = value in found.get(f.lookup_module or "", set())
            else:
                user = users.get(value)
                ok = user is not None and user.active
            if not ok:
                results[p.index] = ItemResult(
                    "INVALID_DATA",
                    "invalid data",
                    {
                        "api_name": f.api_name,
                        "json_path": f"$.data[{p.index}].{f.api_name}",
                        "expected_data_type": f.data_type.value,
                    },
                )
                break


def _current(record: StoredRecord, f: Field) -> Any:
    return record.owner_id if f.api_name == "Owner" else record.values.get(f.api_name)


def _visible_ids(tx: Tx, actor: Actor, rt: RecordTable, ids: set[int]) -> set[int]:
    query = sa.select(rt.table.c.id).where(rt.table.c.id.in_(sorted(ids)))
    visible = access.visible(tx, actor, rt)
    if visible is not None:
        query = query.where(visible)
    return {int(row[0]) for row in tx.conn.execute(query)}


def _write(
    tx: Tx, actor: Actor, rt: RecordTable, pending: list[_Pending], results: list[ItemResult | None]
) -> list[Change]:
    module, now = rt.module, tx.now
    changes: list[Change] = []
    events: list[AuditEvent] = []
    inserts = [p for p in pending if p.before is None]
    if inserts:
        values = [derive(module, {}, p.values) for p in inserts]
        owners = [p.owner_id or actor.id for p in inserts]
        ids = records_repo.insert(tx.conn, rt, values, owners, actor.id, now)
        empty = module.empty_values
        for p, new_id, vals, owner in zip(inserts, ids, values, owners, strict=True):
            full = {**empty, **vals}
            record = StoredRecord(
                id=new_id,
                owner_id=owner,
                created_by=actor.id,
                modified_by=actor.id,
                created_time=now,
                modified_time=now,
                version=1,
                values=full,
            )
            changes.append(Change(module, None, record, frozenset(vals)))
            # The engine's JSON serialiser writes dates and tuples as JSON.
            events.append(
                AuditEvent(
                    now,
                    actor.id,
                    "record",
                    new_id,
                    "create",
                    actor.source,
                    module.api_name,
                    None,
                    _nonempty(vals),
                )
            )
            results[p.index] = ItemResult(
                "SUCCESS", "record added", {}, record, p.action, p.duplicate_field
            )
    for p in pending:
        before = p.before
        if before is None:
            continue
        updates = derive(module, before.values, p.values)
        updates = {k: v for k, v in updates.items() if before.values.get(k) != v}
        new_owner = p.owner_id if p.owner_id not in (None, before.owner_id) else None
        system: dict[str, Any] = {"modified_by": actor.id, "modified_time": now}
        if new_owner is not None:
            system["owner_id"] = new_owner
        if not records_repo.update(tx.conn, rt, before.id, before.version, updates, system):
            results[p.index] = ItemResult(
                "CONFLICT", "the record was changed by someone else", {"id": str(before.id)}
            )
            continue
        record = StoredRecord(
            id=before.id,
            owner_id=new_owner or before.owner_id,
            created_by=before.created_by,
            modified_by=actor.id,
            created_time=before.created_time,
            modified_time=now,
            version=before.version + 1,
            values={**before.values, **updates},
            approval_state=before.approval_state,
            process_flow=before.process_flow,
        )
        changed = set(updates) | ({"Owner"} if new_owner is not None else set())
        changes.append(Change(module, before, record, frozenset(changed)))
        old, new = diff(before.values, updates)
        if new_owner is not None:
            old["Owner"], new["Owner"] = str(before.owner_id), str(new_owner)
        events.append(
            AuditEvent(
                now,
                actor.id,
                "record",
                before.id,
                "update",
                actor.source,
                module.api_name,
                old,
                new,
            )
        )
        message = "record updated"
        results[p.index] = ItemResult("SUCCESS", message, {}, record, p.action, p.duplicate_field)
    audit_repo.append(tx.conn, events)
    return changes


def _nonempty(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", ())}


def get_record(tx: Tx, actor: Actor, module: Module, record_id: int) -> StoredRecord:
    access.require_module(actor, module, Operation.VIEW)
    rt = tx.state.table(module)
    found = records_repo.fetch(tx.conn, rt, [record_id], access.visible(tx, actor, rt))
    if record_id not in found:
        raise NotFound()
    return found[record_id]


def delete_records(
    tx: Tx, actor: Actor, module: Module, ids: Sequence[int], *, expected_version: int | None = None
) -> list[ItemResult]:
    """Move records to the recycle bin; unknown or hidden ids fail alike, per item.

    `expected_version` (a single record's `If-Match`) refuses the whole call with CONFLICT
    when a record is no longer at that version.
    """
    if len(ids) > MAX_BATCH:
        raise ServiceError(
            "LIMIT_EXCEEDED", f"more than {MAX_BATCH} records in one call", {"limit": MAX_BATCH}
        )
    access.require_module(actor, module, Operation.DELETE)
    # An id named twice is deleted (and answered) once: the recycle bin holds a record once.
    ids = list(dict.fromkeys(ids))
    rt = tx.state.table(module)
    _lock(tx, rt, ids)
    found = records_repo.fetch(tx.conn, rt, ids, access.editable(tx, actor, rt))
    if expected_version is not None:
        for record in found.values():
            if record.version != expected_version:
                raise ServiceError(
                    "CONFLICT",
                    "the record was changed by someone else",
                    {"id": str(record.id), "current_version": record.version},
                    status=409,
                )
    problems = [
        tx.app.pipeline.check(tx, actor, module, found[i], {}, selected_stages(None))
        if i in found
        else []
        for i in ids
    ]
    doomed = [found[i] for i, p in zip(ids, problems, strict=True) if i in found and not p]
    records_repo.move_to_recycle_bin(tx.conn, rt, doomed, tx.now, actor.id)
    audit_repo.append(
        tx.conn,
        [
            AuditEvent(
                tx.now,
                actor.id,
                "record",
                r.id,
                "delete",
                actor.source,
                module.api_name,
                jsonable(_nonempty(r.values)),
                None,
            )
            for r in doomed
        ],
    )
    results = []
    for record_id, problem in zip(ids, problems, strict=True):
        if record_id not in found:
            results.append(
                ItemResult(
                    "INVALID_DATA", "the id given seems to be invalid", {"id": str(record_id)}
                )
            )
        elif problem:
            results.append(_failure(problem))
        else:
            results.append(
                ItemResult("SUCCESS", "record deleted", {"id": str(record_id)}, found[record_id])
            )
    return results
