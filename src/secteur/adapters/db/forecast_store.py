"""Forecasts, their targets and snapshots in the database (the cells are `forecast_repo`'s)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.adapters.db.types import UTCDateTime
from secteur.domain.forecasts import Exclusions, HierarchyKind, Period, Target

__all__ = [
    "ForecastRow",
    "SnapshotRow",
    "delete_forecast",
    "delete_target",
    "exclusions_from_json",
    "forecast",
    "forecasts",
    "insert_forecast",
    "insert_snapshot",
    "last_snapshot_times",
    "snapshot",
    "snapshots",
    "targets",
    "update_exclusions",
    "upsert_target",
]

NODE = 0  # `user_id` of a node's own target


@dataclass(frozen=True, slots=True)
class ForecastRow:
    id: int
    hierarchy: HierarchyKind
    period: Period
    exclusions: Exclusions
    created_by: int | None
    created_time: datetime
    modified_by: int | None
    modified_time: datetime


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    id: int
    forecast_id: int
    taken_time: datetime
    taken_by: int | None
    scheduled: bool
    rows: list[dict[str, Any]]


def exclusions_from_json(raw: Mapping[str, Any] | None) -> Exclusions:
    raw = raw or {}

    def ids(key: str) -> frozenset[int]:
        return frozenset(int(i) for i in raw.get(key) or ())

    return Exclusions(ids("territories"), ids("roles"), ids("users"))


def _exclusions_json(exclusions: Exclusions) -> dict[str, list[int]]:
    return {
        "territories": sorted(exclusions.territories),
        "roles": sorted(exclusions.roles),
        "users": sorted(exclusions.users),
    }


def _forecast(row: sa.Row[Any]) -> ForecastRow:
    return ForecastRow(
        id=int(row.id),
        hierarchy=HierarchyKind(row.hierarchy),
        period=Period.parse(
            row.period, row.period_kind, row.fiscal_year_start_month, row.fiscal_year_naming
        ),
        exclusions=exclusions_from_json(row.exclusions),
        created_by=row.created_by,
        created_time=row.created_time,
        modified_by=row.modified_by,
        modified_time=row.modified_time,
    )


def forecasts(conn: sa.Connection) -> list[ForecastRow]:
    f = t.forecasts
    rows = conn.execute(sa.select(f).order_by(f.c.period.desc(), f.c.hierarchy, f.c.id))
    return [_forecast(r) for r in rows]


def forecast(conn: sa.Connection, forecast_id: int, *, lock: bool = False) -> ForecastRow | None:
    query = sa.select(t.forecasts).where(t.forecasts.c.id == forecast_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else _forecast(row)


def insert_forecast(
    conn: sa.Connection,
    hierarchy: HierarchyKind,
    period: Period,
    exclusions: Exclusions,
    now: datetime,
    actor: int | None,
) -> int:
    result = conn.execute(
        t.forecasts.insert().values(
            hierarchy=hierarchy.value,
            period=period.key,
            period_kind=period.kind,
            fiscal_year_start_month=period.start_month,
            fiscal_year_naming=period.naming,
            exclusions=_exclusions_json(exclusions),
            created_time=now,
            modified_time=now,
            created_by=actor,
            modified_by=actor,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def update_exclusions(
    conn: sa.Connection, forecast_id: int, exclusions: Exclusions, now: datetime, actor: int
) -> None:
    f = t.forecasts
    conn.execute(
        f.update()
        .where(f.c.id == forecast_id)
        .values(
            exclusions=_exclusions_json(exclusions),
            modified_time=now,
            modified_by=actor,
            version=f.c.version + 1,
        )
    )


def delete_forecast(conn: sa.Connection, forecast_id: int) -> None:
    conn.execute(
        t.forecast_snapshots.delete().where(t.forecast_snapshots.c.forecast_id == forecast_id)
    )
    conn.execute(t.forecast_targets.delete().where(t.forecast_targets.c.forecast_id == forecast_id))
    conn.execute(t.forecasts.delete().where(t.forecasts.c.id == forecast_id))


# --- targets ---


def targets(conn: sa.Connection, forecast_id: int) -> list[Target]:
    g = t.forecast_targets
    rows = conn.execute(
        sa.select(g).where(g.c.forecast_id == forecast_id).order_by(g.c.node_id, g.c.user_id)
    )
    return [
        Target(
            int(r.node_id),
            None if r.user_id == NODE else int(r.user_id),
            r.amount_cents / 100,
            r.set_by,
        )
        for r in rows
    ]


def upsert_target(
    conn: sa.Connection,
    forecast_id: int,
    node_id: int,
    user_id: int | None,
    amount_cents: int,
    set_by: int,
    now: datetime,
) -> None:
    g = t.forecast_targets
    key = (g.c.forecast_id == forecast_id, g.c.node_id == node_id, g.c.user_id == (user_id or NODE))
    values = {"amount_cents": amount_cents, "set_by": set_by, "set_time": now}
    if conn.execute(g.update().where(*key).values(**values)).rowcount == 0:
        conn.execute(
            g.insert().values(
                forecast_id=forecast_id, node_id=node_id, user_id=user_id or NODE, **values
            )
        )


def delete_target(conn: sa.Connection, forecast_id: int, node_id: int, user_id: int | None) -> bool:
    g = t.forecast_targets
    result = conn.execute(
        g.delete().where(
            g.c.forecast_id == forecast_id, g.c.node_id == node_id, g.c.user_id == (user_id or NODE)
        )
    )
    return result.rowcount > 0


# --- snapshots ---


def insert_snapshot(
    conn: sa.Connection,
    forecast_id: int,
    rows: Sequence[Mapping[str, Any]],
    now: datetime,
    actor: int | None,
    *,
    scheduled: bool = False,
) -> int:
    result = conn.execute(
        t.forecast_snapshots.insert().values(
            forecast_id=forecast_id,
            taken_time=now,
            taken_by=actor,
            scheduled=scheduled,
            rows=[dict(r) for r in rows],
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _snapshot(row: Any, with_rows: bool) -> SnapshotRow:
    return SnapshotRow(
        id=int(row.id),
        forecast_id=int(row.forecast_id),
        taken_time=row.taken_time,
        taken_by=row.taken_by,
        scheduled=bool(row.scheduled),
        rows=list(row.rows) if with_rows else [],
    )


def snapshots(conn: sa.Connection, forecast_id: int) -> list[SnapshotRow]:
    """The forecast's snapshots, newest first, without their rows."""
    s = t.forecast_snapshots
    columns = (s.c.id, s.c.forecast_id, s.c.taken_time, s.c.taken_by, s.c.scheduled)
    rows = conn.execute(
        sa.select(*columns)
        .where(s.c.forecast_id == forecast_id)
        .order_by(s.c.taken_time.desc(), s.c.id.desc())
    )
    return [_snapshot(r, False) for r in rows]


def snapshot(conn: sa.Connection, forecast_id: int, snapshot_id: int) -> SnapshotRow | None:
    s = t.forecast_snapshots
    row = conn.execute(
        sa.select(s).where(s.c.id == snapshot_id, s.c.forecast_id == forecast_id)
    ).first()
    return None if row is None else _snapshot(row, True)


def last_snapshot_times(conn: sa.Connection) -> dict[int, datetime]:
    """Each forecast's latest snapshot time (forecasts without one are absent)."""
    s = t.forecast_snapshots
    latest = sa.type_coerce(sa.func.max(s.c.taken_time), UTCDateTime)
    rows = conn.execute(sa.select(s.c.forecast_id, latest).group_by(s.c.forecast_id))
    return {int(forecast_id): taken for forecast_id, taken in rows if taken is not None}
