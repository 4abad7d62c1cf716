"""Territories (territories.md; reference OAS territories.json, territory_users.json,
users_territories.json): the tree, its members, run rules and previews, the org's territory
settings, and the territories of records (assign, remove, explain).

Registered before the records router: `/crm/v8/{module}/{record}` would otherwise take
`/crm/v8/settings/territories` for a record of a module named "settings".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from secteur.adapters.db import tables, territory_repo
from secteur.api import openapi, responses
from secteur.api.batch import batch_response, per_item
from secteur.api.body import envelope_doc, envelope_list, envelope_object, parse_json
from secteur.api.deps import Caller, CallerDep, require_scope
from secteur.api.routers.users import user_json
from secteur.api.wire import etag, parse_if_match, user_ref, when
from secteur.domain.actor import Actor
from secteur.domain.criteria import to_json
from secteur.domain.fields import Module
from secteur.domain.records import InvalidValue, StoredRecord, reference_id
from secteur.domain.scopes import Access, Category
from secteur.domain.territories import RULE_KEYS, Territory, Tree
from secteur.domain.territories.model import COVERED_MODULES
from secteur.services import jobs
from secteur.services import records as records_service
from secteur.services import territories as service
from secteur.services import territory_assignment as assignment
from secteur.services import territory_reports as reports
from secteur.services import territory_runs as runs
from secteur.services import users as users_service
from secteur.services.app import Tx
from secteur.services.errors import Conflict, NoPermission, NotFound, ServiceError, item_failure

router = APIRouter(tags=["Territories"], responses=openapi.ERRORS)

SETTINGS = "/crm/v8/settings/territories"
MAX_PER_CALL = 100
MAX_PER_PAGE = 200
# TER-22: at most 10 records per assign/remove call.
MAX_RECORDS_PER_ACTION = 10
MAX_ID = 2**63 - 1
# Rule keys always present in a territory (required by the OAS `territories` schema); the
# others only when `include` names them (Zoho's `include=lead_rule_criteria`).
ALWAYS_RULES = ("account_rule_criteria", "deal_rule_criteria")
INCLUDABLE = tuple(RULE_KEYS.values())


# --- helpers -------------------------------------------------------------------------------


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID


def _path_id(text: str) -> int:
    """An id from the path: digits within 64 bits, else it names nothing."""
    if not _is_id(text):
        raise NotFound()
    return int(text)


def _ids(text: str | None, name: str = "ids") -> list[int]:
    if text is None or not text.strip():
        raise ServiceError(
            "REQUIRED_PARAM_MISSING", f"the {name} parameter is missing", {"param_name": name}
        )
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(_is_id(p) for p in parts):
        raise ServiceError("INVALID_DATA", f"invalid {name}", {"param_name": name})
    if len(parts) > MAX_PER_CALL:
        raise ServiceError(
            "LIMIT_EXCEEDED",
            f"at most {MAX_PER_CALL} ids per call",
            {"limit": MAX_PER_CALL, "param_name": name},
        )
    return list(dict.fromkeys(int(p) for p in parts))


def _paging(page: int, per_page: int) -> None:
    if per_page < 1 or per_page > MAX_PER_PAGE:
        raise ServiceError(
            "INVALID_DATA",
            f"per_page must be between 1 and {MAX_PER_PAGE}",
            {"param_name": "per_page", "maximum_length": MAX_PER_PAGE},
        )
    if page < 1:
        raise ServiceError("INVALID_DATA", "page must be 1 or more", {"param_name": "page"})


def _page(items: Sequence[Any], page: int, per_page: int) -> tuple[list[Any], dict[str, Any]]:
    start = (page - 1) * per_page
    chunk = list(items[start : start + per_page])
    info = {
        "per_page": per_page,
        "count": len(chunk),
        "page": page,
        "more_records": start + per_page < len(items),
    }
    return chunk, info


def _zone(tx: Tx, actor: Actor) -> str:
    return actor.user.time_zone or tx.state.org.time_zone


def _settings_scope(actor: Actor, access: Access) -> None:
    require_scope(actor, Category.SETTINGS, "territories", access)


def _management_scope(actor: Actor, access: Access) -> None:
    """`/settings/territory_management`: its own resource name, or that of territories."""
    if not actor.scope_allows(Category.SETTINGS, "territories", access):
        require_scope(actor, Category.SETTINGS, "territory_management", access)


def _reference(raw: Any, json_path: str, api_name: str = "id") -> int:
    """The id of `{"id": …}` (or a bare id) in an item, or that item's error."""
    try:
        found = reference_id(raw)
    except InvalidValue:
        raise item_failure(
            "INVALID_DATA", "invalid id", api_name=api_name, json_path=json_path
        ) from None
    if found is None:
        raise item_failure(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            api_name=api_name,
            json_path=json_path,
        )
    return found


def _optional_body(**properties: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "additionalProperties": True}
    return {"requestBody": {"required": False, "content": {"application/json": {"schema": schema}}}}


