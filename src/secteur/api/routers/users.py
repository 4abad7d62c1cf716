"""`/crm/v8/users` — list (incl. `type=CurrentUser`), get, create, update, delete, count."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from secteur.api import openapi, responses
from secteur.api.batch import batch_response, run_items
from secteur.api.body import envelope_doc, envelope_list, json_body
from secteur.api.deps import CallerDep, require_scope
from secteur.api.wire import etag, parse_if_match, user_ref
from secteur.domain.directory import Directory, User
from secteur.domain.scopes import Access, Category
from secteur.services import users as service
from secteur.services.errors import ServiceError, item_failure
from secteur.services.record_queries import check_paging

router = APIRouter(tags=["Users"], responses=openapi.ERRORS)
MAX_USERS_PER_CALL = 100


def user_json(directory: Directory, user: User, time_zone: str) -> dict[str, Any]:
    role = directory.roles.roles.get(user.role_id)
    profile = directory.profiles.get(user.profile_id)
    return {
        "id": str(user.id),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": user.full_name,
        "email": user.email,
        "status": user.status.value,
        "confirm": True,
        "role": {"name": role.name if role else None, "id": str(user.role_id)},
        "profile": {"name": profile.name if profile else None, "id": str(user.profile_id)},
        "Reporting_To": user_ref(directory, user.reporting_to, email=False),
        "time_zone": user.time_zone or time_zone,
        "$version": user.version,
    }


def _ids(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ServiceError("INVALID_DATA", "invalid ids", {"param_name": "ids"}) from None


@router.get("/crm/v8/users", responses=openapi.listing("users"), summary="List users")
def list_users(
    caller: CallerDep,
    type: Annotated[str | None, Query()] = None,
    page: Annotated[int, Query()] = 1,
    per_page: Annotated[int, Query()] = 200,
    ids: Annotated[str | None, Query()] = None,
) -> Response:
    check_paging(page, per_page)
    wanted = _ids(ids)
    with caller.read() as (tx, actor):
        require_scope(actor, Category.USERS, None, Access.READ)
        found = service.list_users(tx, actor, type)
        if wanted is not None:
            found = [u for u in found if u.id in wanted]
        start = (page - 1) * per_page
        chunk = found[start : start + per_page]
        if not chunk:
            return responses.no_content()
        zone = tx.state.org.time_zone
        return responses.ok(
            {
                "users": [user_json(tx.state.directory, u, zone) for u in chunk],
                "info": {
                    "per_page": per_page,
                    "count": len(chunk),
                    "page": page,
                    "more_records": start + per_page < len(found),
                },
            }
        )


@router.get(
    "/crm/v8/users/actions/count",
    responses=openapi.single("count", {"type": "integer"}),
    summary="Count users",
)
def count_users(caller: CallerDep, type: Annotated[str | None, Query()] = None) -> Response:
    with caller.read() as (tx, actor):
        require_scope(actor, Category.USERS, None, Access.READ)
        return responses.ok({"count": service.count_users(tx, actor, type)})


@router.get("/crm/v8/users/{user_id}", responses=openapi.found("users"), summary="Get a user")
def get_user(caller: CallerDep, user_id: int) -> Response:
    with caller.read() as (tx, actor):
        require_scope(actor, Category.USERS, None, Access.READ)
        user = service.get_user(tx, user_id)
        return responses.ok(
            {"users": [user_json(tx.state.directory, user, tx.state.org.time_zone)]},
            headers={"ETag": etag(user.version)},
        )


@router.post(
    "/crm/v8/users",
    responses=openapi.batch("users", 201),
    status_code=201,
    summary="Create users (active at once)",
    openapi_extra=envelope_doc("users", MAX_USERS_PER_CALL),
)
async def create_users(caller: CallerDep, request: Request) -> Response:
    items = envelope_list(await json_body(request), "users", MAX_USERS_PER_CALL)
    with caller.write() as (tx, actor):
        require_scope(actor, Category.USERS, None, Access.CREATE)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            return "User added", {"id": str(service.create_user(tx, actor, index, item))}

        results = run_items(tx, items, handle)
    return batch_response("users", results, 201)


@router.put(
    "/crm/v8/users",
    responses=openapi.batch("users"),
    summary="Update users",
    openapi_extra=envelope_doc("users", MAX_USERS_PER_CALL),
)
async def update_users(caller: CallerDep, request: Request) -> Response:
    items = envelope_list(await json_body(request), "users", MAX_USERS_PER_CALL)
    with caller.write() as (tx, actor):
        require_scope(actor, Category.USERS, None, Access.UPDATE)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            raw = item.get("id")
            if not str(raw or "").isdigit():
                raise item_failure(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    api_name="id",
                    json_path=f"$.users[{index}].id",
                )
            service.update_user(tx, actor, int(raw), index, item)
            return "User updated", {"id": str(raw)}

        results = run_items(tx, items, handle)
    return batch_response("users", results, 200)


@router.put(
    "/crm/v8/users/{user_id}",
    responses=openapi.batch("users"),
    summary="Update a user",
    openapi_extra=envelope_doc("users", 1),
)
async def update_user(
    caller: CallerDep,
    request: Request,
    user_id: int,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    items = envelope_list(await json_body(request), "users", 1)
    with caller.write() as (tx, actor):
        require_scope(actor, Category.USERS, None, Access.UPDATE)
        service.get_user(tx, user_id)
        version = parse_if_match(if_match)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            service.update_user(tx, actor, user_id, index, item, version)
            return "User updated", {"id": str(user_id)}

        results = run_items(tx, items, handle)
    return batch_response("users", results, 200)


@router.delete(
    "/crm/v8/users/{user_id}", responses=openapi.deleted("users"), summary="Delete a user"
)
def delete_user(caller: CallerDep, user_id: int) -> Response:
    with caller.write() as (tx, actor):
        require_scope(actor, Category.USERS, None, Access.DELETE)
        service.delete_user(tx, actor, user_id)
    return responses.ok({"users": [responses.success_item("User deleted", {"id": str(user_id)})]})
