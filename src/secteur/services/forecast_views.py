"""What the forecast screen reads beyond one summary: the figures of a node over the periods of
its fiscal year (the chart), which targets the viewer may set, and where a viewer starts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from secteur.adapters.db import forecast_store
from secteur.domain.actor import Actor
from secteur.domain.forecasts import (
    Exclusions,
    Hierarchy,
    HierarchyKind,
    Period,
    Target,
    TargetRefused,
    may_set_target,
)
from secteur.services import forecasts
from secteur.services.app import Tx


@dataclass(frozen=True)
class PeriodFigures:
    period: Period
    target: float | None
    achieved: float
    pipeline: float


def year_figures(
    tx: Tx, actor: Actor, kind: HierarchyKind, node: int, period: Period
) -> list[PeriodFigures]:
    """The node's target, achieved and pipeline for each period of `period`'s fiscal year
    (targets from each period's forecast, when there is one). One summary read per period."""
    h = forecasts.hierarchy(tx, kind)
    if not forecasts.may_read(tx, actor, h, node):
        return []
    out = []
    for p in period.year_periods():
        found = forecasts.find_forecast(tx, kind, p.key)
        targets: Sequence[Target] = (
            forecast_store.targets(tx.conn, found.id) if found is not None else ()
        )
        exclusions = found.exclusions if found is not None else Exclusions()
        row = forecasts.node_summary(tx, h, p, exclusions, targets, node)[0]
        out.append(PeriodFigures(p, row.target, row.metrics.achieved, row.metrics.pipeline))
    return out


def settable(
    tx: Tx,
    actor: Actor,
    forecast: forecasts.Forecast,
    h: Hierarchy,
    keys: Sequence[tuple[int, int | None]],
) -> set[tuple[int, int | None]]:
    """Which of the (node, user) targets the actor may set (FC-5), to offer inputs for them."""
    if forecast.archived:
        return set()
    current = {(t.node_id, t.user_id): t for t in forecast_store.targets(tx.conn, forecast.id)}
    administrators, roles = forecasts.administrator_of(tx), forecasts.role_of(tx)
    allowed = set()
    for node, user in keys:
        try:
            may_set_target(
                h,
                actor=actor.id,
                admin=actor.admin,
                node=node,
                user=user,
                current=current.get((node, user)),
                administrator_of=administrators,
                role_of=roles,
            )
        except TargetRefused:
            continue
        allowed.add((node, user))
    return allowed


def start_node(tx: Tx, actor: Actor, h: Hierarchy) -> int | None:
    """Where a viewer starts: the root when they may read it, else the highest node they may."""
    if not h.parent:
        return None
    order = [h.root]
    index = 0
    while index < len(order):  # breadth first: the highest readable node wins
        node = order[index]
        if forecasts.may_read(tx, actor, h, node):
            return node
        order.extend(h.children.get(node, ()))
        index += 1
    return None
