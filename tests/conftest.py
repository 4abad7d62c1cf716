"""Backends shared by every test: SQLite always, PostgreSQL when it can be reached or started."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support import postgres

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    try:
        with postgres.server() as url:
            yield url
    except postgres.PostgresUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not available: {exc}")
