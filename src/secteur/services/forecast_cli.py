"""What `secteur forecast …` does: a forecast's roll-up as nested rows, and a snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from secteur.domain.actor import Actor, actor_for
from secteur.domain.forecasts import Exclusions, HierarchyKind, Period
from secteur.services import forecasts
from secteur.services.app import Secteur, Tx
from secteur.services.cli_support import admin_actor_user
from secteur.services.errors import ServiceError


@dataclass
class Line:
    """One node of the printed tree: its summary row, its members' rows, its child nodes."""

    row: dict[str, Any]
    members: list[dict[str, Any]] = field(default_factory=list)
    children: list[Line] = field(default_factory=list)


@dataclass(frozen=True)
class View:
    kind: HierarchyKind
    period: Period
    forecast_id: int | None  # None: no forecast saved for the period; figures without targets
    root: Line


def _actor(tx: Tx, email: str | None) -> Actor:
    actor = actor_for(tx.state.directory, admin_actor_user(tx, email).id, source="cli")
    assert actor is not None
    return actor


def _kind(tx: Tx, by: str | None) -> HierarchyKind:
    if by is None:
        return forecasts.current_kind(tx)
    try:
        return HierarchyKind(by.lower())
    except ValueError:
        raise ServiceError("INVALID_DATA", "--by is role or territory") from None


def _period(tx: Tx, text: str | None) -> Period:
    if text is None:
        return forecasts.current_period(tx)
    return forecasts.parse_period(tx, text)


def _forecast(tx: Tx, kind: HierarchyKind, period: Period) -> forecasts.Forecast:
    found = forecasts.find_forecast(tx, kind, period.key)
    if found is not None:
        return found
    # Figures are computed from the deals whether or not a forecast was saved; only targets
    # and exclusions need one.
    return forecasts.Forecast(
        id=0,
        hierarchy=kind,
        period=period,
        exclusions=Exclusions(),
        archived=kind is not forecasts.current_kind(tx),
        created_by=None,
        created_time=tx.now,
        modified_by=None,
        modified_time=tx.now,
    )


def show(
    app: Secteur,
    *,
    period: str | None,
    node_name: str | None,
    by: str | None,
    user_email: str | None = None,
) -> View:
    """The roll-up from the named node (default: the root) down, read as `user_email`
    (default: an administrator)."""
    with app.read() as tx:
        actor = _actor(tx, user_email)
        kind = _kind(tx, by)
        forecast = _forecast(tx, kind, _period(tx, period))
        h = forecasts.hierarchy(tx, kind)
        if not h.parent:
            raise ServiceError("INVALID_DATA", f"there is no {kind.value} hierarchy")
        top = h.root
        if node_name is not None:
            named = [n for n, name in h.names.items() if name.lower() == node_name.lower()]
            if not named:
                raise ServiceError("INVALID_DATA", f"no {kind.value} named {node_name}")
            top = named[0]
        if not forecasts.may_read(tx, actor, h, top):
            raise ServiceError("NO_PERMISSION", "you may not read this part of the forecast")
        rows = forecasts.rollup_rows(tx, forecast)
        nodes = {r["node_id"]: r for r in rows if r["user_id"] is None}
        members: dict[int, list[dict[str, Any]]] = {}
        for r in rows:
            if r["user_id"] is not None:
                members.setdefault(r["node_id"], []).append(r)
        excluded = set()
        for n in forecast.exclusions.nodes(kind):
            if n in h.parent:
                excluded |= h.subtree(n)

        def line(node: int) -> Line:
            return Line(
                nodes[node],
                members.get(node, []),
                [line(c) for c in h.children[node] if c in nodes and c not in excluded],
            )

        if top not in nodes:
            raise ServiceError("INVALID_DATA", f"{h.names[top]} is excluded from this forecast")
        return View(kind, forecast.period, forecast.id or None, line(top))


def snapshot(app: Secteur, *, period: str | None, user_email: str | None = None) -> tuple[int, int]:
    """A snapshot of the current hierarchy's forecast of the period: (forecast, snapshot)."""
    with app.write() as tx:
        actor = _actor(tx, user_email)
        kind = forecasts.current_kind(tx)
        chosen = _period(tx, period)
        found = forecasts.find_forecast(tx, kind, chosen.key)
        if found is None:
            raise ServiceError(
                "INVALID_DATA", f"there is no {kind.value} forecast for {chosen.key}"
            )
        return found.id, forecasts.take_snapshot(tx, actor, found.id)
