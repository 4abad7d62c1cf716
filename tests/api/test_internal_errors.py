"""An unexpected failure answers Zoho's INTERNAL_ERROR (500) and never shows a stack trace."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from secteur.api.app import create_app
from secteur.services.app import Secteur


def test_an_unexpected_exception_answers_internal_error_without_a_trace(
    app: Secteur, caplog: pytest.LogCaptureFixture
) -> None:
    api = create_app(app)

    @api.get("/test-only/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("secret detail of a bug")

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/test-only/boom")

    response = asyncio.run(call())
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "code": "INTERNAL_ERROR",
        "details": {},
        "message": "an internal error occurred",
        "status": "error",
    }
    assert "secret detail" not in response.text and "Traceback" not in response.text
    assert any("secret detail of a bug" in r.exc_text for r in caplog.records if r.exc_text)
