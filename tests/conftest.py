"""Fixtures shared by every test: backends (SQLite always, PostgreSQL when reachable), fresh
orgs cloned from a template, the app, a live HTTP server and an authenticated client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from secteur.services import auth
from secteur.services.app import Secteur
from tests.support import postgres, server
from tests.support.orgs import (
    ADMIN_EMAIL,
    ALL_SCOPES,
    Clock,
    Templates,
    make_template,
    settings_for,
)

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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    make_template(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> Iterator[str]:
    url = postgres.create_database(pg_admin_url)
    make_template(url)
    name = sa.engine.make_url(url).database
    assert name is not None
    yield name
    postgres.drop_database(pg_admin_url, url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def org_url(
    backend: str, request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[str]:
    """A fresh, initialised org database on the test's backend."""
    templates = Templates(sqlite_template)
    if backend == "postgresql":
        templates.pg_admin_url = request.getfixturevalue("pg_admin_url")
        templates.pg_template = request.getfixturevalue("pg_template")
    url = templates.clone(backend, tmp_path)
    yield url
    if backend == "postgresql":
        assert templates.pg_admin_url is not None
        postgres.drop_database(templates.pg_admin_url, url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(org_url: str, clock: Clock) -> Iterator[Secteur]:
    instance = Secteur(settings_for(org_url), clock=clock)
    yield instance
    instance.dispose()


@pytest.fixture
def base_url(app: Secteur) -> Iterator[str]:
    with server.running(app) as url:
        yield url


def token_for(app: Secteur, email: str = ADMIN_EMAIL, scopes: str = ALL_SCOPES) -> str:
    with app.write() as tx:
        return auth.issue_access_token(tx, email, scopes, timedelta(hours=1)).access_token


@pytest.fixture
def admin_token(app: Secteur) -> str:
    return token_for(app)


@pytest.fixture
def api(base_url: str, admin_token: str) -> Iterator[httpx.Client]:
    """An HTTP client of the live server, signed in as the org's administrator."""
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Zoho-oauthtoken {admin_token}"}, timeout=30
    ) as client:
        yield client


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: every part (PostgreSQL, browser…) must be there."""
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(f"CI: {skipped} test(s) skipped — failing the run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
