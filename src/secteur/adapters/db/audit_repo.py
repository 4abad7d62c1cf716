"""The audit timeline and the outbox in the database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.adapters.db.bulk import BulkInsert
from secteur.domain.audit import AuditEvent

_writers: dict[str, BulkInsert] = {}


def append(conn: sa.Connection, events: Sequence[AuditEvent]) -> None:
    if not events:
        return
    writer = _writers.get(conn.dialect.name)
    if writer is None:
        writer = _writers[conn.dialect.name] = BulkInsert(t.audit_events, conn.dialect, ("id",))
    writer.execute(
        conn,
        [
            {
                "at": e.at,
                "actor_id": e.actor_id,
                "entity": e.entity,
                "module": e.module,
                "entity_id": e.entity_id,
                "action": e.action,
                "source": e.source,
                "before": e.before,
                "after": e.after,
            }
            for e in events
        ],
    )


def timeline(
    conn: sa.Connection, entity: str, entity_id: int, module: str | None = None, limit: int = 200
) -> list[AuditEvent]:
    """The newest events of one entity first."""
    query = (
        sa.select(t.audit_events)
        .where(t.audit_events.c.entity == entity, t.audit_events.c.entity_id == entity_id)
        .order_by(t.audit_events.c.id.desc())
        .limit(limit)
    )
    if module is not None:
        query = query.where(t.audit_events.c.module == module)
    return [_event(r) for r in conn.execute(query)]


def recent(conn: sa.Connection, entity: str, limit: int) -> list[AuditEvent]:
    """The newest events of a kind of entity (every record, every user…), newest first."""
    query = (
        sa.select(t.audit_events)
        .where(t.audit_events.c.entity == entity)
        .order_by(t.audit_events.c.id.desc())
        .limit(limit)
    )
    return [_event(r) for r in conn.execute(query)]


def _event(r: sa.Row[Any]) -> AuditEvent:
    return AuditEvent(
        at=r.at,
        actor_id=r.actor_id,
        entity=r.entity,
        entity_id=r.entity_id,
        action=r.action,
        source=r.source,
        module=r.module,
        before=r.before,
        after=r.after,
    )


def enqueue(
    conn: sa.Connection, messages: Iterable[tuple[str, Mapping[str, Any]]], now: datetime
) -> None:
    rows = [
        {"created_time": now, "kind": kind, "payload": dict(payload), "deliver_after": now}
        for kind, payload in messages
    ]
    if rows:
        conn.execute(t.outbox.insert(), rows)