def _object_doc(key: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "object", "additionalProperties": True}},
    }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# --- territory JSON ------------------------------------------------------------------------


def _api_name(name: str) -> str:
    return re.sub(r"\W+", "_", name).strip("_") or "Territory"


def _versions(tx: Tx, ids: Sequence[int]) -> dict[int, int]:
    table = tables.territories
    rows = tx.conn.execute(sa.select(table.c.id, table.c.version).where(table.c.id.in_(list(ids))))
    return {int(r.id): int(r.version) for r in rows}


def _include(text: str | None) -> frozenset[str]:
    if text is None:
        return frozenset()
    wanted = frozenset(p.strip() for p in text.split(",") if p.strip())
    unknown = sorted(wanted - set(INCLUDABLE))
    if unknown:
        raise ServiceError(
            "INVALID_DATA",
            "invalid value for include",
            {"param_name": "include", "supported_values": list(INCLUDABLE)},
        )
    return wanted


def territory_json(
    tx: Tx,
    tree: Tree,
    territory: Territory,
    zone: str,
    include: frozenset[str] = frozenset(),
    version: int | None = None,
) -> dict[str, Any]:
    """A territory as the OAS `territories` schema has it, with Secteur's `sequence`."""
    directory = tx.state.directory
    parent = tree.get(territory.parent_id) if territory.parent_id is not None else None
    out: dict[str, Any] = {
        "id": str(territory.id),
        "name": territory.name,
        "api_name": _api_name(territory.name),
        "description": territory.description,
        "manager": user_ref(directory, territory.manager_id, email=False),
        "reporting_to": {"id": str(parent.id), "name": parent.name} if parent else None,
        "permission_type": territory.permission.value,
        "sequence": territory.sequence,
        "created_by": user_ref(directory, territory.created_by, email=False),
        "created_time": when(territory.created_time, zone),
        "modified_by": user_ref(directory, territory.modified_by, email=False),
        "modified_time": when(territory.modified_time, zone),
    }
    for module, key in RULE_KEYS.items():
        if key in ALWAYS_RULES or key in include:
            rule = territory.rule(module)
            out[key] = None if rule is None else to_json(rule)
    if version is not None:
        out["$version"] = version
    return out


def _listing(
    tx: Tx,
    actor: Actor,
    tree: Tree,
    found: Sequence[Territory],
    page: int,
    per_page: int,
    include: frozenset[str] = frozenset(),
) -> Response:
    chunk, info = _page(found, page, per_page)
    if not chunk:
        return responses.no_content()
    zone = _zone(tx, actor)
    versions = _versions(tx, [t.id for t in chunk])
    return responses.ok(
        {
            "territories": [
                territory_json(tx, tree, t, zone, include, versions.get(t.id)) for t in chunk
            ],
            "info": info,
        }
    )


# --- the tree: /settings/territories -------------------------------------------------------


@router.get(
    SETTINGS, responses=openapi.listing("territories"), summary="List territories (tree order)"
)
def list_territories(
    caller: CallerDep,
    include: Annotated[str | None, Query()] = None,
    page: Annotated[int, Query()] = 1,
    per_page: Annotated[int, Query()] = MAX_PER_PAGE,
    ids: Annotated[str | None, Query()] = None,
) -> Response:
    _paging(page, per_page)
    wanted = set(_ids(ids)) if ids is not None else None
    included = _include(include)
    with caller.read() as (tx, actor):
        _settings_scope(actor, Access.READ)
        tree = service.require_enabled(tx)
        found = [tree.by_id[tid] for tid in tree.preorder if wanted is None or tid in wanted]
        return _listing(tx, actor, tree, found, page, per_page, included)


@router.get(
    SETTINGS + "/actions/associated_users_count",
    responses=openapi.listing("associated_users_count"),
    summary="Members per territory",
)
def associated_users_count(
    caller: CallerDep,
    page: Annotated[int, Query()] = 1,
    per_page: Annotated[int, Query()] = MAX_PER_PAGE,
) -> Response:
    _paging(page, per_page)
    with caller.read() as (tx, actor):
        _settings_scope(actor, Access.READ)
        tree = service.require_enabled(tx)
        counts = territory_repo.member_counts(tx.conn)
        chunk, info = _page(tree.preorder, page, per_page)
        if not chunk:
            return responses.no_content()
        return responses.ok(
            {
                "associated_users_count": [
                    {
                        "count": str(counts.get(tid, 0)),
                        "territory": {
                            "id": str(tid),
                            "name": tree.by_id[tid].name,
                            "subordinates": False,
                        },
                    }
                    for tid in chunk
                ],
                "info": info,
            }
        )


