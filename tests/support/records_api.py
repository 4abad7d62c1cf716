"""Helpers for the records API tests: clients for other users, people and records made fast
through the services, and a fingerprint of the database to prove a request changed nothing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.domain.actor import Actor, actor_for
from secteur.services import profiles, roles, users
from secteur.services import records as record_service
from secteur.services.app import Secteur, Tx
from tests.conftest import token_for
from tests.support.orgs import ADMIN_EMAIL, ALL_SCOPES

JSON = "application/json"


def user_id(app: Secteur, email: str) -> int:
    with app.read() as tx:
        found = tx.conn.execute(
            sa.select(t.users.c.id).where(t.users.c.email_key == email.lower())
        ).scalar_one()
        return int(found)


def admin_id(app: Secteur) -> int:
    return user_id(app, ADMIN_EMAIL)


def _actor(tx: Tx, acting: int) -> Actor:
    actor = actor_for(tx.state.directory, acting, source="cli")
    assert actor is not None
    return actor


def root_role(app: Secteur) -> int:
    with app.read() as tx:
        root = tx.state.directory.roles.root
        assert root is not None
        return root.id


def profile_id(app: Secteur, name: str) -> int:
    with app.read() as tx:
        return next(p.id for p in tx.state.directory.profiles.values() if p.name == name)


def make_role(app: Secteur, name: str, reporting_to: int, *, share_with_peers: bool = False) -> int:
    with app.write() as tx:
        return roles.create_role(
            tx,
            _actor(tx, admin_id(app)),
            0,
            {
                "name": name,
                "reporting_to": {"id": str(reporting_to)},
                "share_with_peers": share_with_peers,
            },
        )


def make_user(app: Secteur, email: str, role: int, profile: str = "Standard") -> int:
    with app.write() as tx:
        return users.create_user(
            tx,
            _actor(tx, admin_id(app)),
            0,
            {
                "last_name": email.split("@")[0].title(),
                "email": email,
                "role": {"id": str(role)},
                "profile": {"id": str(profile_id(app, profile))},
            },
        )


def deactivate(app: Secteur, acting_on: int) -> None:
    with app.write() as tx:
        users.update_user(tx, _actor(tx, admin_id(app)), acting_on, 0, {"status": "inactive"})


def clone_profile_without(app: Secteur, name: str, permissions: Sequence[str]) -> int:
    """A copy of Standard with the named permissions (e.g. Crm_Implied_Delete_Accounts) off."""
    with app.write() as tx:
        actor = _actor(tx, admin_id(app))
        new = profiles.clone_profile(tx, actor, profile_id(app, "Standard"), {"name": name})
    with app.write() as tx:
        profiles.update_profile(
            tx,
            _actor(tx, admin_id(app)),
            new,
            {"permissions_details": [{"name": p, "enabled": False} for p in permissions]},
            None,
        )
    return new


def set_profile(app: Secteur, acting_on: int, profile: int) -> None:
    with app.write() as tx:
        users.update_user(
            tx, _actor(tx, admin_id(app)), acting_on, 0, {"profile": {"id": str(profile)}}
        )


@contextmanager
def client(base_url: str, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=base_url, timeout=60, headers={"Authorization": f"Zoho-oauthtoken {token}"}
    ) as c:
        yield c


@contextmanager
def client_for(
    app: Secteur, base_url: str, email: str, scopes: str = ALL_SCOPES
) -> Iterator[httpx.Client]:
    with client(base_url, token_for(app, email, scopes)) as c:
        yield c


def insert_fast(
    app: Secteur, module: str, items: Sequence[Mapping[str, Any]], *, as_user: int | None = None
) -> list[int]:
    """Records written through the service layer in one transaction (no 100-record limit)."""
    with app.write() as tx:
        actor = _actor(tx, as_user if as_user is not None else admin_id(app))
        found = tx.state.module(module)
        assert found is not None
        results = record_service.write_records(
            tx, actor, found, list(items), mode=record_service.Mode.INSERT, max_batch=None
        )
        assert all(r.ok for r in results), [r.details for r in results if not r.ok][:3]
        return [r.record.id for r in results if r.record is not None]


def create(api: httpx.Client, module: str, *items: Mapping[str, Any]) -> list[str]:
    """Insert records through the API; their ids."""
    response = api.post(f"/crm/v8/{module}", json={"data": list(items)})
    assert response.status_code == 201, response.text
    return [item["details"]["id"] for item in response.json()["data"]]


def snapshot(app: Secteur) -> dict[str, Any]:
    """Everything a record request could change: rows and versions of every module, the recycle
    bin, the audit timeline and the outbox."""
    with app.read() as tx:
        state: dict[str, Any] = {}
        for module in tx.state.modules:
            table = tx.state.table(module).table
            row = tx.conn.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(table.c.version), 0),
                    sa.func.max(table.c.modified_time),
                )
            ).one()
            state[module.api_name] = tuple(row)
        for extra in (t.deleted_records, t.audit_events, t.outbox, t.users, t.roles):
            state[extra.name] = tx.conn.execute(
                sa.select(sa.func.count()).select_from(extra)
            ).scalar_one()
        return state


def audit_events(app: Secteur, module: str, record_id: int | str) -> list[Mapping[str, Any]]:
    """The audit timeline of one record, oldest first."""
    with app.read() as tx:
        rows = (
            tx.conn.execute(
                sa.select(t.audit_events)
                .where(
                    t.audit_events.c.entity == "record",
                    t.audit_events.c.module == module,
                    t.audit_events.c.entity_id == int(record_id),
                )
                .order_by(t.audit_events.c.id)
            )
            .mappings()
            .all()
        )
        return [dict(r) for r in rows]


def assert_zoho_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A top-level Zoho error object with the given status and code; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(JSON)
    body = response.json()
    assert set(body) == {"code", "details", "message", "status"}, body
    assert body["code"] == code, body
    assert body["status"] == "error"
    assert isinstance(body["details"], dict) and isinstance(body["message"], str)
    return dict(body)
