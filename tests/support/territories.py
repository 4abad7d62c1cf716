"""Territory set-ups for tests, through the services (the API tests go through HTTP)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from secteur.adapters.db import territory_repo
from secteur.domain.actor import Actor, actor_for
from secteur.services import jobs
from secteur.services import territories as service
from secteur.services.app import Secteur, Tx
from secteur.services.records import Mode, write_records


def admin(tx: Tx) -> Actor:
    user = next(
        u for u in tx.state.directory.users.values() if tx.state.directory.profile_of(u).admin
    )
    actor = actor_for(tx.state.directory, user.id)
    assert actor is not None
    return actor


def enable(app: Secteur, **settings: Any) -> int:
    """Turn territory management on (from scratch unless told); returns the root's id."""
    with app.write() as tx:
        service.update_settings(tx, admin(tx), {"enabled": True, **settings})
    with app.read() as tx:
        tree = tx.state.territory.tree
        assert tree is not None
        return tree.root_id


def rule(field: str, comparator: str, value: Any) -> dict[str, Any]:
    return {"field": {"api_name": field}, "comparator": comparator, "value": value}


def create(
    app: Secteur,
    name: str,
    parent: int,
    *,
    accounts: Mapping[str, Any] | None = None,
    **extra: Any,
) -> int:
    item: dict[str, Any] = {"name": name, "reporting_to": {"id": str(parent)}, **extra}
    if accounts is not None:
        item["account_rule_criteria"] = accounts
    with app.write() as tx:
        return service.create_territory(tx, admin(tx), 0, item)


def insert(app: Secteur, module: str, items: Sequence[Mapping[str, Any]]) -> list[int]:
    with app.write() as tx:
        found = tx.state.module(module)
        assert found is not None
        results = write_records(tx, admin(tx), found, list(items), mode=Mode.INSERT)
    ids = []
    for result in results:
        assert result.code == "SUCCESS", result
        assert result.record is not None
        ids.append(result.record.id)
    return ids


def update(app: Secteur, module: str, record_id: int, values: Mapping[str, Any]) -> None:
    with app.write() as tx:
        found = tx.state.module(module)
        assert found is not None
        [result] = write_records(
            tx, admin(tx), found, [{"id": str(record_id), **values}], mode=Mode.UPDATE
        )
    assert result.code == "SUCCESS", result


def held(app: Secteur, record_id: int) -> dict[int, bool]:
    """The record's territories: id → manual?"""
    with app.read() as tx:
        rows = territory_repo.assignments(tx.conn, [record_id]).get(record_id, [])
    return {a.territory_id: a.manual for a in rows}


def run_jobs(app: Secteur) -> int:
    return jobs.run_pending(app)
