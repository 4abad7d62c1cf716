"""Settings › Profiles: what each profile may do per module (a matrix of checkboxes) and which
settings it manages; cloning a profile, and deleting one with its users moved to another."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from secteur.domain.directory import ADMIN_PERMISSIONS, Operation, Profile, UserStatus
from secteur.services import profiles as service
from secteur.services.errors import ItemFailure, ServiceError
from secteur.web.deps import Form, PageRoute, Viewer, read_form, viewer
from secteur.web.pages.settings import (
    Problems,
    admin_only,
    chrome,
    delete_with_transfer,
    id_of,
    problems_of,
    sentence,
)
from secteur.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

OPERATIONS = (Operation.VIEW, Operation.CREATE, Operation.EDIT, Operation.DELETE)


def _counts(v: Viewer) -> dict[int, int]:
    counts: dict[int, int] = {}
    for user in v.tx.state.directory.users.values():
        if user.status is not UserStatus.DELETED:
            counts[user.profile_id] = counts.get(user.profile_id, 0) + 1
    return counts


def _sorted(v: Viewer) -> list[Profile]:
    profiles = v.tx.state.directory.profiles.values()
    return sorted(profiles, key=lambda p: (not p.admin, p.custom, p.name.casefold()))


@router.get("/settings/profiles")
def profiles_page(request: Request) -> Response:
    with viewer(request) as v:
        admin_only(v)
        return page(
            request,
            "settings/profiles.html",
            {
                **chrome(v, "profiles"),
                "profiles": _sorted(v),
                "counts": _counts(v),
                "saved": request.query_params.get("saved"),
            },
        )


def _matrix(v: Viewer, profile: Profile, form: Form | None) -> list[dict[str, Any]]:
    """One row per module: its checkboxes, as stored or as just posted."""
    rows = []
    for module in v.tx.state.modules:
        access = profile.module_access(module.api_name)
        cells = []
        for op in OPERATIONS:
            name = service.permission_name(module.api_name, op)
            checked = form.has(name) if form is not None else access.allows(op)
            cells.append({"name": name, "operation": op.value, "checked": checked})
        rows.append({"module": module, "cells": cells})
    return rows


def _permissions(profile: Profile, form: Form | None) -> list[dict[str, Any]]:
    return [
        {
            "name": p,
            "label": p.replace("_", " ").capitalize(),
            "checked": form.has(p) if form is not None else profile.may(p),
        }
        for p in ADMIN_PERMISSIONS
    ]


def _profile_page(
    request: Request,
    v: Viewer,
    profile: Profile,
    *,
    form: Form | None = None,
    problems: Problems | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        "settings/profile.html",
        {
            **chrome(v, "profiles"),
            "profile": profile,
            "matrix": _matrix(v, profile, form),
            "operations": [op.value for op in OPERATIONS],
            "permissions": _permissions(profile, form),
            "users": _counts(v).get(profile.id, 0),
            "description": form.get("description") if form is not None else profile.description,
            "problems": problems or Problems(),
            "saved": request.query_params.get("saved"),
        },
        status,
    )


@router.get("/settings/profiles/{profile_id}")
def profile_page(request: Request, profile_id: str) -> Response:
    with viewer(request) as v:
        admin_only(v)
        return _profile_page(request, v, service.get_profile(v.tx, id_of(profile_id)))


def permissions_item(v: Viewer, form: Form) -> list[dict[str, Any]]:
    """`permissions_details` as the API takes them: every checkbox, on or off."""
    details = [
        {"name": service.permission_name(m.api_name, op), "enabled": False}
        for m in v.tx.state.modules
        for op in OPERATIONS
    ]
    details += [{"name": p, "enabled": False} for p in ADMIN_PERMISSIONS]
    for entry in details:
        entry["enabled"] = form.has(str(entry["name"]))
    return details


@router.post("/settings/profiles/{profile_id}")
async def update_profile(request: Request, profile_id: str) -> Response:
    form = await read_form(request)

    def save() -> Response:
        with viewer(request, write=True, form=form) as v:
            admin_only(v)
            profile = service.get_profile(v.tx, id_of(profile_id))
            description = form.get("description").strip()
            item = {
                "description": description or None,
                "permissions_details": permissions_item(v, form),
            }
            version = form.get("version")
            try:
                with v.tx.conn.begin_nested():
                    service.update_profile(
                        v.tx, v.actor, profile.id, item, int(version) if version.isdigit() else None
                    )
            except ServiceError as exc:
                if exc.status not in (400, 409):
                    raise
                message = sentence(exc.message)
                if exc.code == "CONFLICT":
                    message += " Reload the page to see the changes, then edit again."
                return _profile_page(
                    request,
                    v,
                    profile,
                    form=form,
                    problems=Problems(general=[message]),
                    status=exc.status,
                )
            return RedirectResponse(f"/settings/profiles/{profile.id}?saved=1", 303)

    return await run_in_threadpool(save)


# --- clone and delete -------------------------------------------------------------------------


def _clone_page(
    request: Request,
    v: Viewer,
    source: Profile,
    values: dict[str, str],
    problems: Problems,
    status: int = 200,
) -> Response:
    return page(
        request,
        "settings/profile_clone.html",
        {**chrome(v, "profiles"), "source": source, "values": values, "problems": problems},
        status,
    )


@router.get("/settings/profiles/{profile_id}/clone")
def clone_form(request: Request, profile_id: str) -> Response:
    with viewer(request) as v:
        admin_only(v)
        source = service.get_profile(v.tx, id_of(profile_id))
        values = {"name": f"{source.name} copy", "description": source.description or ""}
        return _clone_page(request, v, source, values, Problems())


@router.post("/settings/profiles/{profile_id}/clone")
async def clone(request: Request, profile_id: str) -> Response:
    form = await read_form(request)

    def save() -> Response:
        with viewer(request, write=True, form=form) as v:
            admin_only(v)
            source = service.get_profile(v.tx, id_of(profile_id))
            values = {"name": form.get("name"), "description": form.get("description")}
            item = {"name": values["name"], "description": values["description"].strip() or None}
            try:
                with v.tx.conn.begin_nested():
                    new_id = service.clone_profile(v.tx, v.actor, source.id, item)
            except ItemFailure as exc:
                problems = problems_of(exc, ("name", "description"))
                return _clone_page(request, v, source, values, problems, 400)
            return RedirectResponse(f"/settings/profiles/{new_id}?saved=cloned", 303)

    return await run_in_threadpool(save)


def _delete_page(
    request: Request, v: Viewer, profile: Profile, problem: str | None, status: int = 200
) -> Response:
    return page(
        request,
        "settings/profile_delete.html",
        {
            **chrome(v, "profiles"),
            "profile": profile,
            "targets": [p for p in _sorted(v) if p.id != profile.id],
            "users": _counts(v).get(profile.id, 0),
            "problem": problem,
        },
        status,
    )


@router.get("/settings/profiles/{profile_id}/delete")
def delete_confirm(request: Request, profile_id: str) -> Response:
    with viewer(request) as v:
        admin_only(v)
        profile = service.get_profile(v.tx, id_of(profile_id))
        return _delete_page(request, v, profile, None)


@router.post("/settings/profiles/{profile_id}/delete")
async def delete(request: Request, profile_id: str) -> Response:
    form = await read_form(request)

    def remove() -> Response:
        with viewer(request, write=True, form=form) as v:
            admin_only(v)
            profile = service.get_profile(v.tx, id_of(profile_id))
            return delete_with_transfer(
                v,
                form.get("transfer_to"),
                lambda to: service.delete_profile(v.tx, v.actor, profile.id, to),
                lambda problem: _delete_page(request, v, profile, problem, 400),
                "/settings/profiles?saved=deleted",
            )

    return await run_in_threadpool(remove)