@router.get(
    SETTINGS + "/actions/scheduled_run_rule_jobs",
    responses=openapi.single("scheduled_run_rule_jobs", {"type": "object"}),
    summary="Status of a run-rules job",
)
def scheduled_run_rule_jobs(
    caller: CallerDep, job_id: Annotated[str | None, Query()] = None
) -> Response:
    if job_id is None or not job_id.strip():
        raise ServiceError(
            "REQUIRED_PARAM_MISSING", "the job_id parameter is missing", {"param_name": "job_id"}
        )
    if not _is_id(job_id.strip()):
        raise ServiceError(
            "INVALID_DATA", "the job_id given seems to be invalid", {"param_name": "job_id"}
        )
    with caller.read() as (tx, actor):
        _settings_scope(actor, Access.READ)
        service.require_enabled(tx)
        service.require_manager(actor)
        job = runs.status(tx, int(job_id))
        status = jobs.Status.IN_PROGRESS if job.status is jobs.Status.QUEUED else job.status
        return responses.ok(
            {
                "scheduled_run_rule_jobs": {
                    "job_id": str(job.id),
                    "type": "preview_rules" if job.kind == runs.PREVIEW else "run_rules",
                    "status": status.value,
                    "scheduled_time": when(job.created_time, _zone(tx, actor)),
                    "scheduled_by": user_ref(tx.state.directory, job.created_by, email=False),
                    "progress": {"done": job.done, "total": job.total},
                    "result": job.result,
                }
            }
        )


def _day(text: str | None, name: str) -> date | None:
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ServiceError(
            "INVALID_DATA", f"{name} must be a date (YYYY-MM-DD)", {"param_name": name}
        ) from None


@router.get(
    SETTINGS + "/actions/reports",
    responses=openapi.single("territory_reports", {"type": "object"}),
    summary="Revenue, sales cycle and top performers by territory (TER-31)",
)
def territory_reports(
    caller: CallerDep,
    since: Annotated[str | None, Query(alias="from")] = None,
    until: Annotated[str | None, Query(alias="to")] = None,
) -> Response:
    start, end = _day(since, "from"), _day(until, "to")
    with caller.read() as (tx, actor):
        _settings_scope(actor, Access.READ)
        return responses.ok({"territory_reports": reports.report(tx, actor, start, end)})


@router.get(
    SETTINGS + "/{territory}", responses=openapi.found("territories"), summary="Get a territory"
)
def get_territory(
    caller: CallerDep, territory: str, include: Annotated[str | None, Query()] = None
) -> Response:
    included = _include(include)
    with caller.read() as (tx, actor):
        _settings_scope(actor, Access.READ)
        tree = service.require_enabled(tx)
        found = service.get_territory(tx, _path_id(territory))
        version = _versions(tx, [found.id]).get(found.id, 1)
        return responses.ok(
            {"territories": [territory_json(tx, tree, found, _zone(tx, actor), included, version)]},
            headers={"ETag": etag(version)},
        )


@router.get(
    SETTINGS + "/{territory}/__child_territories",
    responses=openapi.listing("territories"),
    summary="Sub-territories",
)
def child_territories(
    caller: CallerDep,
    territory: str,
    page: Annotated[int, Query()] = 1,
    per_page: Annotated[int, Query()] = MAX_PER_PAGE,
) -> Response:
    _paging(page, per_page)
    with caller.read() as (tx, actor):
        _settings_scope(actor, Access.READ)
        tree = service.require_enabled(tx)
        parent = service.get_territory(tx, _path_id(territory))
        return _listing(tx, actor, tree, tree.children_of(parent.id), page, per_page)


def _write_territories(caller: Caller, raw: bytes, update: bool) -> Response:
    with caller.write() as (tx, actor):
        _settings_scope(actor, Access.UPDATE if update else Access.CREATE)
        service.require_enabled(tx)
        service.require_manager(actor)
        items = envelope_list(parse_json(raw), "territories", MAX_PER_CALL)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            if not isinstance(item, Mapping):
                raise item_failure(
                    "INVALID_DATA",
                    "invalid data",
                    json_path=f"$.territories[{index}]",
                    expected_data_type="jsonobject",
                )
            if not update:
                new_id = service.create_territory(tx, actor, index, item)
                return "Territory created successfully", {"id": str(new_id)}
            target = _reference(item.get("id"), f"$.territories[{index}].id")
            service.update_territory(tx, actor, target, index, item)
            return "Territory updated successfully", {"id": str(target)}

        results = per_item(tx, items, handle)
    return batch_response("territories", results, 200 if update else 201)


@router.post(
    SETTINGS,
    responses=openapi.batch("territories", 201),
    status_code=201,
    summary="Create territories (≤ 100)",
    openapi_extra=envelope_doc("territories", MAX_PER_CALL),
)
async def create_territories(caller: CallerDep, request: Request) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_write_territories, caller, raw, False)


@router.put(
    SETTINGS,
    responses=openapi.batch("territories"),
    summary="Update territories (≤ 100, each with its id)",
    openapi_extra=envelope_doc("territories", MAX_PER_CALL),
)
async def update_territories(caller: CallerDep, request: Request) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_write_territories, caller, raw, True)


