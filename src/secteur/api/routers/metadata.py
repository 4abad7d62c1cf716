"""Metadata: `/settings/modules`, `/settings/fields`, `/settings/layouts`, `/settings/related_lists`

The SDK reads fields before any record call: `api_name`, `data_type`, `json_type`,
`system_mandatory`, `custom_field`, `lookup.module`, `pick_list_values[].display_value`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from secteur.adapters.db import metadata_repo
from secteur.api import openapi, responses
from secteur.api.batch import batch_response, run_items
from secteur.api.body import envelope_doc, envelope_list, json_body
from secteur.api.deps import CallerDep, require_scope
from secteur.api.wire import etag, parse_if_match, user_ref, when
from secteur.domain.actor import Actor
from secteur.domain.directory import Operation
from secteur.domain.fields import DataType, Field, Kind, Module
from secteur.domain.scopes import Access, Category
from secteur.services import fields as field_service
from secteur.services.app import Tx
from secteur.services.errors import item_failure
from secteur.services.record_queries import related_lists
from secteur.services.records import module_or_error

router = APIRouter(tags=["Metadata"], responses=openapi.ERRORS)

ModuleParam = Annotated[str, Query(description="Module API name, e.g. Accounts")]


def module_json(tx: Tx, actor: Actor, module: Module) -> dict[str, Any]:
    access = actor.profile.module_access(module.api_name)
    return {
        "id": str(module.id),
        "api_name": module.api_name,
        "module_name": module.api_name,
        "singular_label": module.singular_label,
        "plural_label": module.plural_label,
        "api_supported": True,
        "generated_type": "default",
        "visible": True,
        "status": "visible",
        "sequence_number": module.sequence,
        "creatable": access.allows(Operation.CREATE),
        "editable": access.allows(Operation.EDIT),
        "deletable": access.allows(Operation.DELETE),
        "viewable": access.allows(Operation.VIEW),
        "display_field": {"api_name": module.display_field},
        "modified_time": None,
    }


def field_json(tx: Tx, module: Module, f: Field) -> dict[str, Any]:
    lookup: dict[str, Any] = {}
    if f.data_type is DataType.LOOKUP and f.lookup_module:
        target = tx.state.module(f.lookup_module)
        lookup = {
            "module": {"api_name": f.lookup_module, "id": str(target.id) if target else None},
            "display_label": f.label,
            "api_name": f.api_name,
        }
    picklist = [
        {
            "display_value": v.display_value,
            "actual_value": v.actual_value,
            "sequence_number": v.sequence_number,
            "id": str(v.id),
            "type": "used",
            **({"probability": v.probability} if v.probability is not None else {}),
            **({"forecast_category": {"name": v.forecast_category}} if v.forecast_category else {}),
        }
        for v in f.picklist
    ]
    return {
        "id": str(f.id),
        "api_name": f.api_name,
        "field_label": f.label,
        "display_label": f.label,
        "data_type": f.data_type.value,
        "json_type": f.json_type,
        "system_mandatory": f.mandatory,
        "custom_field": f.custom,
        "read_only": f.read_only,
        "field_read_only": f.read_only,
        "visible": True,
        "sortable": f.kind not in (Kind.MULTISELECT, Kind.TERRITORIES),
        "filterable": f.kind is not Kind.TERRITORIES,
        "searchable": f.kind in (Kind.TEXT, Kind.PICKLIST),
        "length": f.length,
        "decimal_place": f.decimal_place,
        "sequence_number": f.sequence,
        "created_source": "user" if f.custom else "default",
        "lookup": lookup,
        "pick_list_values": picklist,
        "$version": f.version,
    }


def _scope(actor: Actor, resource: str, access: Access) -> None:
    require_scope(actor, Category.SETTINGS, resource, access)


@router.get("/crm/v8/settings/modules", responses=openapi.found("modules"), summary="List modules")
def list_modules(caller: CallerDep) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, "modules", Access.READ)
        return responses.ok({"modules": [module_json(tx, actor, m) for m in tx.state.modules]})


def _module_by_name_or_id(tx: Tx, key: str) -> Module:
    """Zoho serves `/settings/modules/{api_name}` and `/settings/modules/{id}` on one path (the
    SDK's `get_module(id)` uses the latter); api names start with a letter, so no clash."""
    if key.isdigit():
        found = next((m for m in tx.state.modules if m.id == int(key)), None)
        if found is not None:
            return found
    return module_or_error(tx, key)


@router.get(
    "/crm/v8/settings/modules/{api_name}",
    responses=openapi.found("modules"),
    summary="Get a module by API name or id",
)
def get_module(caller: CallerDep, api_name: str) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, "modules", Access.READ)
        module = _module_by_name_or_id(tx, api_name)
        body = module_json(tx, actor, module)
        body["fields"] = [field_json(tx, module, f) for f in module.fields]
        body["related_lists"] = [
            _related_json(tx, module, i, rl) for i, rl in enumerate(related_lists(tx, module))
        ]
        return responses.ok({"modules": [body]})


