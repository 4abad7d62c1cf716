"""The application: settings, database, clock, and the org's metadata kept warm between requests.

API, CLI, worker and web all build one `Secteur` and run every use case in a `Tx`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from secteur.adapters.db import directory_repo, metadata_repo, territory_repo
from secteur.adapters.db.engine import WRITE_OPTION, create_engine
from secteur.adapters.db.records_schema import RecordTable, tables_for
from secteur.adapters.db.resident_snapshot import ResidentColumns
from secteur.config import Settings
from secteur.domain.criteria import EvalContext
from secteur.domain.directory import Directory
from secteur.domain.fields import DataType, Field, Module
from secteur.domain.org import Org
from secteur.domain.territories import CompiledRules, TerritorySettings, Tree, compile_rules
from secteur.domain.territories.model import COVERED_MODULES
from secteur.services.pipeline import Pipeline

Clock = Callable[[], datetime]
# (tx, acting user id, module table) → an SQL condition granting visibility, or None.
VisibilityRule = Callable[["Tx", int, RecordTable], "sa.ColumnElement[bool] | None"]
# (app, job id, payload) → the job's result; reports progress through `secteur.services.jobs`.
JobHandler = Callable[["Secteur", int, Mapping[str, Any]], "Mapping[str, Any] | None"]


def system_clock() -> datetime:
    return datetime.now(UTC)


class PlanCache(dict[Any, Any]):
    """Lowered territory rules by (module signature, day, rule), shared by configuration
    versions so that an edit recompiles only what changed; emptied when it grows too big."""

    LIMIT = 500_000

    def __setitem__(self, key: Any, value: Any) -> None:
        if len(self) >= self.LIMIT:
            self.clear()
        super().__setitem__(key, value)


# The `Territories` field modules carry while territory management is on (api-compat.md 10).
TERRITORIES_FIELD_ID_BASE = 3652397000000190000


def territories_field(module: Module) -> Field:
    return Field(
        api_name="Territories",
        label="Territories",
        data_type=DataType.TERRITORIES,
        column="",
        id=TERRITORIES_FIELD_ID_BASE + module.sequence,
        read_only=True,
        system=True,
        sequence=10_000,
    )


@dataclass
class TerritoryConfig:
    """The territory settings and tree as of a metadata version, and its compiled rules."""

    settings: TerritorySettings
    tree: Tree | None
    _compiled: dict[tuple[str, str], CompiledRules] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def active(self) -> bool:
        return self.settings.enabled and self.tree is not None

    def rules(
        self, module: Module, ctx: EvalContext, plan_cache: PlanCache | None = None
    ) -> CompiledRules:
        """The module's compiled rules; recompiled when "today" moves (relative dates)."""
        assert self.tree is not None
        key = (module.api_name, ctx.today.isoformat())
        found = self._compiled.get(key)
        if found is None:
            with self._lock:
                found = self._compiled.get(key)
                if found is None:
                    found = compile_rules(self.tree, module, ctx, plan_cache)
                    self._compiled[key] = found
        return found

    @classmethod
    def load(cls, conn: sa.Connection, org: Org) -> TerritoryConfig:
        settings = territory_repo.load_settings(org.settings)
        territories = territory_repo.load_territories(conn)
        return cls(settings, Tree.of(territories) if territories else None)


@dataclass(frozen=True)
class OrgState:
    """Everything about the org that changes rarely: read once per metadata version."""

    org: Org
    modules: tuple[Module, ...]
    tables: dict[str, RecordTable]
    directory: Directory
    version: int
    territory: TerritoryConfig
    _by_key: dict[str, Module] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: sa.Connection) -> OrgState:
        version = metadata_repo.metadata_version(conn)
        org = directory_repo.load_org(conn)
        territory = TerritoryConfig.load(conn, org)
        modules = metadata_repo.load_modules(conn)
        if territory.settings.enabled:
            modules = tuple(
                replace(m, fields=(*m.fields, territories_field(m)))
                if m.api_name in COVERED_MODULES
                else m
                for m in modules
            )
        return cls(
            org=org,
            modules=modules,
            tables=tables_for(modules),
            directory=directory_repo.load_directory(conn),
            version=version,
            territory=territory,
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
        # What save steps hand to later steps of the same transaction (e.g. the cascade).
        self.scratch: dict[str, Any] = {}

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
        # Extra ways a user may see or change records (territories add one each); OR-ed with
        # the role rules.
        self.visibility_rules: list[VisibilityRule] = []
        self.edit_rules: list[VisibilityRule] = []
        # Deliverers of outbox messages by kind (mail, webhooks… as features add them).
        self.outbox_handlers: dict[str, Callable[[Mapping[str, Any]], None]] = {}
        # Background jobs by kind (run rules, previews…), run by the worker.
        self.job_handlers: dict[str, JobHandler] = {}
        self.territory_plans = PlanCache()
        # The fields territory rules read, resident between runs (ADR 0009).
        self.territory_columns = ResidentColumns()
        # Forecast hierarchies' shape (children, order) by (kind, metadata version): computed
        # once per tree, not on every summary.
        self.forecast_shapes: dict[tuple[str, int], Any] = {}
        _install_features(self)

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


def _install_features(app: Secteur) -> None:
    """Plug each feature's save steps, visibility rules and jobs into the app.

    Imported here, not at the top: the features' services import this module.
    """
    from secteur.services.territory_assignment import install as install_assignment
    from secteur.services.territory_runs import install as install_runs

    install_assignment(app)
    install_runs(app)
