"""The FastAPI application: Zoho-shaped errors everywhere, the routers, the body-size guard."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from secteur import __version__
from secteur.api import openapi, responses
from secteur.api.routers import (
    forecasts,
    metadata,
    oauth,
    org,
    profiles,
    records,
    roles,
    territories,
    users,
)
from secteur.services.app import Secteur
from secteur.services.errors import ServiceError
from secteur.web import app as web

log = logging.getLogger("secteur.api")


class BodyLimit:
    """Refuse bodies over the limit before reading them whole (declared or streamed size)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def guarded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, guarded, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = responses.error(
            "LIMIT_EXCEEDED", "the request body is too large", {"limit": self.limit}, 413
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ())]
    name = location[-1] if location else "param"
    if first.get("type") == "missing":
        return responses.error(
            "REQUIRED_PARAM_MISSING", f"the parameter {name} is missing", {"param_name": name}
        )
    return responses.error("INVALID_DATA", f"invalid value for {name}", {"param_name": name})


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if web.is_page_path(request.url.path) and exc.status_code in (404, 405):
        return web.not_found_page(request)
    if exc.status_code == 405:
        return responses.error(
            "INVALID_REQUEST_METHOD", "the http request method type is not a valid one", {}, 405
        )
    if exc.status_code == 404:
        return responses.error(
            "INVALID_URL_PATTERN",
            "Please check if the URL trying to access is a correct one",
            {},
            404,
        )
    return responses.error("INVALID_REQUEST", str(exc.detail), {}, exc.status_code)


def _service_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return responses.from_service_error(exc)


class ShieldErrors:
    """An unexpected exception becomes Zoho's INTERNAL_ERROR (500) without a stack trace.

    Done here rather than with an exception handler: Starlette re-raises what reaches its
    outermost handler, which logs the error twice and drops the keep-alive connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = responses.error("INTERNAL_ERROR", "an internal error occurred", {}, 500)
            await response(scope, receive, send)


class SecteurAPI(FastAPI):
    """FastAPI with the document finished by `openapi.document` (Zoho's answers, no 422)."""

    def openapi(self) -> dict[str, Any]:
        return openapi.document(super().openapi())


def create_app(secteur: Secteur) -> FastAPI:
    api = SecteurAPI(
        title="Secteur",
        version=__version__,
        description="Sales-process engine with a Zoho CRM v8 compatible REST API.",
        default_response_class=responses.ZohoJSON,
    )
    api.state.secteur = secteur
    api.add_exception_handler(ServiceError, _service_error)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(HTTPException, _http_error)
    for router in (
        oauth.router,
        org.router,
        users.router,
        roles.router,
        profiles.router,
        metadata.router,
        # Before records: `/crm/v8/{module}/{record}` would take the territory paths.
        territories.router,
        forecasts.router,
        records.router,
    ):
        api.include_router(router)
    web.install(api)
    api.add_middleware(BodyLimit, limit=secteur.settings.max_body_bytes)
    api.add_middleware(ShieldErrors)
    return api
