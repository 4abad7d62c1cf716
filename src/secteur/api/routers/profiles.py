"""`/crm/v8/settings/profiles` — list, get, clone, update permissions, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from secteur.api import openapi, responses
from secteur.api.batch import batch_response, run_items
from secteur.api.body import envelope_doc, envelope_list, json_body
from secteur.api.deps import CallerDep, require_scope
from secteur.api.wire import etag, parse_if_match
from secteur.domain.directory import Profile
from secteur.domain.scopes import Access, Category
from secteur.services import profiles as service
from secteur.services.app import Tx

router = APIRouter(tags=["Profiles"], responses=openapi.ERRORS)


def profile_json(tx: Tx, profile: Profile, *, details: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(profile.id),
        "name": profile.name,
        "display_label": profile.name,
        "description": profile.description,
        "custom": profile.custom,
        "default": profile.name == "Standard",
        "$version": profile.version,
    }
    if details:
        body["permissions_details"] = service.permission_details(
            profile, [m.api_name for m in tx.state.modules]
        )
    return body


def _scope(actor: Any, access: Access) -> None:
    require_scope(actor, Category.SETTINGS, "profiles", access)


@router.get(
    "/crm/v8/settings/profiles", responses=openapi.listing("profiles"), summary="List profiles"
)
def list_profiles(caller: CallerDep) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, Access.READ)
        profiles = sorted(tx.state.directory.profiles.values(), key=lambda p: p.id)
        return responses.ok(
            {
                "profiles": [profile_json(tx, p, details=False) for p in profiles],
                "info": {"per_page": 200, "count": len(profiles), "page": 1, "more_records": False},
            }
        )


@router.get(
    "/crm/v8/settings/profiles/{profile_id}",
    responses=openapi.found("profiles"),
    summary="Get a profile with its permissions",
)
def get_profile(caller: CallerDep, profile_id: int) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, Access.READ)
        profile = service.get_profile(tx, profile_id)
        return responses.ok(
            {"profiles": [profile_json(tx, profile, details=True)]},
            headers={"ETag": etag(profile.version)},
        )


@router.post(
    "/crm/v8/settings/profiles/{profile_id}/actions/clone",
    responses=openapi.batch("profiles", 201),
    status_code=201,
    summary="Clone a profile",
    openapi_extra=envelope_doc("profiles", 1),
)
async def clone_profile(caller: CallerDep, request: Request, profile_id: int) -> Response:
    items = envelope_list(await json_body(request), "profiles", 1)
    with caller.write() as (tx, actor):
        _scope(actor, Access.CREATE)
        results = run_items(
            tx,
            items,
            lambda index, item: (
                "profile cloned",
                {"id": str(service.clone_profile(tx, actor, profile_id, item))},
            ),
        )
    return batch_response("profiles", results, 201)


@router.put(
    "/crm/v8/settings/profiles/{profile_id}",
    responses=openapi.batch("profiles"),
    summary="Update a profile (partial)",
    openapi_extra=envelope_doc("profiles", 1),
)
async def update_profile(
    caller: CallerDep,
    request: Request,
    profile_id: int,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    items = envelope_list(await json_body(request), "profiles", 1)
    with caller.write() as (tx, actor):
        _scope(actor, Access.UPDATE)
        service.get_profile(tx, profile_id)
        version = parse_if_match(if_match)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            service.update_profile(tx, actor, profile_id, item, version)
            return "profile updated successfully", {"id": str(profile_id)}

        results = run_items(tx, items, handle)
    return batch_response("profiles", results, 200)


@router.delete(
    "/crm/v8/settings/profiles/{profile_id}",
    responses=openapi.deleted("profiles"),
    summary="Delete a custom profile",
)
def delete_profile(
    caller: CallerDep, profile_id: int, transfer_to: Annotated[int | None, Query()] = None
) -> Response:
    with caller.write() as (tx, actor):
        _scope(actor, Access.DELETE)
        service.delete_profile(tx, actor, profile_id, transfer_to)
    return responses.ok(
        {"profiles": [responses.success_item("profile deleted", {"id": str(profile_id)})]}
    )
