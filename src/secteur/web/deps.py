"""Who is looking at a page: the session cookie, CSRF, and the route class that turns
service errors into error pages instead of Zoho JSON."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from secteur.domain.actor import Actor, actor_for
from secteur.domain.directory import Operation
from secteur.domain.org import OrgType
from secteur.services import sessions
from secteur.services.app import Secteur, Tx
from secteur.services.errors import NoPermission, NotFound, ServiceError
from secteur.web.render import page

COOKIE = "secteur_session"
SECURE_COOKIE = "__Host-secteur_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(Exception):
    """No live session: the page sends the browser to the sign-in page."""


class CsrfRefused(Exception):
    """A form came without this session's CSRF token (a forged or stale form)."""


def app_of(request: Request) -> Secteur:
    instance: Secteur = request.app.state.secteur
    return instance


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https" or app_of(request).settings.cookie_secure


def cookie_name(request: Request) -> str:
    # `__Host-` cookies are only accepted over HTTPS, host-only, path `/`: not settable by a
    # sibling subdomain.
    return SECURE_COOKIE if is_secure(request) else COOKIE


def session_token(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request)) or None


def set_session_cookie(request: Request, response: Response, new: sessions.NewSession) -> None:
    max_age = app_of(request).settings.session_max_hours * 3600
    response.set_cookie(
        cookie_name(request),
        new.token,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=is_secure(request),
        samesite="lax",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        cookie_name(request), path="/", httponly=True, secure=is_secure(request), samesite="lax"
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class Form:
    """A posted form (application/x-www-form-urlencoded): first value and all values by name."""

    pairs: tuple[tuple[str, str], ...]

    def get(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.pairs if k == name), default)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self.pairs)


async def read_form(request: Request) -> Form:
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    return Form(tuple(parse_qsl(text, keep_blank_values=True, max_num_fields=2000)))


@dataclass(frozen=True)
class Viewer:
    """A signed-in person inside one transaction."""

    tx: Tx
    actor: Actor
    session: sessions.Session

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    def chrome(self, active: str = "") -> dict[str, Any]:
        """What every page's frame shows: navigation, the user, the sandbox banner."""
        state = self.tx.state
        modules = [
            m
            for m in state.modules
            if m.api_name in ("Leads", "Accounts", "Contacts", "Deals")
            and self.actor.may(m.api_name, Operation.VIEW)
        ]
        return {
            "viewer": self.actor.user,
            "admin": self.actor.admin,
            "org": state.org,
            "sandbox": state.org.type is OrgType.SANDBOX,
            "nav_modules": modules,
            "active": active,
            "csrf": self.csrf,
            "territories_on": state.territory.active,
        }


@contextmanager
def viewer(request: Request, *, write: bool = False, form: Form | None = None) -> Iterator[Viewer]:
    """The signed-in viewer; with `form`, the form's CSRF token must be the session's."""
    token = session_token(request)
    if token is None:
        raise SignInRequired
    app = app_of(request)
    with app.write() if write else app.read() as tx:
        session = sessions.current(tx, token)
        if session is None:
            raise SignInRequired
        actor = actor_for(tx.state.directory, session.user_id, source="web")
        if actor is None:
            raise SignInRequired
        if form is not None or request.method not in ("GET", "HEAD"):
            given = request.headers.get(CSRF_HEADER) or (form.get(CSRF_FIELD) if form else None)
            if not sessions.csrf_matches(session, given):
                raise CsrfRefused
        yield Viewer(tx, actor, session)


def login_redirect(request: Request) -> Response:
    hx = bool(request.headers.get("hx-request"))
    # An htmx request fetches a fragment (a count, a filter row): after signing in, return to
    # the page that asked for it, not to the fragment.
    shown = urlsplit(request.headers.get("hx-current-url", "") if hx else str(request.url))
    if shown.netloc != request.url.netloc:
        shown = urlsplit("/")
    target = (shown.path or "/") + (f"?{shown.query}" if shown.query else "")
    location = "/login" if target in ("/", "/logout") else f"/login?next={quote(target)}"
    if hx:
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def org_is_sandbox(request: Request) -> bool:
    """For pages outside a session (sign-in, errors): they too say when the org is a sandbox."""
    try:
        with app_of(request).read() as tx:
            return tx.state.org.type is OrgType.SANDBOX
    except Exception:  # an error page must render even when the database does not answer
        return False


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    context = {
        "status": status,
        "title": title,
        "message": message,
        "sandbox": org_is_sandbox(request),
    }
    return page(request, "error.html", context, status)


def _page_for(request: Request, exc: Exception) -> Response | None:
    if isinstance(exc, SignInRequired):
        return login_redirect(request)
    if isinstance(exc, CsrfRefused):
        return error_page(
            request,
            403,
            "This form has expired",
            "The page was open for too long or came from another site. Go back, reload the "
            "page and try again.",
        )
    if isinstance(exc, NotFound) or (isinstance(exc, ServiceError) and exc.status == 404):
        return error_page(
            request, 404, "Not found", "This page does not exist, or you may not see it."
        )
    if isinstance(exc, NoPermission) or (isinstance(exc, ServiceError) and exc.status == 403):
        return error_page(
            request, 403, "Not allowed", "Your profile does not allow this. Ask an administrator."
        )
    if isinstance(exc, ServiceError):
        return error_page(request, exc.status, "That did not work", exc.message)
    return None


class PageRoute(APIRoute):
    """Routes of the web UI: errors become pages (or a redirect to sign in), never JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                response = _page_for(request, exc)
                if response is None:
                    raise
                return response

        return guarded


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path of this site, never another origin."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
