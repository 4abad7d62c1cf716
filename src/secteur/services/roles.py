"""The role hierarchy: create, rename, move (never into a loop), delete with transfer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import audit_repo, directory_repo
from secteur.adapters.db import tables as t
from secteur.domain.actor import Actor
from secteur.domain.audit import AuditEvent
from secteur.domain.directory import Role, RoleCycle
from secteur.domain.records import InvalidValue, reference_id
from secteur.services.app import Tx
from secteur.services.audit import config_change
from secteur.services.errors import NoPermission, NotFound, ServiceError, item_failure

MAX_NAME = 50
MAX_DESCRIPTION = 250


def _require(actor: Actor) -> None:
    if not actor.profile.may("manage_roles"):
        raise NoPermission("permission denied", {"permissions": ["manage_roles"]})


def get_role(tx: Tx, role_id: int) -> Role:
    role = tx.state.directory.roles.roles.get(role_id)
    if role is None:
        raise NotFound()
    return role


def _check(tx: Tx, item: Mapping[str, Any], index: int, current: Role | None) -> dict[str, Any]:
    roles = tx.state.directory.roles

    def path(key: str) -> str:
        return f"$.roles[{index}].{key}"

    values: dict[str, Any] = {}
    if current is None or "name" in item:
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise item_failure(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                api_name="name",
                json_path=path("name"),
            )
        if len(name.strip()) > MAX_NAME:
            raise item_failure(
                "INVALID_DATA",
                "the name is too long",
                api_name="name",
                json_path=path("name"),
                maximum_length=MAX_NAME,
            )
        clash = next(
            (
                r
                for r in roles.roles.values()
                if r.name.lower() == name.strip().lower()
                and (current is None or r.id != current.id)
            ),
            None,
        )
        if clash is not None:
            raise item_failure(
                "DUPLICATE_DATA",
                "a role with this name exists",
                api_name="name",
                json_path=path("name"),
                id=str(clash.id),
            )
        values["name"] = name.strip()
    if "description" in item:
        description = item["description"]
        if description is not None and (
            not isinstance(description, str) or len(description) > MAX_DESCRIPTION
        ):
            raise item_failure(
                "INVALID_DATA",
                "invalid description",
                api_name="description",
                json_path=path("description"),
                maximum_length=MAX_DESCRIPTION,
            )
        values["description"] = description
    if "share_with_peers" in item:
        share = item["share_with_peers"]
        if not isinstance(share, bool):
            raise item_failure(
                "INVALID_DATA",
                "invalid data",
                api_name="share_with_peers",
                json_path=path("share_with_peers"),
                expected_data_type="boolean",
            )
        values["share_with_peers"] = share
    if current is None or "reporting_to" in item:
        try:
            parent = reference_id(item.get("reporting_to"))
        except InvalidValue:
            parent = -1
        is_root = current is not None and current.reporting_to is None
        if is_root:
            if parent is not None:
                raise item_failure(
                    "INVALID_DATA",
                    "the top role cannot report to another role",
                    api_name="reporting_to",
                    json_path=path("reporting_to"),
                )
        else:
            if parent is None:
                raise item_failure(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    api_name="reporting_to",
                    json_path=path("reporting_to"),
                )
            if parent not in roles.roles:
                raise item_failure(
                    "INVALID_DATA",
                    "the reporting_to given seems to be invalid",
                    api_name="reporting_to",
                    json_path=path("reporting_to"),
                )
            if current is not None:
                try:
                    roles.check_move(current.id, parent)
                except RoleCycle as exc:
                    raise item_failure(
                        "INVALID_DATA",
                        str(exc),
                        api_name="reporting_to",
                        json_path=path("reporting_to"),
                    ) from None
            values["reporting_to"] = parent
    return values


def create_role(tx: Tx, actor: Actor, index: int, item: Mapping[str, Any]) -> int:
    _require(actor)
    values = _check(tx, item, index, None)
    role_id = directory_repo.insert_role(
        tx.conn,
        values["name"],
        values["reporting_to"],
        values.get("share_with_peers", False),
        values.get("description"),
        tx.now,
        actor.id,
    )
    config_change(tx, actor, "role", role_id, "create", {}, values)
    tx.metadata_changed()
    return role_id


def update_role(
    tx: Tx,
    actor: Actor,
    role_id: int,
    index: int,
    item: Mapping[str, Any],
    expected_version: int | None = None,
) -> None:
    _require(actor)
    current = tx.state.directory.roles.roles.get(role_id)
    if current is None:
        raise item_failure("INVALID_DATA", "the id given seems to be invalid", id=str(role_id))
    values = _check(tx, item, index, current)
    if not directory_repo.update_row(
        tx.conn, t.roles, role_id, values, tx.now, actor.id, expected_version
    ):
        raise ServiceError(
            "CONFLICT", "the role was changed by someone else", {"id": str(role_id)}, status=409
        )
    before = {
        "name": current.name,
        "reporting_to": current.reporting_to,
        "share_with_peers": current.share_with_peers,
        "description": current.description,
    }
    config_change(tx, actor, "role", role_id, "update", before, values)
    tx.metadata_changed()


def delete_role(tx: Tx, actor: Actor, role_id: int, transfer_to: int | None) -> None:
    """Delete a role; its users and sub-roles move to `transfer_to`."""
    _require(actor)
    roles = tx.state.directory.roles
    role = get_role(tx, role_id)
    if role.reporting_to is None:
        raise ServiceError("NOT_ALLOWED", "the top role cannot be deleted", {"id": str(role_id)})
    if transfer_to is None:
        raise ServiceError(
            "REQUIRED_PARAM_MISSING", "transfer_to_id is missing", {"param_name": "transfer_to_id"}
        )
    if (
        transfer_to not in roles.roles
        or transfer_to == role_id
        or transfer_to in roles.descendants(role_id)
    ):
        raise ServiceError(
            "INVALID_DATA",
            "the transfer_to_id given seems to be invalid",
            {"param_name": "transfer_to_id"},
        )
    moved_users = [u.id for u in tx.state.directory.users.values() if u.role_id == role_id]
    moved_roles = sorted(roles.children.get(role_id, ()))
    # Moved users and sub-roles change like any edit: a new version (so an If-Match taken
    # before the move is stale) and an audit event each.
    for user_id in moved_users:
        directory_repo.update_row(
            tx.conn, t.users, user_id, {"role_id": transfer_to}, tx.now, actor.id, None
        )
        audit_repo.append(
            tx.conn,
            [
                AuditEvent(
                    tx.now,
                    actor.id,
                    "user",
                    user_id,
                    "update",
                    actor.source,
                    None,
                    {"role_id": role_id},
                    {"role_id": transfer_to},
                )
            ],
        )
    for child in moved_roles:
        directory_repo.update_row(
            tx.conn, t.roles, child, {"reporting_to": transfer_to}, tx.now, actor.id, None
        )
        config_change(
            tx,
            actor,
            "role",
            child,
            "update",
            {"reporting_to": role_id},
            {"reporting_to": transfer_to},
        )
    tx.conn.execute(sa.delete(t.roles).where(t.roles.c.id == role_id))
    config_change(
        tx,
        actor,
        "role",
        role_id,
        "delete",
        {"name": role.name, "reporting_to": role.reporting_to},
        {"transferred_to": transfer_to},
    )
    tx.metadata_changed()
