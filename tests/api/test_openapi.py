"""The server describes itself: `/openapi.json` names every path it serves (api-compat.md) and
declares the answers it really gives — Zoho's envelopes and errors, never FastAPI's 422."""

from __future__ import annotations

import re
from typing import Any

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


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def test_the_document_advertises_zoho_errors_and_never_fastapis_422(base_url: str) -> None:
    spec = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    error = {"$ref": "#/components/schemas/ZohoError"}
    assert spec["components"]["schemas"]["ZohoError"]["required"] == [
        "code",
        "details",
        "message",
        "status",
    ]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, method, op in _operations(spec):
        answers = op["responses"]
        assert "422" not in answers, (method, path)
        refused = answers["400"]["content"]["application/json"]["schema"]
        if not path.startswith("/oauth/"):
            assert refused == error or error in refused["anyOf"], (method, path)
            assert {"401", "403", "404", "413"} <= answers.keys(), (method, path)


def test_the_document_describes_json_answers_as_json_not_as_strings(base_url: str) -> None:
    spec = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    for path, method, op in _operations(spec):
        for status, answer in op["responses"].items():
            for media in answer.get("content", {}).values():
                assert media["schema"] != {"type": "string"}, (method, path, status)
    org = spec["paths"]["/crm/v8/org"]["get"]["responses"]["200"]
    assert org["content"]["application/json"]["schema"]["required"] == ["org"]


def test_an_empty_list_and_a_created_record_are_answers_the_document_declares(
    base_url: str,
) -> None:
    spec = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    records = spec["paths"]["/crm/v8/{module}"]
    assert {"200", "204", "304"} <= records["get"]["responses"].keys()
    assert {"201", "207", "400"} <= records["post"]["responses"].keys()
    assert "200" not in records["post"]["responses"]


def test_case_insensitive_query_values_have_portable_patterns_and_any_case_is_accepted(
    api: httpx.Client,
) -> None:
    spec = api.get("/openapi.json").json()
    patterns = [
        parameter["schema"]["pattern"]
        for _, _, op in _operations(spec)
        for parameter in op.get("parameters", [])
        if "pattern" in parameter["schema"]
    ]
    assert patterns
    for pattern in patterns:
        # ECMA-262 (the document's dialect) has no inline flags, and Python's `re` refuses a
        # flag after `^`: both compile only the portable spelling.
        assert "(?" not in pattern
        re.compile(pattern)
    listed = api.get("/crm/v8/Accounts", params={"sort_order": "DESC", "approved": "Both"})
    assert listed.status_code in (200, 204), listed.text
    refused = api.get("/crm/v8/Accounts", params={"sort_order": "sideways"})
    assert refused.status_code == 400
    assert refused.json()["code"] == "INVALID_DATA"
