"""Users, roles, profiles and the org row in the database."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.domain.directory import (
    Directory,
    ModuleAccess,
    Profile,
    Role,
    RoleTree,
    User,
    UserStatus,
)
from secteur.domain.org import Org, OrgType


def load_org(conn: sa.Connection) -> Org:
    row = conn.execute(sa.select(t.org)).one()
    return Org(
        id=row.id,
        name=row.name,
        zgid=row.zgid,
        time_zone=row.time_zone,
        currency=row.currency,
        type=OrgType(row.type),
        created_time=row.created_time,
        country=row.country,
        primary_email=row.primary_email,
        settings=row.settings or {},
        version=row.version,
    )


def profile_permissions_json(profile: Profile) -> dict[str, Any]:
    return {
        "admin": profile.admin,
        "modules": {
            name: {"view": a.view, "create": a.create, "edit": a.edit, "delete": a.delete}
            for name, a in profile.modules.items()
        },
        "permissions": sorted(profile.permissions),
    }


def _profile(row: sa.Row[Any]) -> Profile:
    raw: Mapping[str, Any] = row.permissions
    return Profile(
        id=row.id,
        name=row.name,
        custom=row.custom,
        admin=bool(raw.get("admin")),
        modules={k: ModuleAccess(**v) for k, v in (raw.get("modules") or {}).items()},
        permissions=frozenset(raw.get("permissions") or ()),
        description=row.description,
        version=row.version,
    )


def _role(row: sa.Row[Any]) -> Role:
    return Role(
        row.id, row.name, row.reporting_to, row.share_with_peers, row.description, row.version
    )


def _user(row: sa.Row[Any]) -> User:
    return User(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        status=UserStatus(row.status),
        role_id=row.role_id,
        profile_id=row.profile_id,
        reporting_to=row.reporting_to,
        time_zone=row.time_zone,
        version=row.version,
    )


def load_directory(conn: sa.Connection) -> Directory:
    users = {r.id: _user(r) for r in conn.execute(sa.select(t.users))}
    roles = RoleTree.of(_role(r) for r in conn.execute(sa.select(t.roles)))
    profiles = {r.id: _profile(r) for r in conn.execute(sa.select(t.profiles))}
    return Directory(users, roles, profiles)


def stamp(now: datetime, actor: int | None) -> dict[str, Any]:
    return {"created_time": now, "modified_time": now, "created_by": actor, "modified_by": actor}


def insert_role(
    conn: sa.Connection,
    name: str,
    reporting_to: int | None,
    share_with_peers: bool,
    description: str | None,
    now: datetime,
    actor: int | None,
) -> int:
    return int(
        conn.execute(
            t.roles.insert()
            .values(
                name=name,
                reporting_to=reporting_to,
                share_with_peers=share_with_peers,
                description=description,
                **stamp(now, actor),
            )
            .returning(t.roles.c.id)
        ).scalar_one()
    )


def insert_profile(conn: sa.Connection, profile: Profile, now: datetime, actor: int | None) -> int:
    return int(
        conn.execute(
            t.profiles.insert()
            .values(
                name=profile.name,
                description=profile.description,
                custom=profile.custom,
                permissions=profile_permissions_json(profile),
                **stamp(now, actor),
            )
            .returning(t.profiles.c.id)
        ).scalar_one()
    )


def insert_user(
    conn: sa.Connection, values: Mapping[str, Any], now: datetime, actor: int | None
) -> int:
    return int(
        conn.execute(
            t.users.insert()
            .values(**values, email_key=str(values["email"]).lower(), **stamp(now, actor))
            .returning(t.users.c.id)
        ).scalar_one()
    )


def update_row(
    conn: sa.Connection,
    table: sa.Table,
    row_id: int,
    values: Mapping[str, Any],
    now: datetime,
    actor: int | None,
    expected_version: int | None,
) -> bool:
    """Update a settings row, bumping its version; False if `expected_version` is stale."""
    query = table.update().where(table.c.id == row_id)
    if expected_version is not None:
        query = query.where(table.c.version == expected_version)
    result = conn.execute(
        query.values(**values, modified_time=now, modified_by=actor, version=table.c.version + 1)
    )
    return result.rowcount == 1


def password_hash(conn: sa.Connection, email: str) -> tuple[int, str | None] | None:
    row = conn.execute(
        sa.select(t.users.c.id, t.users.c.password_hash, t.users.c.status).where(
            t.users.c.email_key == email.lower()
        )
    ).first()
    if row is None or row.status != UserStatus.ACTIVE.value:
        return None
    return int(row.id), row.password_hash
