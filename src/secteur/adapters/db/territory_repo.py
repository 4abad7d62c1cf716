"""Territories, their members and record assignments in the database."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.domain.criteria import Criteria, parse_criteria
from secteur.domain.territories import Permission, Territory, TerritorySettings

SETTINGS_KEY = "territory_management"
# Rows per statement when writing many assignments: under SQLite's parameter limit.
CHUNK = 5000


def load_settings(org_settings: Mapping[str, Any]) -> TerritorySettings:
    return TerritorySettings.from_json(org_settings.get(SETTINGS_KEY))


def save_settings(conn: sa.Connection, settings: TerritorySettings) -> None:
    current = conn.execute(sa.select(t.org.c.id, t.org.c.settings)).one()
    merged = {**(current.settings or {}), SETTINGS_KEY: settings.to_json()}
    conn.execute(t.org.update().where(t.org.c.id == current.id).values(settings=merged))


def _territory(row: sa.Row[Any]) -> Territory:
    return Territory(
        id=row.id,
        name=row.name,
        parent_id=row.parent_id,
        sequence=row.sequence,
        manager_id=row.manager_id,
        permission=Permission(row.permission),
        description=row.description,
        rules={module: _parsed(raw) for module, raw in (row.rules or {}).items()},
        created_by=row.created_by,
        created_time=row.created_time,
        modified_by=row.modified_by,
        modified_time=row.modified_time,
    )


def _parsed(raw: Any) -> Criteria:
    """Rules are parsed once per process per distinct JSON: a tree reload after an edit
    parses only the rule that changed."""
    return _parse_text(json.dumps(raw, sort_keys=True))


@functools.lru_cache(maxsize=200_000)
def _parse_text(text: str) -> Criteria:
    return parse_criteria(json.loads(text))


def load_territories(conn: sa.Connection) -> list[Territory]:
    rows = conn.execute(sa.select(t.territories).where(t.territories.c.archived_time.is_(None)))
    return [_territory(row) for row in rows]


def insert_territory(conn: sa.Connection, values: Mapping[str, Any]) -> int:
    result = conn.execute(t.territories.insert().values(**values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def update_territory(conn: sa.Connection, territory_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(
        t.territories.update()
        .where(t.territories.c.id == territory_id)
        .values(**values, version=t.territories.c.version + 1)
    )


def archive_territory(
    conn: sa.Connection, territory_id: int, now: datetime, actor: int | None
) -> None:
    conn.execute(
        t.territories.update()
        .where(t.territories.c.id == territory_id)
        .values(archived_time=now, modified_time=now, modified_by=actor)
    )
    conn.execute(
        t.territory_members.delete().where(t.territory_members.c.territory_id == territory_id)
    )


def lock_tree(conn: sa.Connection) -> None:
    """Serialize tree writes (SQLite serializes every write transaction already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(t.org.c.id).with_for_update())


# --- members ---


@dataclass(frozen=True, slots=True)
class Membership:
    territory_id: int
    user_id: int
    added_time: datetime


def members(conn: sa.Connection, territory_id: int) -> list[Membership]:
    m = t.territory_members
    rows = conn.execute(
        sa.select(m).where(m.c.territory_id == territory_id).order_by(m.c.added_time, m.c.user_id)
    )
    return [Membership(r.territory_id, r.user_id, r.added_time) for r in rows]


def member_counts(conn: sa.Connection) -> dict[int, int]:
    m = t.territory_members
    rows = conn.execute(sa.select(m.c.territory_id, sa.func.count()).group_by(m.c.territory_id))
    return {r[0]: int(r[1]) for r in rows}


def territories_of(conn: sa.Connection, user_id: int) -> list[int]:
    m = t.territory_members
    rows = conn.execute(sa.select(m.c.territory_id).where(m.c.user_id == user_id))
    return [r[0] for r in rows]


def add_member(
    conn: sa.Connection, territory_id: int, user_id: int, now: datetime, actor: int | None
) -> None:
    conn.execute(
        t.territory_members.insert().values(
            territory_id=territory_id, user_id=user_id, added_by=actor, added_time=now
        )
    )