@router.get(
    "/crm/v8/settings/fields",
    responses=openapi.found("fields"),
    summary="List the fields of a module",
)
def list_fields(caller: CallerDep, module: ModuleParam) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, "fields", Access.READ)
        found = module_or_error(tx, module)
        return responses.ok({"fields": [field_json(tx, found, f) for f in found.fields]})


@router.get(
    "/crm/v8/settings/fields/{field_id}", responses=openapi.found("fields"), summary="Get a field"
)
def get_field(caller: CallerDep, field_id: int, module: ModuleParam) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, "fields", Access.READ)
        found = module_or_error(tx, module)
        f = field_service.get_field(found, field_id)
        return responses.ok(
            {"fields": [field_json(tx, found, f)]}, headers={"ETag": etag(f.version)}
        )


@router.post(
    "/crm/v8/settings/fields",
    responses=openapi.batch("fields", 201),
    status_code=201,
    summary="Create custom fields",
    openapi_extra=envelope_doc("fields", 10),
)
async def create_fields(caller: CallerDep, request: Request, module: ModuleParam) -> Response:
    items = envelope_list(await json_body(request), "fields", 10)
    with caller.write() as (tx, actor):
        _scope(actor, "fields", Access.CREATE)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            target = module_or_error(tx, module)
            created = field_service.create_field(tx, actor, target, index, item)
            return "field created", {"id": str(created.id), "api_name": created.api_name}

        module_or_error(tx, module)
        results = run_items(tx, items, handle)
    return batch_response("fields", results, 201)


@router.patch(
    "/crm/v8/settings/fields",
    responses=openapi.batch("fields"),
    summary="Update fields (each item with its id)",
    openapi_extra=envelope_doc("fields", 100),
)
@router.put(
    "/crm/v8/settings/fields",
    responses=openapi.batch("fields"),
    summary="Update fields (each item with its id)",
    openapi_extra=envelope_doc("fields", 100),
)
async def update_fields(caller: CallerDep, request: Request, module: ModuleParam) -> Response:
    items = envelope_list(await json_body(request), "fields", 100)
    with caller.write() as (tx, actor):
        _scope(actor, "fields", Access.UPDATE)
        module_or_error(tx, module)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            raw = item.get("id")
            if not str(raw or "").isdigit():
                raise item_failure(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    api_name="id",
                    json_path=f"$.fields[{index}].id",
                )
            target = module_or_error(tx, module)
            if not any(f.id == int(raw) for f in target.fields):
                raise item_failure(
                    "INVALID_DATA",
                    "the id given seems to be invalid",
                    api_name="id",
                    json_path=f"$.fields[{index}].id",
                )
            field_service.update_field(tx, actor, target, int(raw), item, None, index)
            return "field updated", {"id": str(raw)}

        results = run_items(tx, items, handle)
    return batch_response("fields", results, 200)


