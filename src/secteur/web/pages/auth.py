"""Signing in and out, and setting a password from a one-time link."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from secteur.services import sessions
from secteur.services.errors import ServiceError
from secteur.web.deps import (
    CSRF_FIELD,
    PageRoute,
    app_of,
    clear_session_cookie,
    client_address,
    is_secure,
    org_is_sandbox,
    read_form,
    safe_next,
    session_token,
    set_session_cookie,
    viewer,
)
from secteur.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)


# Before a session exists, the sign-in form is protected by a double-submit token: a random
# value in a cookie that another site can neither read nor set, repeated in the form.
LOGIN_CSRF_COOKIE = "secteur_login_csrf"


def _login_page(
    request: Request, *, email: str = "", error: str | None = None, status: int = 200
) -> Response:
    target = safe_next(request.query_params.get("next"))
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        {
            "email": email,
            "error": error,
            "next": target,
            "csrf": csrf,
            "demo": app_of(request).settings.demo,
            "signed_out": request.query_params.get("signed_out") == "1",
            "asked": bool(request.query_params.get("next")),
            "sandbox": org_is_sandbox(request),
        },
        status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=is_secure(request)
    )
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    token = session_token(request)
    if token is not None:
        with app_of(request).read() as tx:
            if sessions.current(tx, token) is not None:
                return RedirectResponse(safe_next(request.query_params.get("next")), 303)
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    email, password = form.get("email").strip(), form.get("password")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or not hmac.compare_digest(expected, form.get(CSRF_FIELD)):
        return _login_page(
            request, email=email, error="The sign-in form expired. Please try again.", status=403
        )
    client = client_address(request)
    app = app_of(request)

    def attempt() -> sessions.NewSession | str:
        try:
            with app.write() as tx:
                return sessions.sign_in(tx, email, password, client)
        except sessions.SignInRefused as refused:
            # Recorded in a transaction of its own: the refused one wrote nothing.
            with app.write() as tx:
                sessions.record_failure(tx, email, client)
            return str(refused)

    outcome = await run_in_threadpool(attempt)
    if isinstance(outcome, str):
        return _login_page(request, email=email, error=outcome, status=401)
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    set_session_cookie(request, response, outcome)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await read_form(request)

    def end() -> None:
        with viewer(request, write=True, form=form) as v:
            token = session_token(request)
            assert token is not None
            sessions.sign_out(v.tx, token)

    await run_in_threadpool(end)
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    clear_session_cookie(request, response)
    return response


@router.get("/set-password")
def set_password_form(request: Request, token: Annotated[str, Query(max_length=200)]) -> Response:
    with app_of(request).read() as tx:
        user_id = sessions.password_link_user(tx, token)
        user = tx.state.directory.users.get(user_id) if user_id is not None else None
    return page(
        request,
        "set_password.html",
        {"token": token, "user": user, "error": None, "sandbox": org_is_sandbox(request)},
        200 if user else 410,
    )


@router.post("/set-password")
async def set_password(request: Request) -> Response:
    form = await read_form(request)
    token, password = form.get("token"), form.get("password")
    app = app_of(request)

    def apply() -> sessions.NewSession | str:
        if password != form.get("confirm"):
            return "The two passwords are not the same."
        try:
            with app.write() as tx:
                return sessions.use_password_link(tx, token, password)
        except ServiceError as exc:
            return exc.message[0].upper() + exc.message[1:] + "."

    outcome = await run_in_threadpool(apply)
    if isinstance(outcome, str):
        with app.read() as tx:
            user_id = sessions.password_link_user(tx, token)
            user = tx.state.directory.users.get(user_id) if user_id is not None else None
        return page(
            request,
            "set_password.html",
            {"token": token, "user": user, "error": outcome, "sandbox": org_is_sandbox(request)},
            400 if user else 410,
        )
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(request, response, outcome)
    return response