def remove_member(conn: sa.Connection, territory_id: int, user_id: int) -> bool:
    m = t.territory_members
    result = conn.execute(
        m.delete().where(m.c.territory_id == territory_id, m.c.user_id == user_id)
    )
    return result.rowcount == 1


# --- record assignments ---


@dataclass(frozen=True, slots=True)
class Assigned:
    territory_id: int
    manual: bool
    assigned_by: int | None
    assigned_time: datetime


def assignments(conn: sa.Connection, record_ids: Sequence[int]) -> dict[int, list[Assigned]]:
    """Each record's territories (automatic and manual), in no particular order."""
    rt = t.record_territories
    out: dict[int, list[Assigned]] = defaultdict(list)
    for start in range(0, len(record_ids), CHUNK):
        chunk = record_ids[start : start + CHUNK]
        rows = conn.execute(sa.select(rt).where(rt.c.record_id.in_(chunk)))
        for r in rows:
            out[r.record_id].append(
                Assigned(r.territory_id, r.manual, r.assigned_by, r.assigned_time)
            )
    return out


def add_manual(
    conn: sa.Connection,
    module: str,
    record_id: int,
    territory_ids: Sequence[int],
    now: datetime,
    actor: int,
) -> None:
    conn.execute(
        t.record_territories.insert(),
        [
            {
                "record_id": record_id,
                "territory_id": tid,
                "module": module,
                "manual": True,
                "assigned_by": actor,
                "assigned_time": now,
            }
            for tid in territory_ids
        ],
    )


def remove(conn: sa.Connection, record_id: int, territory_ids: Sequence[int]) -> None:
    rt = t.record_territories
    conn.execute(
        rt.delete().where(rt.c.record_id == record_id, rt.c.territory_id.in_(territory_ids))
    )


def records_in(conn: sa.Connection, territory_id: int) -> list[tuple[int, str, bool]]:
    rt = t.record_territories
    rows = conn.execute(
        sa.select(rt.c.record_id, rt.c.module, rt.c.manual).where(rt.c.territory_id == territory_id)
    )
    return [(r[0], r[1], r[2]) for r in rows]


def record_ids_in(territory_ids: Iterable[int], module: str) -> sa.Select[tuple[int]]:
    """A subquery of the ids of `module` records assigned to any of `territory_ids`."""
    rt = t.record_territories
    return sa.select(rt.c.record_id).where(
        rt.c.territory_id.in_(sorted(set(territory_ids))), rt.c.module == module
    )


def assignment_counts(
    conn: sa.Connection, module: str, territory_ids: Iterable[int] | None
) -> dict[int, int]:
    """Records of a module assigned to each territory (all territories when ids is None)."""
    rt = t.record_territories
    query = (
        sa.select(rt.c.territory_id, sa.func.count())
        .where(rt.c.module == module)
        .group_by(rt.c.territory_id)
    )
    if territory_ids is not None:
        query = query.where(rt.c.territory_id.in_(sorted(set(territory_ids))))
    return {int(row[0]): int(row[1]) for row in conn.execute(query)}


def forget_assignments_of(conn: sa.Connection, territory_id: int) -> None:
    rt = t.record_territories
    conn.execute(rt.delete().where(rt.c.territory_id == territory_id))


def transfer_assignments(
    conn: sa.Connection,
    rows: Sequence[tuple[int, str, bool]],
    territory_id: int,
    now: datetime,
    actor: int | None,
) -> None:
    """Give `territory_id` to the records of `rows` that do not hold it yet, keeping how."""
    have = {
        r
        for r, _ in conn.execute(
            sa.select(t.record_territories.c.record_id, t.record_territories.c.territory_id).where(
                t.record_territories.c.territory_id == territory_id
            )
        )
    }
    fresh = [
        {
            "record_id": record_id,
            "territory_id": territory_id,
            "module": module,
            "manual": manual,
            "assigned_by": actor if manual else None,
            "assigned_time": now,
        }
        for record_id, module, manual in rows
        if record_id not in have
    ]
    for start in range(0, len(fresh), CHUNK):
        conn.execute(t.record_territories.insert(), fresh[start : start + CHUNK])