def _update_one(caller: Caller, raw: bytes, territory: str, if_match: str | None) -> Response:
    with caller.write() as (tx, actor):
        _settings_scope(actor, Access.UPDATE)
        service.require_enabled(tx)
        service.require_manager(actor)
        target = service.get_territory(tx, _path_id(territory)).id
        items = envelope_list(parse_json(raw), "territories", 1)
        expected = parse_if_match(if_match)
        if expected is not None:
            territory_repo.lock_tree(tx.conn)
            current = _versions(tx, [target]).get(target)
            if current != expected:
                raise Conflict(details={"id": str(target), "current_version": current})

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            if not isinstance(item, Mapping):
                raise item_failure(
                    "INVALID_DATA",
                    "invalid data",
                    json_path=f"$.territories[{index}]",
                    expected_data_type="jsonobject",
                )
            service.update_territory(tx, actor, target, index, item)
            return "Territory updated successfully", {"id": str(target)}

        results = per_item(tx, items, handle)
    return batch_response("territories", results)


@router.put(
    SETTINGS + "/{territory}",
    responses=openapi.batch("territories"),
    summary="Update a territory",
    openapi_extra=envelope_doc("territories", 1),
)
async def update_territory(
    caller: CallerDep,
    request: Request,
    territory: str,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_update_one, caller, raw, territory, if_match)


@router.delete(
    SETTINGS,
    responses=openapi.batch("territories"),
    summary="Delete territories (without sub-territories)",
)
def delete_territories(
    caller: CallerDep,
    ids: Annotated[str | None, Query()] = None,
    delete_previous_forecasts: Annotated[bool, Query()] = False,
) -> Response:
    wanted = _ids(ids)
    with caller.write() as (tx, actor):
        _settings_scope(actor, Access.DELETE)
        service.require_enabled(tx)
        service.require_manager(actor)

        def handle(index: int, territory_id: int) -> tuple[str, dict[str, Any]]:
            service.delete_territory(tx, actor, territory_id, None)
            return "Territory deleted successfully", {"id": str(territory_id)}

        results = per_item(tx, wanted, handle)
    return batch_response("territories", results)


@router.delete(
    SETTINGS + "/{territory}",
    responses=openapi.deleted("territories"),
    summary="Delete a territory",
)
def delete_territory(
    caller: CallerDep,
    territory: str,
    delete_previous_forecasts: Annotated[bool, Query()] = False,
) -> Response:
    with caller.write() as (tx, actor):
        _settings_scope(actor, Access.DELETE)
        service.require_enabled(tx)
        service.require_manager(actor)
        target = _path_id(territory)
        service.delete_territory(tx, actor, target, None)
    done = responses.success_item("Territory deleted successfully", {"id": str(target)})
    return responses.ok({"territories": [done]})


def _transfer_item(index: int, item: Any, path_id: int | None) -> tuple[int, int]:
    """(territory, transfer target) of one `transfer_and_delete` item."""
    where = f"$.territories[{index}]"
    if not isinstance(item, Mapping):
        raise item_failure(
            "INVALID_DATA", "invalid data", json_path=where, expected_data_type="jsonobject"
        )
    target = path_id if path_id is not None else _reference(item.get("id"), where + ".id")
    transfer = _reference(
        item.get("transfer_to_id"), where + ".transfer_to_id", api_name="transfer_to_id"
    )
    forecasts = item.get("delete_previous_forecasts", False)
    if not isinstance(forecasts, bool):
        raise item_failure(
            "INVALID_DATA",
            "invalid delete_previous_forecasts",
            api_name="delete_previous_forecasts",
            json_path=where + ".delete_previous_forecasts",
            expected_data_type="boolean",
        )
    return target, transfer


def _transfer_and_delete(caller: Caller, raw: bytes, territory: str | None) -> Response:
    with caller.write() as (tx, actor):
        _settings_scope(actor, Access.DELETE)
        service.require_enabled(tx)
        service.require_manager(actor)
        path_id = None
        if territory is not None:
            path_id = service.get_territory(tx, _path_id(territory)).id
        items = envelope_list(
            parse_json(raw), "territories", 1 if path_id is not None else MAX_PER_CALL
        )

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            target, transfer = _transfer_item(index, item, path_id)
            service.delete_territory(tx, actor, target, transfer)
            return "Territory deleted successfully", {"id": str(target)}

        results = per_item(tx, items, handle)
    return batch_response("territories", results)


@router.post(
    SETTINGS + "/actions/transfer_and_delete",
    responses=openapi.batch("territories"),
    summary="Delete territories, moving their sub-territories and records (TER-7)",
    openapi_extra=envelope_doc("territories", MAX_PER_CALL),
)
async def transfer_and_delete_territories(caller: CallerDep, request: Request) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_transfer_and_delete, caller, raw, None)


