"""Profiles: what a user may do per module, and which settings they may manage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import audit_repo, directory_repo
from secteur.adapters.db import tables as t
from secteur.domain.actor import Actor
from secteur.domain.audit import AuditEvent
from secteur.domain.directory import ADMIN_PERMISSIONS, ModuleAccess, Operation, Profile
from secteur.services.app import Tx
from secteur.services.errors import NoPermission, NotFound, ServiceError, item_failure

_OPERATION_WORDS = {
    Operation.VIEW: "View",
    Operation.CREATE: "Create",
    Operation.EDIT: "Edit",
    Operation.DELETE: "Delete",
}


def permission_name(module: str, operation: Operation) -> str:
    """Zoho's name of a module permission, e.g. `Crm_Implied_View_Accounts`."""
    return f"Crm_Implied_{_OPERATION_WORDS[operation]}_{module}"


def permission_details(profile: Profile, modules: list[str]) -> list[dict[str, Any]]:
    details: list[dict[str, Any]] = []
    for module in modules:
        access = profile.module_access(module)
        for operation, word in _OPERATION_WORDS.items():
            name = permission_name(module, operation)
            details.append(
                {
                    "id": name,
                    "name": name,
                    "display_label": f"{word} {module}",
                    "module": module,
                    "enabled": access.allows(operation),
                }
            )
    for permission in ADMIN_PERMISSIONS:
        details.append(
            {
                "id": permission,
                "name": permission,
                "display_label": permission.replace("_", " ").capitalize(),
                "module": None,
                "enabled": profile.may(permission),
            }
        )
    return details


def _require(actor: Actor) -> None:
    if not actor.profile.may("manage_profiles"):
        raise NoPermission("permission denied", {"permissions": ["manage_profiles"]})


def get_profile(tx: Tx, profile_id: int) -> Profile:
    profile = tx.state.directory.profiles.get(profile_id)
    if profile is None:
        raise NotFound()
    return profile


def _name(tx: Tx, item: Mapping[str, Any], path: str, current: Profile | None) -> str:
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise item_failure(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            api_name="name",
            json_path=f"{path}.name",
        )
    if len(name.strip()) > 50:
        raise item_failure(
            "INVALID_DATA",
            "the name is too long",
            api_name="name",
            json_path=f"{path}.name",
            maximum_length=50,
        )
    for other in tx.state.directory.profiles.values():
        same = other.name.lower() == name.strip().lower()
        if same and (current is None or other.id != current.id):
            raise item_failure(
                "DUPLICATE_DATA",
                "a profile with this name exists",
                api_name="name",
                json_path=f"{path}.name",
            )
    return name.strip()


def clone_profile(tx: Tx, actor: Actor, source_id: int, item: Mapping[str, Any]) -> int:
    _require(actor)
    source = get_profile(tx, source_id)
    name = _name(tx, item, "$.profiles[0]", None)
    description = item.get("description")
    # A clone gets the source's permissions but never the built-in Administrator's nature
    # (see everything, never editable): its permissions are its own to change.
    copy = replace(
        source,
        id=0,
        name=name,
        custom=True,
        admin=False,
        modules={m.api_name: source.module_access(m.api_name) for m in tx.state.modules},
        permissions=frozenset(p for p in ADMIN_PERMISSIONS if source.may(p)),
        description=description if isinstance(description, str) else None,
    )
    new_id = directory_repo.insert_profile(tx.conn, copy, tx.now, actor.id)
    _audit(tx, actor, new_id, "create", None, {"cloned_from": str(source_id), "name": name})
    tx.metadata_changed()
    return new_id


