"""Settings › Users: the people of the org, a form to add one, their role, profile and status,
and one-time set-password links (how a user created through the API or the CLI gets a password)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from secteur.domain.directory import User, UserStatus
from secteur.services import sessions
from secteur.services import users as service
from secteur.services.errors import ItemFailure, NotFound, ServiceError
from secteur.web.deps import Form, PageRoute, Viewer, read_form, viewer
from secteur.web.pages.settings import Problems, admin_only, chrome, id_of, problems_of
from secteur.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

INPUTS = ("first_name", "last_name", "email", "role", "profile", "status")
LINK_HOURS = int(sessions.PASSWORD_LINK_TTL.total_seconds() // 3600)


def _choices(v: Viewer) -> dict[str, Any]:
    directory = v.tx.state.directory
    return {
        "roles": sorted(directory.roles.roles.values(), key=lambda r: r.name.casefold()),
        "profiles": sorted(directory.profiles.values(), key=lambda p: p.name.casefold()),
    }


def _user(v: Viewer, text: str) -> User:
    user = service.get_user(v.tx, id_of(text))
    if user.status is UserStatus.DELETED:
        raise NotFound()
    return user


@router.get("/settings/users")
def users_page(request: Request) -> Response:
    with viewer(request) as v:
        admin_only(v)
        directory = v.tx.state.directory
        people = sorted(
            service.list_users(v.tx, v.actor, "AllUsers"),
            key=lambda u: (not u.active, u.full_name.casefold()),
        )
        return page(
            request,
            "settings/users.html",
            {
                **chrome(v, "users"),
                "users": people,
                "role_names": {r.id: r.name for r in directory.roles.roles.values()},
                "profile_names": {p.id: p.name for p in directory.profiles.values()},
                "with_password": sessions.users_with_password(v.tx),
                "saved": request.query_params.get("saved"),
            },
        )


def _form_page(
    request: Request,
    v: Viewer,
    *,
    user: User | None,
    values: dict[str, str],
    problems: Problems,
    status: int = 200,
) -> Response:
    return page(
        request,
        "settings/user_form.html",
        {
            **chrome(v, "users"),
            **_choices(v),
            "user": user,
            "values": values,
            "problems": problems,
            "is_self": user is not None and user.id == v.actor.id,
            "has_password": user is not None and user.id in sessions.users_with_password(v.tx),
            "saved": request.query_params.get("saved"),
        },
        status,
    )


def _posted(form: Form) -> dict[str, str]:
    return {name: form.get(name).strip() for name in INPUTS}


@router.get("/settings/users/new")
def new_user_form(request: Request) -> Response:
    with viewer(request) as v:
        admin_only(v)
        directory = v.tx.state.directory
        standard = next((p for p in directory.profiles.values() if not p.admin), None)
        root = directory.roles.root
        values = {name: "" for name in INPUTS}
        values["profile"] = str(standard.id) if standard else ""
        values["role"] = str(root.id) if root else ""
        return _form_page(request, v, user=None, values=values, problems=Problems())


def _link_page(request: Request, v: Viewer, user: User, token: str, created: bool) -> Response:
    base = str(request.base_url).rstrip("/")
    return page(
        request,
        "settings/user_link.html",
        {
            **chrome(v, "users"),
            "user": user,
            "link": f"{base}/set-password?token={token}",
            "hours": LINK_HOURS,
            "created": created,
        },
    )


@router.post("/settings/users/new")
async def create_user(request: Request) -> Response:
    form = await read_form(request)

    def save() -> Response:
        with viewer(request, write=True, form=form) as v:
            admin_only(v)
            values = _posted(form)
            item = {
                "first_name": values["first_name"],
                "last_name": values["last_name"],
                "email": values["email"],
                "role": {"id": values["role"]},
                "profile": {"id": values["profile"]},
            }
            try:
                with v.tx.conn.begin_nested():
                    user_id = service.create_user(v.tx, v.actor, 0, item)
                    user = service.get_user(v.tx, user_id)
                    token = sessions.create_password_link(v.tx, user, v.actor.id)
            except ItemFailure as exc:
                return _form_page(
                    request,
                    v,
                    user=None,
                    values=values,
                    problems=problems_of(exc, INPUTS),
                    status=400,
                )
            return _link_page(request, v, user, token, created=True)

    return await run_in_threadpool(save)


@router.get("/settings/users/{user_id}")
def edit_user_form(request: Request, user_id: str) -> Response:
    with viewer(request) as v:
        admin_only(v)
        user = _user(v, user_id)
        values = {
            "first_name": user.first_name or "",
            "last_name": user.last_name,
            "email": user.email,
            "role": str(user.role_id),
            "profile": str(user.profile_id),
            "status": user.status.value,
        }
        return _form_page(request, v, user=user, values=values, problems=Problems())


@router.post("/settings/users/{user_id}")
async def update_user(request: Request, user_id: str) -> Response:
    form = await read_form(request)

    def save() -> Response:
        with viewer(request, write=True, form=form) as v:
            admin_only(v)
            user = _user(v, user_id)
            values = _posted(form)
            item: dict[str, Any] = {
                "first_name": values["first_name"],
                "last_name": values["last_name"],
                "email": values["email"],
                "role": {"id": values["role"]},
                "profile": {"id": values["profile"]},
            }
            if values["status"] and values["status"] != user.status.value:
                item["status"] = values["status"]
            version = form.get("version")
            try:
                with v.tx.conn.begin_nested():
                    service.update_user(
                        v.tx,
                        v.actor,
                        user.id,
                        0,
                        item,
                        int(version) if version.isdigit() else None,
                    )
            except ServiceError as exc:
                if not isinstance(exc, ItemFailure) and exc.code != "CONFLICT":
                    raise
                problems = (
                    Problems(
                        general=[
                            "Someone else changed this user since you opened the page. "
                            "Reload it to see their changes, then edit again."
                        ]
                    )
                    if exc.code == "CONFLICT"
                    else problems_of(exc, INPUTS)
                )
                return _form_page(
                    request,
                    v,
                    user=user,
                    values=values,
                    problems=problems,
                    status=409 if exc.code == "CONFLICT" else 400,
                )
            return RedirectResponse(f"/settings/users/{user.id}?saved=1", 303)

    return await run_in_threadpool(save)


@router.post("/settings/users/{user_id}/password-link")
async def new_password_link(request: Request, user_id: str) -> Response:
    form = await read_form(request)

    def make() -> Response:
        with viewer(request, write=True, form=form) as v:
            admin_only(v)
            user = _user(v, user_id)
            token = sessions.create_password_link(v.tx, user, v.actor.id)
            return _link_page(request, v, user, token, created=False)

    return await run_in_threadpool(make)