@router.post(
    SETTINGS + "/{territory}/actions/transfer_and_delete",
    responses=openapi.batch("territories"),
    summary="Delete a territory, moving its sub-territories and records (TER-7)",
    openapi_extra=envelope_doc("territories", 1),
)
async def transfer_and_delete_territory(
    caller: CallerDep, request: Request, territory: str
) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_transfer_and_delete, caller, raw, territory)


# --- run rules and preview (TER-24 … TER-26) -----------------------------------------------


def _schedule(caller: Caller, raw: bytes, preview: bool) -> Response:
    key = "preview_rules" if preview else "run_rules"
    with caller.write() as (tx, actor):
        _settings_scope(actor, Access.CREATE)
        service.require_enabled(tx)
        service.require_manager(actor)
        body = parse_json(raw)
        keys = ("preview_rules", "run_rules") if preview else ("run_rules",)
        if not isinstance(body, dict):
            raise ServiceError(
                "INVALID_DATA",
                "the request body must be a JSON object",
                {"expected_data_type": "jsonobject"},
            )
        given = next((k for k in keys if k in body), None)
        if given is None:
            raise ServiceError(
                "REQUIRED_PARAM_MISSING", f"the {key} key is missing", {"param_name": key}
            )
        if not isinstance(body[given], Mapping):
            raise ServiceError(
                "INVALID_DATA",
                f"{given} must be a JSON object",
                {"api_name": given, "json_path": f"$.{given}", "expected_data_type": "jsonobject"},
            )
        try:
            job_id = runs.schedule(tx, actor, body, preview=preview)
        except ServiceError as exc:
            if exc.status != 400:
                raise
            refused = responses.error_body(exc.code, exc.message, exc.details)
            return responses.ok({key: refused}, 400)
    message = (
        "Territory rules preview scheduled successfully."
        if preview
        else "Territory rules scheduled successfully."
    )
    return responses.ok(
        {key: responses.success_item(message, {"job_id": str(job_id)}, code="SCHEDULED")}, 202
    )


@router.post(
    SETTINGS + "/actions/run_rules",
    responses=openapi.outcome("run_rules", 202),
    status_code=202,
    summary="Re-evaluate territory rules in the background (TER-24)",
    openapi_extra=_object_doc("run_rules"),
)
async def run_rules(caller: CallerDep, request: Request) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_schedule, caller, raw, False)


@router.post(
    SETTINGS + "/actions/preview_rules",
    responses=openapi.outcome("preview_rules", 202),
    status_code=202,
    summary="What running the rules would change, without changing it (TER-26)",
    openapi_extra=_object_doc("preview_rules"),
)
async def preview_rules(caller: CallerDep, request: Request) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_schedule, caller, raw, True)


# --- settings: /settings/territory_management (TER-1 … TER-3, TER-8) ----------------------


@router.get(
    "/crm/v8/settings/territory_management",
    responses=openapi.single("territory_management", {"type": "object"}),
    summary="Territory management settings",
)
def get_territory_management(caller: CallerDep) -> Response:
    with caller.read() as (tx, actor):
        _management_scope(actor, Access.READ)
        return responses.ok({"territory_management": service.settings(tx).to_json()})


def _update_management(caller: Caller, raw: bytes) -> Response:
    key = "territory_management"
    with caller.write() as (tx, actor):
        _management_scope(actor, Access.UPDATE)
        if not actor.profile.admin:
            # TER-1, checked before the body is read (the service checks it again).
            raise NoPermission("only administrators can change territory management")
        wanted = envelope_object(parse_json(raw), key)
        try:
            updated = service.update_settings(tx, actor, wanted)
        except ServiceError as exc:
            if exc.status != 400:
                raise
            details = dict(exc.details)
            if "api_name" in details:
                details.setdefault("json_path", f"$.{key}.{details['api_name']}")
            return responses.ok({key: responses.error_body(exc.code, exc.message, details)}, 400)
    return responses.ok(
        {key: responses.success_item("Territory management settings updated", updated.to_json())}
    )


@router.post(
    "/crm/v8/settings/territory_management",
    responses=openapi.outcome("territory_management"),
    summary="Turn territory management on or off, choose how it starts, set its limits",
    openapi_extra=_object_doc("territory_management"),
)
async def update_territory_management(caller: CallerDep, request: Request) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_update_management, caller, raw)


# --- territory users: /settings/territories/{territory}/users ------------------------------


def _member_json(tx: Tx, user_id: int, zone: str) -> dict[str, Any]:
    directory = tx.state.directory
    user = directory.users.get(user_id)
    if user is None:
        return {"id": str(user_id), "name": None}
    return {**user_json(directory, user, zone), "name": user.full_name}


def _users_api(tx: Tx, user_id: int) -> Tree:
    """The tree, for the territories of an existing user (TERRITORY_NOT_ENABLED while off)."""
    tree = service.require_enabled(tx, users_api=True)
    users_service.get_user(tx, user_id)
    return tree


def _territory_in(tree: Tree, territory_id: int) -> Territory:
    found = tree.get(territory_id)
    if found is None:
        raise NotFound()
    return found


