"""Mounting the web UI on the application that serves the API."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from secteur.web.deps import error_page
from secteur.web.pages import (
    auth,
    forecasts,
    home,
    record_territories,
    records,
    settings,
    settings_fields,
    settings_profiles,
    settings_roles,
    settings_users,
    territory_runs,
    territory_tree,
)
from secteur.web.render import STATIC

# Paths that belong to the API (Zoho JSON errors); everything else is a page (HTML errors).
API_PREFIXES = ("/crm/", "/oauth/", "/openapi.json", "/docs", "/redoc")


def is_page_path(path: str) -> bool:
    return not path.startswith(API_PREFIXES)


def not_found_page(request: Request) -> Response:
    return error_page(request, 404, "Not found", "This page does not exist, or you may not see it.")


def install(api: FastAPI) -> None:
    api.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (
        auth.router,
        home.router,
        settings.router,
        settings_users.router,
        settings_fields.router,
        settings_roles.router,
        settings_profiles.router,
        forecasts.router,
        territory_runs.router,
        territory_tree.router,
        record_territories.router,
        records.router,
    ):
        api.include_router(router)
