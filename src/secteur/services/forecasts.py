"""Forecasts (forecasts.md FC-1 … FC-13): settings, forecasts and targets, live summaries from the
forecast cells, the deals behind a number, and snapshots to compare with later.

Who reads what. Administrators read every forecast node. Anyone else reads the summary of a node
they are in or above: in a territory forecast, the node's members and manager and the managers
of its ancestors (so the administrator of TER-6's fallback too); in a role forecast, the users
whose role is the node's or one above it. Snapshots and comparisons hold every node: they are
read by those who may read the root. Forecasts, targets and settings are changed by
administrators, targets also by the managers FC-5 names.

A forecast whose hierarchy is not the current one (FC-2: territories while territory management
is on, roles otherwise) is archived: still readable, no longer changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from secteur.adapters.db import (
    directory_repo,
    forecast_repo,
    forecast_store,
    forecast_triggers,
    territory_repo,
)
from secteur.adapters.db import tables as t
from secteur.domain.actor import Actor
from secteur.domain.fields import DataType
from secteur.domain.forecasts import (
    Category,
    Cell,
    Exclusions,
    ForecastSettings,
    ForecastType,
    Hierarchy,
    HierarchyKind,
    Period,
    PeriodError,
    SummaryRow,
    Target,
    TargetRefused,
    branch_nodes,
    branch_totals,
    may_set_target,
    summarise,
)
from secteur.domain.forecasts.rollup import node_metrics
from secteur.domain.records import InvalidValue, reference_id
from secteur.services.app import Secteur, Tx
from secteur.services.audit import config_change
from secteur.services.errors import NoPermission, NotFound, ServiceError, item_failure
from secteur.services.setup import FORECAST_SETTINGS_KEY, install_forecasts

__all__ = [
    "Change",
    "Forecast",
    "SnapshotInfo",
    "administrator_of",
    "compare",
    "create_forecast",
    "current_kind",
    "current_period",
    "deals_condition",
    "delete_forecast",
    "due_snapshots",
    "find_forecast",
    "fold_branch_deltas",
    "get_forecast",
    "hierarchy",
    "list_forecasts",
    "may_read",
    "node_summary",
    "parse_period",
    "role_of",
    "rollup_rows",
    "set_targets",
    "settings",
    "snapshots",
    "summary",
    "take_snapshot",
    "targets",
    "update_forecast",
    "update_settings",
]

AMOUNT_TYPES = frozenset({DataType.CURRENCY, DataType.INTEGER, DataType.BIGINT, DataType.DOUBLE})
MAX_TARGET = 10**15
MAX_SNAPSHOT_DAYS = 366
# What `compare` puts side by side.
COMPARED = ("target", "achieved", "pipeline", "weighted_pipeline")


@dataclass(frozen=True)
class Forecast:
    id: int
    hierarchy: HierarchyKind
    period: Period
    exclusions: Exclusions
    # FC-2: its hierarchy is not the current one; readable, no longer changed.
    archived: bool
    created_by: int | None
    created_time: datetime
    modified_by: int | None
    modified_time: datetime


@dataclass(frozen=True)
class SnapshotInfo:
    id: int
    forecast_id: int
    taken_time: datetime
    taken_by: int | None
    scheduled: bool


@dataclass(frozen=True)
class Change:
    """One node's (or member's) figures in a snapshot and in another one (or now)."""

    node_id: int
    user_id: int | None
    name: str
    before: Mapping[str, float | None]
    after: Mapping[str, float | None]

    @property
    def delta(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for key in COMPARED:
            a, b = self.before.get(key), self.after.get(key)
            out[key] = None if a is None and b is None else round((b or 0) - (a or 0), 2)
        return out

    @property
    def changed(self) -> bool:
        return any(v for v in self.delta.values())


# --- settings (FC-1) -----------------------------------------------------------------------


def settings(tx: Tx) -> ForecastSettings:
    return ForecastSettings.from_json(tx.state.org.settings.get(FORECAST_SETTINGS_KEY))


def _invalid(key: str, message: str, **details: Any) -> ServiceError:
    return ServiceError(
        "INVALID_DATA", message, {"api_name": key, "json_path": f"$.forecast.{key}", **details}
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


SETTINGS_KEYS = (
    "period",
    "fiscal_year_start_month",
    "fiscal_year_naming",
    "amount_field",
    "date_field",
    "type",
    "stage_categories",
    "snapshot_every_days",
)


def _settings_changes(tx: Tx, body: Mapping[str, Any], current: ForecastSettings) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key in body:
        if key not in SETTINGS_KEYS:
            raise _invalid(key, f"unknown setting {key}", supported_keys=list(SETTINGS_KEYS))
    choices = {
        "period": ("monthly", "quarterly"),
        "fiscal_year_naming": ("start", "end"),
        "type": tuple(t.value for t in ForecastType),
    }
    for key, allowed in choices.items():
        if key in body:
            if body[key] not in allowed:
                raise _invalid(key, f"invalid value for {key}", supported_values=list(allowed))
            changes[key] = ForecastType(body[key]) if key == "type" else body[key]
    if "fiscal_year_start_month" in body:
        month = body["fiscal_year_start_month"]
        if not _is_int(month) or not 1 <= month <= 12:
            raise _invalid(
                "fiscal_year_start_month",
                "the fiscal year starts in a month from 1 to 12",
                expected_data_type="integer",
                minimum=1,
                maximum=12,
            )
        changes["fiscal_year_start_month"] = month
    if "snapshot_every_days" in body:
        days = body["snapshot_every_days"]
        if not _is_int(days) or not 0 <= days <= MAX_SNAPSHOT_DAYS:
            raise _invalid(
                "snapshot_every_days",
                f"snapshot_every_days is a number of days from 0 (never) to {MAX_SNAPSHOT_DAYS}",
                expected_data_type="integer",
                minimum=0,
                maximum=MAX_SNAPSHOT_DAYS,
            )
        changes["snapshot_every_days"] = days
    deals = tx.state.module("Deals")
    assert deals is not None
    for key, types in (("amount_field", AMOUNT_TYPES), ("date_field", {DataType.DATE})):
        if key not in body:
            continue
        raw = body[key]
        found = deals.field(raw) if isinstance(raw, str) else None
        if found is None or found.data_type not in types:
            supported = sorted(f.api_name for f in deals.fields if f.data_type in types)
            raise _invalid(
                key,
                f"{key} must name a {'currency or number' if key == 'amount_field' else 'date'} "
                "field of Deals",
                supported_values=supported,
            )
        changes[key] = found.api_name
    if "stage_categories" in body:
        changes["stage_categories"] = _stage_categories(tx, body["stage_categories"], current)
    return changes


def _stage_categories(tx: Tx, raw: Any, current: ForecastSettings) -> dict[str, Category]:
    """The mapping given, over the current one (stages not named keep their category)."""
    key = "stage_categories"
    if not isinstance(raw, Mapping):
        raise _invalid(
            key, "stage_categories must be a JSON object", expected_data_type="jsonobject"
        )
    deals = tx.state.module("Deals")
    stage = deals.field("Stage") if deals else None
    stages = {p.actual_value for p in stage.picklist} if stage else set()
    merged = dict(current.stage_categories)
    for name, category in raw.items():
        if name not in stages:
            raise _invalid(
                key, f"{name} is not a value of the Stage picklist", supported_values=sorted(stages)
            )
        if category not in tuple(c.value for c in Category):
            raise _invalid(
                key,
                f"invalid forecast category for {name}",
                supported_values=[c.value for c in Category],
            )
        merged[name] = Category(category)
    return merged


def update_settings(tx: Tx, actor: Actor, body: Mapping[str, Any]) -> ForecastSettings:
    """FC-1, administrators only. A new amount or date field rebuilds the cells (ADR 0011) in
    this transaction: the next read already counts by the new field."""
    if not actor.admin:
        raise NoPermission("only administrators can change the forecast settings")
    # The org row is locked, as territory settings lock it: both rewrite `org.settings`, and
    # neither may lose the other's change.
    territory_repo.lock_tree(tx.conn)
    org = directory_repo.load_org(tx.conn)
    current = ForecastSettings.from_json(org.settings.get(FORECAST_SETTINGS_KEY))
    updated = replace(current, **_settings_changes(tx, body, current))
    conn = tx.conn
    merged = {**(org.settings or {}), FORECAST_SETTINGS_KEY: updated.to_json()}
    conn.execute(t.org.update().where(t.org.c.id == org.id).values(settings=merged))
    if (updated.amount_field, updated.date_field) != (current.amount_field, current.date_field):
        deals = tx.state.module("Deals")
        assert deals is not None
        install_forecasts(conn, deals, updated)
    config_change(
        tx,
        actor,
        "org",
        org.id,
        "update",
        {"forecast": current.to_json()},
        {"forecast": updated.to_json()},
    )
    tx.metadata_changed()
    return updated


# --- hierarchies (FC-2) --------------------------------------------------------------------


def current_kind(tx: Tx) -> HierarchyKind:
    """FC-2: territories while territory management is on, else roles."""
    return HierarchyKind.TERRITORY if tx.state.territory.active else HierarchyKind.ROLE


def hierarchy(tx: Tx, kind: HierarchyKind) -> Hierarchy:
    """The forecast nodes of `kind` as the org has them now (cached per transaction)."""
    key = f"forecast_hierarchy:{kind.value}"
    found = tx.scratch.get(key)
    if isinstance(found, Hierarchy):
        return found
    built = _territory_hierarchy(tx) if kind is HierarchyKind.TERRITORY else _role_hierarchy(tx)
    shapes = tx.app.forecast_shapes
    shaped = shapes.get((kind.value, tx.state.version))
    if not built.parent:
        pass  # nothing to shape: no territory tree or no roles
    elif isinstance(shaped, Hierarchy) and shaped.parent == built.parent:
        built = shaped.with_members(built.members, built.user_node)
    else:
        if len(shapes) > 8:
            shapes.clear()
        built.postorder  # noqa: B018 - computed once here, kept for the next summaries
        shapes[(kind.value, tx.state.version)] = built
    tx.scratch[key] = built
    return built


def _territory_hierarchy(tx: Tx) -> Hierarchy:
    tree = tx.state.territory.tree
    if tree is None:
        return Hierarchy(HierarchyKind.TERRITORY, {}, {})
    members: dict[int, set[int]] = {}
    m = t.territory_members
    for territory_id, user_id in tx.conn.execute(sa.select(m.c.territory_id, m.c.user_id)):
        members.setdefault(int(territory_id), set()).add(int(user_id))
    return Hierarchy(
        HierarchyKind.TERRITORY,
        parent={tid: x.parent_id for tid, x in tree.by_id.items()},
        names={tid: x.name for tid, x in tree.by_id.items()},
        members={tid: frozenset(users) for tid, users in members.items() if tid in tree},
    )


def _role_hierarchy(tx: Tx) -> Hierarchy:
    directory = tx.state.directory
    roles = directory.roles.roles
    members: dict[int, set[int]] = {}
    for user in directory.users.values():
        members.setdefault(user.role_id, set()).add(user.id)
    return Hierarchy(
        HierarchyKind.ROLE,
        parent={r.id: r.reporting_to for r in roles.values()},
        names={r.id: r.name for r in roles.values()},
        members={role: frozenset(users) for role, users in members.items()},
        user_node={u.id: u.role_id for u in directory.users.values()},
    )


def administrator_of(tx: Tx) -> Callable[[int], int | None]:
    """TER-6: a territory's manager, else the nearest ancestor's (None: administrators)."""
    tree = tx.state.territory.tree

    def find(territory_id: int) -> int | None:
        if tree is None or territory_id not in tree:
            return None
        return tree.administrator(territory_id)

    return find


def role_of(tx: Tx) -> Callable[[int], int | None]:
    users = tx.state.directory.users

    def find(user_id: int) -> int | None:
        user = users.get(user_id)
        return None if user is None else user.role_id

    return find


def _ancestors(h: Hierarchy, node: int) -> list[int]:
    out: list[int] = []
    current = h.parent.get(node)
    while current is not None and current not in out:
        out.append(current)
        current = h.parent.get(current)
    return out


def may_read(tx: Tx, actor: Actor, h: Hierarchy, node: int) -> bool:
    """Whether `actor` may read the summary of `node` (see the module's docstring)."""
    if actor.admin:
        return True
    if h.kind is HierarchyKind.ROLE:
        role = role_of(tx)(actor.id)
        return role is not None and (role == node or role in _ancestors(h, node))
    if actor.id in h.members.get(node, frozenset()):
        return True
    tree = tx.state.territory.tree
    if tree is None:
        return False
    return any(
        tree.by_id[n].manager_id == actor.id for n in (node, *_ancestors(h, node)) if n in tree
    )


def _require_reader(tx: Tx, actor: Actor, h: Hierarchy, node: int) -> None:
    if not may_read(tx, actor, h, node):
        raise NoPermission(
            "you may read the forecast of the nodes you are in or above",
            {"node_id": str(node)},
        )


# --- periods -------------------------------------------------------------------------------


def parse_period(tx: Tx, text: str, *, json_path: str = "$.period") -> Period:
    """A period written as the settings' period kind has them (FC-1), as an item failure."""
    current = settings(tx)
    try:
        return Period.parse(
            text, current.period, current.fiscal_year_start_month, current.fiscal_year_naming
        )
    except PeriodError as exc:
        raise item_failure(
            "INVALID_DATA", str(exc), api_name="period", json_path=json_path
        ) from None


def current_period(tx: Tx) -> Period:
    """The period that contains today, in the org's time zone."""
    current = settings(tx)
    today = tx.now.astimezone(ZoneInfo(tx.state.org.time_zone)).date()
    return Period.containing(
        today, current.period, current.fiscal_year_start_month, current.fiscal_year_naming
    )


# --- forecasts (FC-3, FC-13) ---------------------------------------------------------------


def _forecast(tx: Tx, row: forecast_store.ForecastRow) -> Forecast:
    return Forecast(
        id=row.id,
        hierarchy=row.hierarchy,
        period=row.period,
        exclusions=row.exclusions,
        archived=row.hierarchy is not current_kind(tx),
        created_by=row.created_by,
        created_time=row.created_time,
        modified_by=row.modified_by,
        modified_time=row.modified_time,
    )


def list_forecasts(tx: Tx, actor: Actor) -> list[Forecast]:
    """Every forecast, the current hierarchy's first, latest period first. Anyone may list
    them; what each may read in them is decided per node."""
    found = [_forecast(tx, row) for row in forecast_store.forecasts(tx.conn)]
    return sorted(found, key=lambda f: (f.archived, -f.period.months()[0], f.id))


def get_forecast(tx: Tx, forecast_id: int) -> Forecast:
    row = forecast_store.forecast(tx.conn, forecast_id)
    if row is None:
        raise NotFound(details={"id": str(forecast_id)})
    return _forecast(tx, row)


def find_forecast(tx: Tx, kind: HierarchyKind, period_key: str) -> Forecast | None:
    f = t.forecasts
    found = tx.conn.execute(
        sa.select(f.c.id).where(f.c.hierarchy == kind.value, f.c.period == period_key)
    ).scalar()
    return None if found is None else get_forecast(tx, int(found))


def _require_admin(actor: Actor, what: str) -> None:
    if not actor.admin:
        raise NoPermission(f"only administrators can {what}")


def _require_current(forecast: Forecast) -> None:
    if forecast.archived:
        raise ServiceError(
            "NOT_ALLOWED",
            f"the forecast is archived: it uses the {forecast.hierarchy.value} hierarchy, "
            "which is not the current one (FC-2)",
            {"id": str(forecast.id)},
        )


def _exclusions(tx: Tx, raw: Any, kind: HierarchyKind, json_path: str) -> Exclusions:
    if raw is None:
        return Exclusions()
    if not isinstance(raw, Mapping):
        raise item_failure(
            "INVALID_DATA",
            "exclusions must be a JSON object",
            api_name="exclusions",
            json_path=json_path,
            expected_data_type="jsonobject",
        )
    known = {
        "territories": set(hierarchy(tx, HierarchyKind.TERRITORY).parent),
        "roles": set(tx.state.directory.roles.roles),
        "users": set(tx.state.directory.users),
    }
    found: dict[str, frozenset[int]] = {}
    for key, value in raw.items():
        if key not in known:
            raise item_failure(
                "INVALID_DATA",
                f"unknown exclusion {key}",
                api_name="exclusions",
                json_path=f"{json_path}.{key}",
                supported_keys=list(known),
            )
        if value is None:
            value = []
        if not isinstance(value, list):
            raise item_failure(
                "INVALID_DATA",
                f"exclusions.{key} must be a JSON array",
                api_name="exclusions",
                json_path=f"{json_path}.{key}",
                expected_data_type="jsonarray",
            )
        ids: set[int] = set()
        for index, entry in enumerate(value):
            try:
                found_id = reference_id(entry)
            except InvalidValue:
                found_id = None
            if found_id is None or found_id not in known[key]:
                raise item_failure(
                    "INVALID_DATA",
                    f"the id given in exclusions.{key} seems to be invalid",
                    api_name="exclusions",
                    json_path=f"{json_path}.{key}[{index}]",
                )
            ids.add(found_id)
        found[key] = frozenset(ids)
    return Exclusions(
        found.get("territories", frozenset()),
        found.get("roles", frozenset()),
        found.get("users", frozenset()),
    )


def create_forecast(tx: Tx, actor: Actor, item: Mapping[str, Any], index: int = 0) -> int:
    """FC-3: one forecast per (hierarchy, period); the hierarchy is the current one."""
    _require_admin(actor, "create forecasts")
    where = f"$.forecasts[{index}]"
    kind = current_kind(tx)
    raw_kind = item.get("hierarchy", kind.value)
    if raw_kind != kind.value:
        raise item_failure(
            "INVALID_DATA",
            f"forecasts are made on the {kind.value} hierarchy now (FC-2)",
            api_name="hierarchy",
            json_path=f"{where}.hierarchy",
            supported_values=[kind.value],
        )
    raw_period = item.get("period")
    if raw_period is None:
        raise item_failure(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            api_name="period",
            json_path=f"{where}.period",
        )
    if not isinstance(raw_period, str):
        raise item_failure(
            "INVALID_DATA",
            "the period is a string such as 2027-Q1 or 2027-03",
            api_name="period",
            json_path=f"{where}.period",
            expected_data_type="string",
        )
    period = parse_period(tx, raw_period, json_path=f"{where}.period")
    exclusions = _exclusions(tx, item.get("exclusions"), kind, f"{where}.exclusions")
    existing = find_forecast(tx, kind, period.key)
    if existing is not None:
        raise _duplicate(existing.id, where)
    try:
        with tx.conn.begin_nested():
            forecast_id = forecast_store.insert_forecast(
                tx.conn, kind, period, exclusions, tx.now, actor.id
            )
    except sa.exc.IntegrityError:
        # Created meanwhile by a concurrent request.
        raise _duplicate(None, where) from None
    config_change(
        tx,
        actor,
        "forecast",
        forecast_id,
        "create",
        {},
        {"hierarchy": kind.value, "period": period.key, "exclusions": exclusions.to_json()},
    )
    return forecast_id


def _duplicate(existing: int | None, where: str) -> ServiceError:
    details: dict[str, Any] = {"api_name": "period", "json_path": f"{where}.period"}
    if existing is not None:
        details["id"] = str(existing)
    return item_failure(
        "DUPLICATE_DATA", "a forecast of this hierarchy and period exists already", **details
    )


def update_forecast(
    tx: Tx, actor: Actor, forecast_id: int, item: Mapping[str, Any], index: int = 0
) -> None:
    """Change a forecast's exclusions (its hierarchy and period are what it is)."""
    _require_admin(actor, "change forecasts")
    forecast = get_forecast(tx, forecast_id)
    _require_current(forecast)
    where = f"$.forecasts[{index}]"
    for key, value in (
        ("hierarchy", forecast.hierarchy.value),
        ("period", forecast.period.key),
    ):
        if key in item and item[key] != value:
            raise item_failure(
                "INVALID_DATA",
                f"a forecast's {key} cannot be changed: create another forecast",
                api_name=key,
                json_path=f"{where}.{key}",
            )
    if "exclusions" not in item:
        return
    exclusions = _exclusions(tx, item["exclusions"], forecast.hierarchy, f"{where}.exclusions")
    forecast_store.update_exclusions(tx.conn, forecast_id, exclusions, tx.now, actor.id)
    config_change(
        tx,
        actor,
        "forecast",
        forecast_id,
        "update",
        {"exclusions": forecast.exclusions.to_json()},
        {"exclusions": exclusions.to_json()},
    )


def delete_forecast(tx: Tx, actor: Actor, forecast_id: int) -> None:
    _require_admin(actor, "delete forecasts")
    forecast = get_forecast(tx, forecast_id)
    forecast_store.delete_forecast(tx.conn, forecast_id)
    config_change(
        tx,
        actor,
        "forecast",
        forecast_id,
        "delete",
        {"hierarchy": forecast.hierarchy.value, "period": forecast.period.key},
        {},
    )


# --- targets (FC-4, FC-5) ------------------------------------------------------------------


def targets(tx: Tx, forecast_id: int) -> list[Target]:
    get_forecast(tx, forecast_id)
    return forecast_store.targets(tx.conn, forecast_id)


def _target_path(index: int, key: str) -> str:
    return f"$.targets[{index}].{key}"


def _target_item(tx: Tx, h: Hierarchy, index: int, item: Any) -> tuple[int, int | None, int | None]:
    """(node, user, amount in cents or None to remove) of one item, checked."""
    if not isinstance(item, Mapping):
        raise item_failure(
            "INVALID_DATA",
            "invalid data",
            json_path=f"$.targets[{index}]",
            expected_data_type="jsonobject",
        )
    try:
        node = reference_id(item.get("node"))
    except InvalidValue:
        node = -1
    if node is None:
        raise item_failure(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            api_name="node",
            json_path=_target_path(index, "node"),
        )
    if node not in h.parent:
        raise item_failure(
            "INVALID_DATA",
            f"the node given is not a {h.kind.value} of this forecast",
            api_name="node",
            json_path=_target_path(index, "node"),
        )
    try:
        user = reference_id(item.get("user"))
    except InvalidValue:
        user = -1
    if user is not None and user not in h.members.get(node, frozenset()):
        raise item_failure(
            "INVALID_DATA",
            f"the user given is not a member of the {h.kind.value}",
            api_name="user",
            json_path=_target_path(index, "user"),
        )
    if "target" not in item:
        raise item_failure(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            api_name="target",
            json_path=_target_path(index, "target"),
        )
    raw = item["target"]
    if raw is None:
        return node, user, None
    if (
        not isinstance(raw, int | float)
        or isinstance(raw, bool)
        or not math.isfinite(raw)
        or not 0 <= raw <= MAX_TARGET
    ):
        raise item_failure(
            "INVALID_DATA",
            f"a target is a number from 0 to {MAX_TARGET}",
            api_name="target",
            json_path=_target_path(index, "target"),
            expected_data_type="double",
            minimum=0,
        )
    return node, user, round(raw * 100)


def set_targets(
    tx: Tx, actor: Actor, forecast_id: int, items: Sequence[Any]
) -> list[ServiceError | None]:
    """Set (or with `"target": null` remove) targets, each item on its own: the reason an item
    was refused in its place, None where it was done."""
    forecast = get_forecast(tx, forecast_id)
    _require_current(forecast)
    h = hierarchy(tx, forecast.hierarchy)
    administrators = administrator_of(tx)
    roles = role_of(tx)
    out: list[ServiceError | None] = []
    # Read once, kept as the items write: a later item sees an earlier one's target.
    stored = {(x.node_id, x.user_id): x for x in forecast_store.targets(tx.conn, forecast_id)}
    for index, item in enumerate(items):
        try:
            node, user, cents = _target_item(tx, h, index, item)
            current = stored.get((node, user))
            try:
                may_set_target(
                    h,
                    actor=actor.id,
                    admin=actor.admin,
                    node=node,
                    user=user,
                    current=current,
                    administrator_of=administrators,
                    role_of=roles,
                )
            except TargetRefused as exc:
                raise item_failure(
                    "NO_PERMISSION", str(exc), json_path=f"$.targets[{index}]"
                ) from None
            before = {"node": node, "user": user, "target": current.amount if current else None}
            if cents is None:
                forecast_store.delete_target(tx.conn, forecast_id, node, user)
                stored.pop((node, user), None)
            else:
                forecast_store.upsert_target(
                    tx.conn, forecast_id, node, user, cents, actor.id, tx.now
                )
                stored[(node, user)] = Target(node, user, cents / 100, actor.id)
            after = {**before, "target": None if cents is None else cents / 100}
            config_change(tx, actor, "forecast", forecast_id, "set_target", before, after)
        except ServiceError as exc:
            out.append(exc)
            continue
        out.append(None)
    return out


# --- summaries (FC-6 … FC-13) --------------------------------------------------------------


def _cells(tx: Tx, period: Period) -> list[Cell]:
    """The period's deal aggregates (ADR 0011), by territory, owner and stage."""
    first, last = period.months()
    return _domain(forecast_repo.cells(tx.conn, first, last))


def _node(h: Hierarchy, node_id: int | None) -> int:
    if not h.parent:
        raise ServiceError(
            "INVALID_DATA", f"there is no {h.kind.value} hierarchy to forecast on", {}
        )
    if node_id is None:
        return h.root
    if node_id not in h.parent:
        raise NotFound(
            "the node_id given seems to be invalid", {"param_name": "node_id", "id": str(node_id)}
        )
    return node_id


def summary(
    tx: Tx, actor: Actor, forecast_id: int, node_id: int | None, include_child: bool = True
) -> list[SummaryRow]:
    """The node (None: the root) with its figures, each child node, each member with a target;
    computed from the current data (FC-12)."""
    forecast = get_forecast(tx, forecast_id)
    h = hierarchy(tx, forecast.hierarchy)
    node = _node(h, node_id)
    _require_reader(tx, actor, h, node)
    targets = forecast_store.targets(tx.conn, forecast_id)
    return node_summary(tx, h, forecast.period, forecast.exclusions, targets, node, include_child)


def node_summary(
    tx: Tx,
    h: Hierarchy,
    period: Period,
    exclusions: Exclusions,
    targets: Sequence[Target],
    node: int,
    include_child: bool = True,
) -> list[SummaryRow]:
    """A node's summary rows for a period, from the coarsest aggregates that give them.

    Territory forecasts read branch totals (ADR 0012): the node's, its children's and those of
    excluded branches below it — a few rows whatever the tree's size — plus the cells of the
    members with a target in the node and of excluded users. Role forecasts attribute by owner:
    each owner's totals by stage (ADR 0012), a few rows per owner.
    """
    current = settings(tx)
    first, last = period.months()
    common: dict[str, Any] = {"include_child": include_child, "exclusions": exclusions}
    if h.kind is HierarchyKind.ROLE:
        cells = forecast_repo.owner_totals(tx.conn, first, last)
        return summarise(h, cells, current, targets, node, **common)
    branches = forecast_repo.branches(tx.conn, first, last, branch_nodes(h, node, exclusions))
    excluded = forecast_repo.owner_cells(tx.conn, first, last, sorted(exclusions.users))
    shown = [node, *h.children[node]]
    totals = branch_totals(h, branches, current, shown, exclusions, excluded)
    members = sorted({t.user_id for t in targets if t.node_id == node and t.user_id is not None})
    owners = forecast_repo.owner_cells(tx.conn, first, last, members)
    return summarise(h, (), current, targets, node, member_cells=owners, totals=totals, **common)


def _domain(cells: Sequence[forecast_repo.Cell]) -> list[Cell]:
    return [
        Cell(
            c.territory_id,
            c.owner_id,
            c.stage,
            c.deals,
            c.amount_cents,
            c.weighted_cents,
            c.probability_sum,
        )
        for c in cells
    ]


def deals_condition(
    tx: Tx,
    actor: Actor,
    forecast_id: int,
    node_id: int | None,
    user_id: int | None,
    categories: Sequence[Category] | None,
) -> sa.ColumnElement[bool]:
    """The deals behind a summary figure, as a condition on the Deals table for
    `record_queries.list_records`: dated in the period, in the categories' stages, in the node
    or below (by the deal's territory, or its owner's role), exclusions honoured; a member's
    figure: their deals only."""
    forecast = get_forecast(tx, forecast_id)
    h = hierarchy(tx, forecast.hierarchy)
    node = _node(h, node_id)
    _require_reader(tx, actor, h, node)
    current = settings(tx)
    rt = tx.state.tables["Deals"]
    deals = rt.module
    date_field, stage_field = deals.field(current.date_field), deals.field("Stage")
    assert date_field is not None and stage_field is not None
    first, last = forecast.period.months()
    start = date(first // 100, first % 100, 1)
    end = date(last // 100 + (last % 100 == 12), last % 100 % 12 + 1, 1)
    dated = rt.column(date_field)
    where: list[sa.ColumnElement[bool]] = [dated >= start, dated < end]
    if categories is not None:
        where.append(_stage_condition(rt.column(stage_field), current, categories))
    excluded: set[int] = set()
    for n in forecast.exclusions.nodes(h.kind):
        if n in h.parent:
            excluded |= h.subtree(n)
    nodes = sorted(h.subtree(node) - excluded)
    owner = rt.table.c.owner_id
    if h.kind is HierarchyKind.TERRITORY:
        rtab = t.record_territories
        territory = (
            sa.select(sa.func.min(rtab.c.territory_id))
            .where(rtab.c.record_id == rt.table.c.id, rtab.c.module == "Deals")
            .scalar_subquery()
        )
        where.append(territory.in_(nodes))
    else:
        owners = sorted(u for u, role in h.user_node.items() if role in set(nodes))
        where.append(owner.in_(owners))
    if forecast.exclusions.users:
        where.append(owner.not_in(sorted(forecast.exclusions.users)))
    if user_id is not None:
        where.append(owner == user_id)
    return sa.and_(*where)


def _stage_condition(
    stage: sa.ColumnElement[Any], current: ForecastSettings, categories: Sequence[Category]
) -> sa.ColumnElement[bool]:
    wanted = set(categories)
    if Category.PIPELINE in wanted:
        # Stages with no category count as pipeline (FC-1): everything not mapped elsewhere.
        others = sorted(s for s, c in current.stage_categories.items() if c not in wanted)
        return sa.or_(stage.is_(None), stage.not_in(others)) if others else sa.true()
    return stage.in_(sorted(s for s, c in current.stage_categories.items() if c in wanted))


# --- snapshots (FC-12 Beyond) --------------------------------------------------------------


def _row_json(h: Hierarchy, row: SummaryRow, names: Mapping[int, str]) -> dict[str, Any]:
    m = row.metrics
    return {
        "node_id": row.node_id,
        "node_name": h.names.get(row.node_id, ""),
        "user_id": row.user_id,
        "user_name": None if row.user_id is None else names.get(row.user_id, ""),
        "target": row.target,
        "achieved": round(m.achieved, 2),
        "pipeline": round(m.pipeline, 2),
        "weighted_pipeline": round(m.weighted_pipeline, 2),
        "best_case": round(m.best_case, 2),
        "commit": round(m.commit, 2),
        "achieved_pct": row.achieved_pct,
        "shortage_pct": row.shortage_pct,
        "target_mismatch": row.target_mismatch,
        "target_not_set": row.target_not_set,
    }


def rollup_rows(tx: Tx, forecast: Forecast) -> list[dict[str, Any]]:
    """Every node's row (descendants included) and every member's row with a target, in tree
    order: one roll-up of every cell, then each node's rows from it."""
    h = hierarchy(tx, forecast.hierarchy)
    if not h.parent:
        return []
    cells = _cells(tx, forecast.period)
    current = settings(tx)
    all_targets = forecast_store.targets(tx.conn, forecast.id)
    _, totals, _ = node_metrics(h, cells, current, forecast.exclusions, with_owners=False)
    by_owner: dict[int, list[Cell]] = {}
    for cell in cells:
        by_owner.setdefault(cell.owner_id, []).append(cell)
    members: dict[int, set[int]] = {}
    for target in all_targets:
        if target.user_id is not None:
            members.setdefault(target.node_id, set()).add(target.user_id)
    names = {u.id: u.full_name for u in tx.state.directory.users.values()}
    rows: dict[tuple[int, int | None], dict[str, Any]] = {}
    order = list(reversed(h.postorder))
    for node in order:
        if not h.children[node] and node not in members and node != h.root:
            continue
        mine = [c for user in sorted(members.get(node, ())) for c in by_owner.get(user, ())]
        for row in summarise(
            h,
            (),
            current,
            all_targets,
            node,
            exclusions=forecast.exclusions,
            member_cells=mine,
            totals=totals,
        ):
            rows.setdefault((row.node_id, row.user_id), _row_json(h, row, names))
    rank = {n: i for i, n in enumerate(order)}
    return sorted(
        rows.values(),
        key=lambda r: (rank.get(r["node_id"], 0), r["user_id"] is not None, r["user_id"] or 0),
    )


def _record_snapshot(tx: Tx, forecast: Forecast, actor_id: int | None, scheduled: bool) -> int:
    return forecast_store.insert_snapshot(
        tx.conn, forecast.id, rollup_rows(tx, forecast), tx.now, actor_id, scheduled=scheduled
    )


def _require_root_reader(tx: Tx, actor: Actor, forecast: Forecast) -> None:
    h = hierarchy(tx, forecast.hierarchy)
    _require_reader(tx, actor, h, _node(h, None))


def take_snapshot(tx: Tx, actor: Actor, forecast_id: int) -> int:
    """Keep the forecast's figures as they are now; readers of the root may take one."""
    forecast = get_forecast(tx, forecast_id)
    _require_current(forecast)
    _require_root_reader(tx, actor, forecast)
    snapshot_id = _record_snapshot(tx, forecast, actor.id, False)
    config_change(tx, actor, "forecast", forecast_id, "snapshot", {}, {"snapshot": snapshot_id})
    return snapshot_id


def snapshots(tx: Tx, forecast_id: int, actor: Actor | None = None) -> list[SnapshotInfo]:
    """The forecast's snapshots, newest first."""
    forecast = get_forecast(tx, forecast_id)
    if actor is not None:
        _require_root_reader(tx, actor, forecast)
    return [
        SnapshotInfo(s.id, s.forecast_id, s.taken_time, s.taken_by, s.scheduled)
        for s in forecast_store.snapshots(tx.conn, forecast_id)
    ]


def _snapshot_rows(tx: Tx, forecast_id: int, snapshot_id: int) -> list[dict[str, Any]]:
    found = forecast_store.snapshot(tx.conn, forecast_id, snapshot_id)
    if found is None:
        raise NotFound("the snapshot id given seems to be invalid", {"id": str(snapshot_id)})
    return found.rows


def compare(
    tx: Tx,
    forecast_id: int,
    snapshot_id: int,
    other: int | None,
    actor: Actor | None = None,
) -> list[Change]:
    """Each node's and member's figures in the snapshot and in `other` (None: now)."""
    forecast = get_forecast(tx, forecast_id)
    if actor is not None:
        _require_root_reader(tx, actor, forecast)
    before = _snapshot_rows(tx, forecast_id, snapshot_id)
    after = rollup_rows(tx, forecast) if other is None else _snapshot_rows(tx, forecast_id, other)

    def key(row: Mapping[str, Any]) -> tuple[int, int | None]:
        return int(row["node_id"]), None if row["user_id"] is None else int(row["user_id"])

    old = {key(r): r for r in before}
    new = {key(r): r for r in after}
    order = list(dict.fromkeys([*new, *old]))
    out = []
    for k in order:
        a, b = old.get(k), new.get(k)
        named = b or a
        assert named is not None
        name = (
            named["node_name"] if k[1] is None else f"{named['node_name']} / {named['user_name']}"
        )
        out.append(
            Change(
                k[0],
                k[1],
                name,
                {c: (a or {}).get(c) for c in COMPARED},
                {c: (b or {}).get(c) for c in COMPARED},
            )
        )
    return out


def due_snapshots(app: Secteur) -> list[int]:
    """FC-12 Beyond, run by the worker: a snapshot of each current forecast — not archived,
    period not over — whose last snapshot is `snapshot_every_days` old or older (or that has
    none). Returns the snapshots taken."""
    taken: list[int] = []
    with app.write() as tx:
        every = settings(tx).snapshot_every_days
        if every <= 0:
            return taken
        today = current_period(tx)
        last = forecast_store.last_snapshot_times(tx.conn)
        for forecast in (_forecast(tx, row) for row in forecast_store.forecasts(tx.conn)):
            if forecast.archived or forecast.period.months()[1] < today.months()[0]:
                continue
            previous = last.get(forecast.id)
            if previous is not None and tx.now - previous < timedelta(days=every):
                continue
            # Two workers must not both take it: the row lock, then the time again.
            forecast_store.forecast(tx.conn, forecast.id, lock=True)
            latest = forecast_store.last_snapshot_times(tx.conn).get(forecast.id)
            if latest is not None and tx.now - latest < timedelta(days=every):
                continue
            taken.append(_record_snapshot(tx, forecast, None, True))
    return taken


def fold_branch_deltas(app: Secteur) -> int:
    """ADR 0012, run by the worker: the branch totals' deltas (PostgreSQL) folded into their
    rows, so that summaries read a few rows per branch. Returns how many deltas were folded;
    SQLite keeps none and is not written to."""
    if app.engine.dialect.name == "sqlite":
        return 0
    with app.write() as tx:
        return forecast_triggers.fold_branch_deltas(tx.conn)