@router.get(
    SETTINGS + "/{territory}/users",
    responses=openapi.listing("users"),
    summary="Members of a territory",
)
def territory_users(
    caller: CallerDep,
    territory: str,
    page: Annotated[int, Query()] = 1,
    per_page: Annotated[int, Query()] = MAX_PER_PAGE,
) -> Response:
    _paging(page, per_page)
    with caller.read() as (tx, actor):
        _settings_scope(actor, Access.READ)
        tree = service.require_enabled(tx, users_api=True)
        target = _territory_in(tree, _path_id(territory))
        members = [m.user_id for m in territory_repo.members(tx.conn, target.id)]
        chunk, info = _page(members, page, per_page)
        if not chunk:
            return responses.no_content()
        zone = _zone(tx, actor)
        return responses.ok({"users": [_member_json(tx, u, zone) for u in chunk], "info": info})


@router.get(
    SETTINGS + "/{territory}/users/{user}",
    responses=openapi.found("users", may_be_empty=True),
    summary="A member of a territory",
)
def territory_user(caller: CallerDep, territory: str, user: str) -> Response:
    with caller.read() as (tx, actor):
        _settings_scope(actor, Access.READ)
        tree = service.require_enabled(tx, users_api=True)
        target = _territory_in(tree, _path_id(territory))
        user_id = _path_id(user)
        users_service.get_user(tx, user_id)
        if target.id not in territory_repo.territories_of(tx.conn, user_id):
            return responses.no_content()
        return responses.ok({"users": [_member_json(tx, user_id, _zone(tx, actor))]})


def _add_members(caller: Caller, raw: bytes | None, territory: str, user: str | None) -> Response:
    with caller.write() as (tx, actor):
        _settings_scope(actor, Access.UPDATE)
        tree = service.require_enabled(tx, users_api=True)
        service.require_manager(actor)
        target = _territory_in(tree, _path_id(territory))
        if user is not None:
            users_service.get_user(tx, _path_id(user))
            items: list[Any] = [{"id": user}]
        else:
            items = envelope_list(parse_json(raw or b""), "users", MAX_PER_CALL)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            where = f"$.users[{index}]"
            if not isinstance(item, Mapping):
                raise item_failure(
                    "INVALID_DATA", "invalid data", json_path=where, expected_data_type="jsonobject"
                )
            user_id = _reference(item.get("id"), where + ".id")
            (problem,) = service.add_members(tx, actor, target.id, [user_id])
            if problem is not None:
                raise problem
            return "User associated with the territory", {"id": str(user_id)}

        results = per_item(tx, items, handle)
    return batch_response("users", results)


@router.put(
    SETTINGS + "/{territory}/users",
    responses=openapi.batch("users"),
    summary="Add members to a territory",
    openapi_extra=envelope_doc("users", MAX_PER_CALL),
)
async def add_territory_users(caller: CallerDep, request: Request, territory: str) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_add_members, caller, raw, territory, None)


@router.put(
    SETTINGS + "/{territory}/users/{user}",
    responses=openapi.batch("users"),
    summary="Add one member to a territory",
    openapi_extra=_optional_body(),
)
def add_territory_user(caller: CallerDep, territory: str, user: str) -> Response:
    return _add_members(caller, None, territory, user)


def _remove_members(
    caller: Caller, territory: str, ids: str | None, user: str | None = None
) -> Response:
    with caller.write() as (tx, actor):
        _settings_scope(actor, Access.DELETE)
        tree = service.require_enabled(tx, users_api=True)
        service.require_manager(actor)
        target = _territory_in(tree, _path_id(territory))
        user_ids = [_path_id(user)] if user is not None else _ids(ids)

        def handle(index: int, user_id: int) -> tuple[str, dict[str, Any]]:
            (problem,) = service.remove_members(tx, actor, target.id, [user_id])
            if problem is not None:
                raise problem
            return "User removed from the territory", {"id": str(user_id)}

        results = per_item(tx, user_ids, handle)
    return batch_response("users", results)


@router.delete(
    SETTINGS + "/{territory}/users",
    responses=openapi.batch("users"),
    summary="Remove members from a territory",
)
def remove_territory_users(
    caller: CallerDep, territory: str, ids: Annotated[str | None, Query()] = None
) -> Response:
    return _remove_members(caller, territory, ids)


@router.delete(
    SETTINGS + "/{territory}/users/{user}",
    responses=openapi.batch("users"),
    summary="Remove a member from a territory",
)
def remove_territory_user(caller: CallerDep, territory: str, user: str) -> Response:
    return _remove_members(caller, territory, None, user)


# --- a user's territories: /users/{user}/territories ---------------------------------------


