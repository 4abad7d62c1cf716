"""The server describes itself: `/openapi.json` names every path it serves (api-compat.md)."""

from __future__ import annotations

import httpx
from starlette.routing import Route

from secteur.api.app import create_app
from secteur.services.app import Secteur


def test_openapi_describes_every_served_path_with_its_bodies(app: Secteur, base_url: str) -> None:
    spec = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    served = {
        (route.path, method.lower())
        for route in create_app(app).routes
        if isinstance(route, Route) and route.include_in_schema
        for method in route.methods or ()
        if method != "HEAD"
    }
    described = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert served <= described
    without_body = [
        (path, method)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in ("post", "put", "patch") and "requestBody" not in op
    ]
    assert without_body == []
    assert "/crm/v8/{module}" in spec["paths"] and "/oauth/v2/token" in spec["paths"]


def test_the_api_documentation_page_is_served(base_url: str) -> None:
    page = httpx.get(f"{base_url}/docs", timeout=30)
    assert page.status_code == 200
    assert "swagger" in page.text.lower()
