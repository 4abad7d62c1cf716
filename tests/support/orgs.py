"""Fresh orgs for tests: one template per backend per session, cloned for each test."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from secteur.config import Settings
from secteur.services.app import Secteur
from secteur.services.setup import init_org
from tests.support import postgres

ADMIN_EMAIL = "admin@acme.test"
ADMIN_PASSWORD = "admin-password-1"
ALL_SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.ALL,ZohoCRM.org.ALL"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


class Clock:
    """The server's clock in tests: real time, moved forward on demand."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, secret_key=TEST_SECRET)


def make_template(url: str) -> None:
    app = Secteur(settings_for(url))
    try:
        init_org(
            app,
            org_name="Acme",
            admin_email=ADMIN_EMAIL,
            admin_password=ADMIN_PASSWORD,
            admin_first_name="Ada",
            admin_last_name="Admin",
            time_zone="Europe/Paris",
        )
    finally:
        app.dispose()


@dataclass
class Templates:
    """Where each backend's initialised template lives."""

    sqlite_path: Path
    pg_admin_url: str | None = None
    pg_template: str | None = None

    def clone(self, backend: str, workdir: Path) -> str:
        if backend == "sqlite":
            target = workdir / "org.db"
            shutil.copyfile(self.sqlite_path, target)
            return f"sqlite:///{target}"
        assert self.pg_admin_url is not None and self.pg_template is not None
        return postgres.create_database(self.pg_admin_url, template=self.pg_template)
