"""Settings › Roles: the hierarchy as a tree, a role's form (name, reports to, sharing with
peers, description) and deleting a role with its users and sub-roles moved to another."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from secteur.domain.directory import Role, RoleTree, UserStatus
from secteur.services import roles as service
from secteur.services.errors import ItemFailure, ServiceError
from secteur.web.deps import Form, PageRoute, Viewer, read_form, viewer
from secteur.web.pages.settings import (
    Problems,
    admin_only,
    chrome,
    delete_with_transfer,
    id_of,
    optional_id,
    problems_of,
    sentence,
)
from secteur.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

INPUTS = ("name", "reporting_to", "share_with_peers", "description")


@dataclass(frozen=True)
class Node:
    role: Role
    users: int
    children: list[Node]


def _tree(roles: RoleTree, counts: dict[int, int]) -> list[Node]:
    def node(role_id: int) -> Node:
        role = roles.roles[role_id]
        kids = sorted(roles.children.get(role_id, ()), key=lambda r: roles.roles[r].name.casefold())
        return Node(role, counts.get(role_id, 0), [node(k) for k in kids])

    return [node(roles.root.id)] if roles.root is not None else []


def _counts(v: Viewer) -> dict[int, int]:
    counts: dict[int, int] = {}
    for user in v.tx.state.directory.users.values():
        if user.status is not UserStatus.DELETED:
            counts[user.role_id] = counts.get(user.role_id, 0) + 1
    return counts


def _outline(roles: RoleTree, excluded: set[int]) -> list[tuple[Role, int]]:
    """Roles in tree order with their depth, for a select that shows the hierarchy."""
    out: list[tuple[Role, int]] = []

    def walk(role_id: int, depth: int) -> None:
        if role_id in excluded:
            return
        out.append((roles.roles[role_id], depth))
        for kid in sorted(
            roles.children.get(role_id, ()), key=lambda r: roles.roles[r].name.casefold()
        ):
            walk(kid, depth + 1)

    if roles.root is not None:
        walk(roles.root.id, 0)
    return out


@router.get("/settings/roles")
def roles_page(request: Request) -> Response:
    with viewer(request) as v:
        admin_only(v)
        roles = v.tx.state.directory.roles
        return page(
            request,
            "settings/roles.html",
            {
                **chrome(v, "roles"),
                "tree": _tree(roles, _counts(v)),
                "total": len(roles.roles),
                "saved": request.query_params.get("saved"),
            },
        )


def _form_page(
    request: Request,
    v: Viewer,
    *,
    role: Role | None,
    values: dict[str, str],
    problems: Problems,
    status: int = 200,
) -> Response:
    roles = v.tx.state.directory.roles
    excluded = {role.id, *roles.descendants(role.id)} if role is not None else set()
    return page(
        request,
        "settings/role_form.html",
        {
            **chrome(v, "roles"),
            "role": role,
            "is_root": role is not None and role.reporting_to is None,
            "parents": _outline(roles, excluded),
            "values": values,
            "problems": problems,
            "users": _counts(v).get(role.id, 0) if role is not None else 0,
        },
        status,
    )


def _posted(form: Form) -> dict[str, str]:
    return {
        "name": form.get("name"),
        "reporting_to": form.get("reporting_to"),
        "share_with_peers": "1" if form.get("share_with_peers") == "1" else "",
        "description": form.get("description"),
    }


def _item(values: dict[str, str], *, root: bool) -> dict[str, Any]:
    description = values["description"].strip()
    item: dict[str, Any] = {
        "name": values["name"],
        "share_with_peers": values["share_with_peers"] == "1",
        "description": description or None,
    }
    if not root:
        parent = optional_id(values["reporting_to"])
        item["reporting_to"] = {"id": str(parent)} if parent is not None else None
    return item


@router.get("/settings/roles/new")
def new_role_form(request: Request) -> Response:
    with viewer(request) as v:
        admin_only(v)
        roles = v.tx.state.directory.roles
        parent = optional_id(request.query_params.get("parent", ""))
        if parent not in roles.roles:
            parent = roles.root.id if roles.root is not None else None
        values = {name: "" for name in INPUTS}
        values["reporting_to"] = str(parent or "")
        return _form_page(request, v, role=None, values=values, problems=Problems())


@router.post("/settings/roles/new")
async def create_role(request: Request) -> Response:
    form = await read_form(request)

    def save() -> Response:
        with viewer(request, write=True, form=form) as v:
            admin_only(v)
            values = _posted(form)
            try:
                with v.tx.conn.begin_nested():
                    service.create_role(v.tx, v.actor, 0, _item(values, root=False))
            except ItemFailure as exc:
                problems = problems_of(exc, INPUTS)
                return _form_page(
                    request, v, role=None, values=values, problems=problems, status=400
                )
            return RedirectResponse("/settings/roles?saved=created", 303)

    return await run_in_threadpool(save)


@router.get("/settings/roles/{role_id}")
def edit_role_form(request: Request, role_id: str) -> Response:
    with viewer(request) as v:
        admin_only(v)
        role = service.get_role(v.tx, id_of(role_id))
        values = {
            "name": role.name,
            "reporting_to": str(role.reporting_to or ""),
            "share_with_peers": "1" if role.share_with_peers else "",
            "description": role.description or "",
        }
        return _form_page(request, v, role=role, values=values, problems=Problems())


@router.post("/settings/roles/{role_id}")
async def update_role(request: Request, role_id: str) -> Response:
    form = await read_form(request)

    def save() -> Response:
        with viewer(request, write=True, form=form) as v:
            admin_only(v)
            role = service.get_role(v.tx, id_of(role_id))
            values = _posted(form)
            version = form.get("version")
            try:
                with v.tx.conn.begin_nested():
                    service.update_role(
                        v.tx,
                        v.actor,
                        role.id,
                        0,
                        _item(values, root=role.reporting_to is None),
                        int(version) if version.isdigit() else None,
                    )
            except ServiceError as exc:
                if not isinstance(exc, ItemFailure) and exc.code != "CONFLICT":
                    raise
                problems = (
                    Problems(general=[sentence(exc.message) + " Reload the page and try again."])
                    if exc.code == "CONFLICT"
                    else problems_of(exc, INPUTS)
                )
                return _form_page(
                    request,
                    v,
                    role=role,
                    values=values,
                    problems=problems,
                    status=409 if exc.code == "CONFLICT" else 400,
                )
            return RedirectResponse("/settings/roles?saved=updated", 303)

    return await run_in_threadpool(save)


def _delete_page(
    request: Request, v: Viewer, role: Role, problem: str | None, status: int = 200
) -> Response:
    roles = v.tx.state.directory.roles
    excluded = {role.id, *roles.descendants(role.id)}
    return page(
        request,
        "settings/role_delete.html",
        {
            **chrome(v, "roles"),
            "role": role,
            "targets": _outline(roles, excluded),
            "users": _counts(v).get(role.id, 0),
            "sub_roles": [roles.roles[r] for r in roles.children.get(role.id, ())],
            "problem": problem,
        },
        status,
    )


@router.get("/settings/roles/{role_id}/delete")
def delete_role_confirm(request: Request, role_id: str) -> Response:
    with viewer(request) as v:
        admin_only(v)
        role = service.get_role(v.tx, id_of(role_id))
        return _delete_page(request, v, role, None)


@router.post("/settings/roles/{role_id}/delete")
async def delete_role(request: Request, role_id: str) -> Response:
    form = await read_form(request)

    def remove() -> Response:
        with viewer(request, write=True, form=form) as v:
            admin_only(v)
            role = service.get_role(v.tx, id_of(role_id))
            return delete_with_transfer(
                v,
                form.get("transfer_to"),
                lambda to: service.delete_role(v.tx, v.actor, role.id, to),
                lambda problem: _delete_page(request, v, role, problem, 400),
                "/settings/roles?saved=deleted",
            )

    return await run_in_threadpool(remove)