def _user_territory_json(tree: Tree, territory: Territory, tx: Tx) -> dict[str, Any]:
    """Zoho's casing under /users: `Name`, `Manager`, `Reporting_To`."""
    directory = tx.state.directory
    manager = directory.users.get(territory.manager_id) if territory.manager_id else None
    parent = tree.get(territory.parent_id) if territory.parent_id is not None else None
    return {
        "id": str(territory.id),
        "Name": territory.name,
        "Manager": {"id": str(manager.id), "Name": manager.full_name} if manager else None,
        "Reporting_To": {"id": str(parent.id), "Name": parent.name} if parent else None,
    }


@router.get(
    "/crm/v8/users/{user}/territories",
    responses=openapi.listing("territories"),
    summary="Territories of a user",
)
def user_territories(
    caller: CallerDep,
    user: str,
    page: Annotated[int, Query()] = 1,
    per_page: Annotated[int, Query()] = MAX_PER_PAGE,
) -> Response:
    _paging(page, per_page)
    with caller.read() as (tx, actor):
        require_scope(actor, Category.USERS, None, Access.READ)
        tree = _users_api(tx, _path_id(user))
        held = tree.in_preorder(territory_repo.territories_of(tx.conn, int(user)))
        chunk, info = _page(held, page, per_page)
        if not chunk:
            return responses.no_content()
        return responses.ok(
            {
                "territories": [_user_territory_json(tree, tree.by_id[t], tx) for t in chunk],
                "info": info,
            }
        )


@router.get(
    "/crm/v8/users/{user}/territories/{territory}",
    responses=openapi.found("territories", may_be_empty=True),
    summary="A territory of a user",
)
def user_territory(caller: CallerDep, user: str, territory: str) -> Response:
    with caller.read() as (tx, actor):
        require_scope(actor, Category.USERS, None, Access.READ)
        tree = _users_api(tx, _path_id(user))
        target = _territory_in(tree, _path_id(territory))
        if target.id not in territory_repo.territories_of(tx.conn, int(user)):
            return responses.no_content()
        return responses.ok({"territories": [_user_territory_json(tree, target, tx)]})


def _associate(caller: Caller, raw: bytes, user: str) -> Response:
    with caller.write() as (tx, actor):
        require_scope(actor, Category.USERS, None, Access.UPDATE)
        _users_api(tx, _path_id(user))
        service.require_manager(actor)
        user_id = int(user)
        items = envelope_list(parse_json(raw), "territories", MAX_PER_CALL)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            where = f"$.territories[{index}]"
            if not isinstance(item, Mapping):
                raise item_failure(
                    "INVALID_DATA", "invalid data", json_path=where, expected_data_type="jsonobject"
                )
            territory_id = _reference(item.get("id"), where + ".id")
            try:
                (problem,) = service.add_members(tx, actor, territory_id, [user_id])
            except NotFound:
                raise item_failure(
                    "INVALID_DATA",
                    "the territory given seems to be invalid",
                    api_name="id",
                    json_path=where + ".id",
                    id=str(territory_id),
                ) from None
            if problem is not None:
                raise problem
            return "Territory associated with the user", {"id": str(territory_id)}

        results = per_item(tx, items, handle)
    return batch_response("territories", results)


@router.put(
    "/crm/v8/users/{user}/territories",
    responses=openapi.batch("territories"),
    summary="Add a user to territories",
    openapi_extra=envelope_doc("territories", MAX_PER_CALL),
)
async def associate_user_territories(caller: CallerDep, request: Request, user: str) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_associate, caller, raw, user)


def _dissociate(
    caller: Caller, user: str, ids: str | None, territory: str | None = None
) -> Response:
    with caller.write() as (tx, actor):
        require_scope(actor, Category.USERS, None, Access.DELETE)
        _users_api(tx, _path_id(user))
        service.require_manager(actor)
        user_id = int(user)
        territory_ids = [_path_id(territory)] if territory is not None else _ids(ids)

        def handle(index: int, territory_id: int) -> tuple[str, dict[str, Any]]:
            try:
                (problem,) = service.remove_members(tx, actor, territory_id, [user_id])
            except NotFound:
                raise item_failure(
                    "INVALID_DATA",
                    "the territory given seems to be invalid",
                    id=str(territory_id),
                ) from None
            if problem is not None:
                details = {**problem.details, "id": str(territory_id)}
                raise item_failure(problem.code, problem.message, **details)
            return "Territory removed from the user", {"id": str(territory_id)}

        results = per_item(tx, territory_ids, handle)
    return batch_response("territories", results)


@router.delete(
    "/crm/v8/users/{user}/territories",
    responses=openapi.batch("territories"),
    summary="Remove a user from territories",
)
def dissociate_user_territories(
    caller: CallerDep, user: str, ids: Annotated[str | None, Query()] = None
) -> Response:
    return _dissociate(caller, user, ids)


@router.delete(
    "/crm/v8/users/{user}/territories/{territory}",
    responses=openapi.batch("territories"),
    summary="Remove a user from a territory",
)
def dissociate_user_territory(caller: CallerDep, user: str, territory: str) -> Response:
    return _dissociate(caller, user, None, territory)


# --- records: assign, remove, explain (TER-20 … TER-23, TER-27) ----------------------------


