"""`/crm/v8/settings/roles` — the role hierarchy (reference OAS roles.json)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from secteur.api import openapi, responses
from secteur.api.batch import batch_response, run_items
from secteur.api.body import envelope_doc, envelope_list, json_body
from secteur.api.deps import CallerDep, require_scope
from secteur.api.wire import etag, parse_if_match
from secteur.domain.directory import Directory, Role
from secteur.domain.scopes import Access, Category
from secteur.services import roles as service
from secteur.services.errors import item_failure

router = APIRouter(tags=["Roles"], responses=openapi.ERRORS)
MAX_ROLES_PER_CALL = 100


def role_json(directory: Directory, role: Role) -> dict[str, Any]:
    parent = directory.roles.roles.get(role.reporting_to) if role.reporting_to else None
    return {
        "id": str(role.id),
        "name": role.name,
        "display_label": role.name,
        "reporting_to": {"id": str(parent.id), "name": parent.name} if parent else None,
        "share_with_peers": role.share_with_peers,
        "description": role.description,
        "admin_user": parent is None,
        "$version": role.version,
    }


def _scope(actor: Any, access: Access) -> None:
    require_scope(actor, Category.SETTINGS, "roles", access)


@router.get("/crm/v8/settings/roles", responses=openapi.found("roles"), summary="List roles")
def list_roles(caller: CallerDep) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, Access.READ)
        directory = tx.state.directory
        roles = sorted(directory.roles.roles.values(), key=lambda r: r.id)
        return responses.ok({"roles": [role_json(directory, r) for r in roles]})


@router.get(
    "/crm/v8/settings/roles/{role_id}", responses=openapi.found("roles"), summary="Get a role"
)
def get_role(caller: CallerDep, role_id: int) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, Access.READ)
        role = service.get_role(tx, role_id)
        return responses.ok(
            {"roles": [role_json(tx.state.directory, role)]}, headers={"ETag": etag(role.version)}
        )


@router.post(
    "/crm/v8/settings/roles",
    responses=openapi.batch("roles", 201),
    status_code=201,
    summary="Create roles",
    openapi_extra=envelope_doc("roles", MAX_ROLES_PER_CALL),
)
async def create_roles(caller: CallerDep, request: Request) -> Response:
    items = envelope_list(await json_body(request), "roles", MAX_ROLES_PER_CALL)
    with caller.write() as (tx, actor):
        _scope(actor, Access.CREATE)
        results = run_items(
            tx,
            items,
            lambda index, item: (
                "Role added",
                {"id": str(service.create_role(tx, actor, index, item))},
            ),
        )
    return batch_response("roles", results, 201)


@router.put(
    "/crm/v8/settings/roles",
    responses=openapi.batch("roles"),
    summary="Update roles",
    openapi_extra=envelope_doc("roles", MAX_ROLES_PER_CALL),
)
async def update_roles(caller: CallerDep, request: Request) -> Response:
    items = envelope_list(await json_body(request), "roles", MAX_ROLES_PER_CALL)
    with caller.write() as (tx, actor):
        _scope(actor, Access.UPDATE)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            raw = item.get("id")
            if not str(raw or "").isdigit():
                raise item_failure(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    api_name="id",
                    json_path=f"$.roles[{index}].id",
                )
            service.update_role(tx, actor, int(raw), index, item)
            return "Role updated", {"id": str(raw)}

        results = run_items(tx, items, handle)
    return batch_response("roles", results, 200)


@router.put(
    "/crm/v8/settings/roles/{role_id}",
    responses=openapi.batch("roles"),
    summary="Update a role",
    openapi_extra=envelope_doc("roles", 1),
)
async def update_role(
    caller: CallerDep,
    request: Request,
    role_id: int,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    items = envelope_list(await json_body(request), "roles", 1)
    with caller.write() as (tx, actor):
        _scope(actor, Access.UPDATE)
        service.get_role(tx, role_id)
        version = parse_if_match(if_match)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            service.update_role(tx, actor, role_id, index, item, version)
            return "Role updated", {"id": str(role_id)}

        results = run_items(tx, items, handle)
    return batch_response("roles", results, 200)


@router.delete(
    "/crm/v8/settings/roles/{role_id}",
    responses=openapi.deleted("roles"),
    summary="Delete a role, transferring its users",
)
def delete_role(
    caller: CallerDep, role_id: int, transfer_to_id: Annotated[int | None, Query()] = None
) -> Response:
    with caller.write() as (tx, actor):
        _scope(actor, Access.DELETE)
        service.delete_role(tx, actor, role_id, transfer_to_id)
    return responses.ok({"roles": [responses.success_item("Role deleted", {"id": str(role_id)})]})