def update_profile(
    tx: Tx, actor: Actor, profile_id: int, item: Mapping[str, Any], expected_version: int | None
) -> None:
    _require(actor)
    profile = get_profile(tx, profile_id)
    if profile.admin:
        raise ServiceError(
            "NOT_ALLOWED", "the Administrator profile cannot be changed", {"id": str(profile_id)}
        )
    changed = profile
    if "name" in item:
        changed = replace(changed, name=_name(tx, item, "$.profiles[0]", profile))
    if "description" in item:
        description = item["description"]
        if description is not None and not isinstance(description, str):
            raise item_failure(
                "INVALID_DATA",
                "invalid data",
                api_name="description",
                json_path="$.profiles[0].description",
            )
        changed = replace(changed, description=description)
    if "permissions_details" in item:
        changed = _apply_permissions(tx, changed, item["permissions_details"])
    ok = directory_repo.update_row(
        tx.conn,
        t.profiles,
        profile_id,
        {
            "name": changed.name,
            "description": changed.description,
            "permissions": directory_repo.profile_permissions_json(changed),
        },
        tx.now,
        actor.id,
        expected_version,
    )
    if not ok:
        raise ServiceError(
            "CONFLICT",
            "the profile was changed by someone else",
            {"id": str(profile_id)},
            status=409,
        )
    _audit(
        tx,
        actor,
        profile_id,
        "update",
        directory_repo.profile_permissions_json(profile) | {"name": profile.name},
        directory_repo.profile_permissions_json(changed) | {"name": changed.name},
    )
    tx.metadata_changed()


def _apply_permissions(tx: Tx, profile: Profile, details: Any) -> Profile:
    if not isinstance(details, list):
        raise item_failure(
            "INVALID_DATA",
            "invalid data",
            api_name="permissions_details",
            json_path="$.profiles[0].permissions_details",
            expected_data_type="jsonarray",
        )
    modules = {
        m.api_name: dict(vars_of(profile.module_access(m.api_name))) for m in tx.state.modules
    }
    permissions = set(profile.permissions)
    by_name = {permission_name(m, op): (m, op) for m in modules for op in _OPERATION_WORDS}
    for index, entry in enumerate(details):
        path = f"$.profiles[0].permissions_details[{index}]"
        name = entry.get("name") or entry.get("id") if isinstance(entry, Mapping) else None
        enabled = entry.get("enabled") if isinstance(entry, Mapping) else None
        if not isinstance(enabled, bool) or not isinstance(name, str):
            raise item_failure("INVALID_DATA", "invalid permission", json_path=path)
        if name in by_name:
            module, operation = by_name[name]
            modules[module][operation.value] = enabled
        elif name in ADMIN_PERMISSIONS:
            (permissions.add if enabled else permissions.discard)(name)
        else:
            raise item_failure("INVALID_DATA", "unknown permission", json_path=path, api_name=name)
    return replace(
        profile,
        modules={k: ModuleAccess(**v) for k, v in modules.items()},
        permissions=frozenset(permissions),
    )


def vars_of(access: ModuleAccess) -> dict[str, bool]:
    return {
        "view": access.view,
        "create": access.create,
        "edit": access.edit,
        "delete": access.delete,
    }


def delete_profile(tx: Tx, actor: Actor, profile_id: int, transfer_to: int | None) -> None:
    _require(actor)
    profile = get_profile(tx, profile_id)
    if not profile.custom:
        raise ServiceError(
            "NOT_ALLOWED", "standard profiles cannot be deleted", {"id": str(profile_id)}
        )
    if transfer_to is None:
        raise ServiceError(
            "REQUIRED_PARAM_MISSING", "transfer_to is missing", {"param_name": "transfer_to"}
        )
    if transfer_to == profile_id or transfer_to not in tx.state.directory.profiles:
        raise ServiceError(
            "INVALID_DATA",
            "the transfer_to given seems to be invalid",
            {"param_name": "transfer_to"},
        )
    # Moved users change like any edit: a new version and an audit event each.
    for user in tx.state.directory.users.values():
        if user.profile_id == profile_id:
            directory_repo.update_row(
                tx.conn, t.users, user.id, {"profile_id": transfer_to}, tx.now, actor.id, None
            )
            audit_repo.append(
                tx.conn,
                [
                    AuditEvent(
                        tx.now,
                        actor.id,
                        "user",
                        user.id,
                        "update",
                        actor.source,
                        None,
                        {"profile_id": profile_id},
                        {"profile_id": transfer_to},
                    )
                ],
            )
    tx.conn.execute(sa.delete(t.profiles).where(t.profiles.c.id == profile_id))
    _audit(
        tx,
        actor,
        profile_id,
        "delete",
        {"name": profile.name},
        {"transferred_to": str(transfer_to)},
    )
    tx.metadata_changed()


def _audit(
    tx: Tx,
    actor: Actor,
    profile_id: int,
    action: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    audit_repo.append(
        tx.conn,
        [
            AuditEvent(
                tx.now, actor.id, "profile", profile_id, action, actor.source, None, before, after
            )
        ],
    )