def _covered(tx: Tx, name: str) -> Module:
    module = records_service.module_or_error(tx, name)
    if module.api_name not in COVERED_MODULES:
        raise ServiceError(
            "NOT_SUPPORTED",
            "territories are not supported for this module",
            {"resource_path_index": 0, "supported_values": list(COVERED_MODULES)},
        )
    return module


def _territory_ids(item: Mapping[str, Any], where: str) -> list[int]:
    raw = item.get("Territories")
    if raw is None:
        raise item_failure(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            api_name="Territories",
            json_path=where + ".Territories",
        )
    if not isinstance(raw, list) or not raw:
        raise item_failure(
            "INVALID_DATA",
            "Territories must be a non-empty JSON array",
            api_name="Territories",
            json_path=where + ".Territories",
            expected_data_type="jsonarray",
        )
    return [
        _reference(entry, f"{where}.Territories[{i}].id", api_name="Territories")
        for i, entry in enumerate(raw)
    ]


def _record_action(
    caller: Caller, raw: bytes, module_name: str, record: str | None, assign: bool
) -> Response:
    with caller.write() as (tx, actor):
        module = _covered(tx, module_name)
        require_scope(actor, Category.MODULES, module.api_name, Access.UPDATE)
        service.require_enabled(tx)
        target: StoredRecord | None = None
        if record is not None:
            target = records_service.get_record(tx, actor, module, _path_id(record))
        limit = 1 if target is not None else MAX_RECORDS_PER_ACTION
        items = envelope_list(parse_json(raw), "data", limit)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            where = f"$.data[{index}]"
            if not isinstance(item, Mapping):
                raise item_failure(
                    "INVALID_DATA", "invalid data", json_path=where, expected_data_type="jsonobject"
                )
            stored = target
            if stored is None:
                record_id = _reference(item.get("id"), where + ".id")
                try:
                    stored = records_service.get_record(tx, actor, module, record_id)
                except NotFound:
                    raise item_failure(
                        "INVALID_DATA",
                        "the id given seems to be invalid",
                        api_name="id",
                        json_path=where + ".id",
                        id=str(record_id),
                    ) from None
            territory_ids = _territory_ids(item, where)
            try:
                if assign:
                    assignment.assign_manually(tx, actor, module, stored, territory_ids)
                else:
                    assignment.remove_manually(tx, actor, module, stored, territory_ids)
            except assignment.AssignmentRefused as refused:
                raise item_failure(
                    refused.code,
                    refused.message,
                    **{
                        "api_name": "Territories",
                        "json_path": where + ".Territories",
                        **refused.details,
                    },
                ) from None
            done = "assigned" if assign else "removed"
            return f"Territories {done} successfully", {"id": str(stored.id)}

        results = per_item(tx, items, handle)
    return batch_response("data", results)


_RECORD_TERRITORIES_BODY = envelope_doc("data", MAX_RECORDS_PER_ACTION)


@router.post(
    "/crm/v8/{module}/actions/assign_territories",
    responses=openapi.batch("data"),
    summary="Assign territories to records by hand (≤ 10 records)",
    openapi_extra=_RECORD_TERRITORIES_BODY,
)
async def assign_territories(caller: CallerDep, request: Request, module: str) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_record_action, caller, raw, module, None, True)


@router.post(
    "/crm/v8/{module}/actions/remove_territories",
    responses=openapi.batch("data"),
    summary="Remove territories assigned by hand from records (≤ 10 records)",
    openapi_extra=_RECORD_TERRITORIES_BODY,
)
async def remove_territories(caller: CallerDep, request: Request, module: str) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_record_action, caller, raw, module, None, False)


@router.post(
    "/crm/v8/{module}/{record}/actions/assign_territories",
    responses=openapi.batch("data"),
    summary="Assign territories to a record by hand",
    openapi_extra=envelope_doc("data", 1),
)
async def assign_record_territories(
    caller: CallerDep, request: Request, module: str, record: str
) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_record_action, caller, raw, module, record, True)


@router.post(
    "/crm/v8/{module}/{record}/actions/remove_territories",
    responses=openapi.batch("data"),
    summary="Remove territories assigned by hand from a record",
    openapi_extra=envelope_doc("data", 1),
)
async def remove_record_territories(
    caller: CallerDep, request: Request, module: str, record: str
) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_record_action, caller, raw, module, record, False)


@router.get(
    "/crm/v8/{module}/{record}/actions/explain_territories",
    responses=openapi.single("explanation", {"type": "object"}),
    summary="Why a record has its territories: the evaluation trace (TER-27)",
)
def explain_territories(caller: CallerDep, module: str, record: str) -> Response:
    with caller.read() as (tx, actor):
        found = _covered(tx, module)
        service.require_enabled(tx)
        stored = records_service.get_record(tx, actor, found, _path_id(record))
        return responses.ok({"explanation": assignment.explain_record(tx, found, stored)})