# The Zoho SDK updates fields with PATCH; PUT is kept for clients that use it.
@router.patch(
    "/crm/v8/settings/fields/{field_id}",
    responses=openapi.batch("fields"),
    summary="Update a field (label, picklists)",
    openapi_extra=envelope_doc("fields", 1),
)
@router.put(
    "/crm/v8/settings/fields/{field_id}",
    responses=openapi.batch("fields"),
    summary="Update a field (label, picklists)",
    openapi_extra=envelope_doc("fields", 1),
)
async def update_field(
    caller: CallerDep,
    request: Request,
    field_id: int,
    module: ModuleParam,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    items = envelope_list(await json_body(request), "fields", 1)
    with caller.write() as (tx, actor):
        _scope(actor, "fields", Access.UPDATE)
        target = module_or_error(tx, module)
        field_service.get_field(target, field_id)
        version = parse_if_match(if_match)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            field_service.update_field(tx, actor, target, field_id, item, version)
            return "field updated", {"id": str(field_id)}

        results = run_items(tx, items, handle)
    return batch_response("fields", results, 200)


def _layout_json(tx: Tx, module: Module, layout_id: int, name: str) -> dict[str, Any]:
    data_fields = [f for f in module.fields if not f.system]
    system_fields = [f for f in module.fields if f.system]
    return {
        "id": str(layout_id),
        "name": name,
        "display_label": name,
        "status": "active",
        "visible": True,
        "sections": [
            {
                "display_label": f"{module.singular_label} Information",
                "sequence_number": 1,
                "api_name": f"{module.singular_label} Information",
                "column_count": 2,
                "fields": [field_json(tx, module, f) for f in data_fields],
            },
            {
                "display_label": "System Information",
                "sequence_number": 2,
                "api_name": "System Information",
                "column_count": 2,
                "fields": [field_json(tx, module, f) for f in system_fields],
            },
        ],
        "profiles": [
            {"id": str(p.id), "name": p.name, "default": True}
            for p in tx.state.directory.profiles.values()
        ],
        "created_by": None,
        "created_time": when(tx.state.org.created_time, tx.state.org.time_zone),
        "modified_by": user_ref(tx.state.directory, None),
    }


@router.get(
    "/crm/v8/settings/layouts",
    responses=openapi.found("layouts"),
    summary="List the layouts of a module",
)
def list_layouts(caller: CallerDep, module: ModuleParam) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, "layouts", Access.READ)
        found = module_or_error(tx, module)
        layouts = metadata_repo.layout_ids(tx.conn).get(found.id, [])
        return responses.ok({"layouts": [_layout_json(tx, found, i, n) for i, n in layouts]})


@router.get(
    "/crm/v8/settings/layouts/{layout_id}",
    responses=openapi.found("layouts"),
    summary="Get a layout",
)
def get_layout(caller: CallerDep, layout_id: int, module: ModuleParam) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, "layouts", Access.READ)
        found = module_or_error(tx, module)
        layouts = dict(metadata_repo.layout_ids(tx.conn).get(found.id, []))
        if layout_id not in layouts:
            return responses.error("INVALID_DATA", "the id given seems to be invalid", {})
        return responses.ok({"layouts": [_layout_json(tx, found, layout_id, layouts[layout_id])]})


def _related_json(tx: Tx, parent: Module, index: int, rl: Any) -> dict[str, Any]:
    return {
        "id": str(rl.lookup.id),
        "api_name": rl.api_name,
        "name": rl.api_name,
        "display_label": rl.child.plural_label,
        "module": {"api_name": rl.child.api_name, "id": str(rl.child.id)},
        "href": f"{parent.api_name}/{{ENTITYID}}/{rl.api_name}",
        "type": "default",
        "action": None,
        "sequence_number": str(index + 1),
        "visible": True,
        "connectedmodule": None,
        "linkingmodule": None,
    }


@router.get(
    "/crm/v8/settings/related_lists",
    responses=openapi.found("related_lists"),
    summary="Related lists of a module",
)
def list_related_lists(caller: CallerDep, module: ModuleParam) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, "related_lists", Access.READ)
        parent = module_or_error(tx, module)
        return responses.ok(
            {
                "related_lists": [
                    _related_json(tx, parent, i, rl)
                    for i, rl in enumerate(related_lists(tx, parent))
                ]
            }
        )
