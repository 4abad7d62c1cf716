"""The application: settings, database, clock, and the org's metadata kept warm between requests.

API, CLI, worker and web all build one `Secteur` and run every use case in a `Tx`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from secteur.adapters.db import directory_repo, metadata_repo
from secteur.adapters.db.engine import WRITE_OPTION, create_engine
from secteur.adapters.db.records_schema import RecordTable, tables_for
from secteur.config import Settings
from secteur.domain.directory import Directory
from secteur.domain.fields import Module
from secteur.domain.org import Org
from secteur.services.pipeline import Pipeline

Clock = Callable[[], datetime]
# (tx, acting user id, module table) → an SQL condition granting visibility, or None.
VisibilityRule = Callable[["Tx", int, RecordTable], "sa.ColumnElement[bool] | None"]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OrgState:
    """Everything about the org that changes rarely: read once per metadata version."""

    org: Org
    modules: tuple[Module, ...]
    tables: dict[str, RecordTable]
    directory: Directory
    version: int
    _by_key: dict[str, Module] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: sa.Connection) -> OrgState:
        version = metadata_repo.metadata_version(conn)
        modules = metadata_repo.load_modules(conn)
        return cls(
            org=directory_repo.load_org(conn),
            modules=modules,
            tables=tables_for(modules),
            directory=directory_repo.load_directory(conn),
            version=version,
            _by_key={m.api_name.lower(): m for m in modules},
        )

    def module(self, name: str) -> Module | None:
        return self._by_key.get(name.lower())

    def table(self, module: Module) -> RecordTable:
        return self.tables[module.api_name]


class Tx:
    """One database transaction with the org state as of its start."""

    def __init__(self, app: Secteur, conn: sa.Connection, now: datetime) -> None:
        self.app = app
        self.conn = conn
        self.now = now
        self._state: OrgState | None = None
        self._changed_metadata = False

    @property
    def state(self) -> OrgState:
        if self._state is None:
            self._state = (
                OrgState.load(self.conn) if self._changed_metadata else self.app.state(self.conn)
            )
        return self._state

    def metadata_changed(self) -> None:
        """Record that this transaction changed metadata: bump the version, reload lazily."""
        metadata_repo.bump_metadata_version(self.conn)
        self._changed_metadata = True
        self._state = None


class Secteur:
    def __init__(
        self, settings: Settings, *, engine: Engine | None = None, clock: Clock = system_clock
    ) -> None:
        self.settings = settings
        self.engine = engine or create_engine(settings.effective_database_url)
        self.clock = clock
        self._state: OrgState | None = None
        self._lock = threading.Lock()
        self.signing_key = settings.signing_secret()
        self.pipeline = Pipeline()
        # Extra ways a user may see records (territories add one); OR-ed with the role rules.
        self.visibility_rules: list[VisibilityRule] = []
        # Deliverers of outbox messages by kind (mail, webhooks… as features add them).
        self.outbox_handlers: dict[str, Callable[[Mapping[str, Any]], None]] = {}

    def state(self, conn: sa.Connection) -> OrgState:
        """The cached org state, reloaded when another transaction changed metadata."""
        version = metadata_repo.metadata_version(conn)
        cached = self._state
        if cached is not None and cached.version == version:
            return cached
        fresh = OrgState.load(conn)
        with self._lock:
            if self._state is None or self._state.version <= fresh.version:
                self._state = fresh
        return fresh

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self.engine.connect() as conn, conn.begin():
            yield Tx(self, conn, self.clock())

    @contextmanager
    def write(self) -> Iterator[Tx]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield Tx(self, conn, self.clock())

    def dispose(self) -> None:
        self.engine.dispose()
