"""The audit trail of configuration changes (users, roles, territories…)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from secteur.adapters.db import audit_repo
from secteur.domain.actor import Actor
from secteur.domain.audit import AuditEvent, diff, jsonable
from secteur.services.app import Tx


def config_change(
    tx: Tx,
    actor: Actor,
    entity: str,
    entity_id: int,
    action: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> None:
    """Record one change. An update keeps only what changed; any other action keeps its
    snapshots whole."""
    old: Mapping[str, Any] | None = jsonable(before) or None
    new: Mapping[str, Any] | None = jsonable(after) or None
    if action == "update":
        old, new = diff(before, after)
    audit_repo.append(
        tx.conn,
        [AuditEvent(tx.now, actor.id, entity, entity_id, action, actor.source, None, old, new)],
    )
