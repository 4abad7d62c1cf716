"""Users: create (active at once, core.md), update, deactivate, delete, passwords."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from secteur.adapters.db import directory_repo
from secteur.adapters.db import tables as t
from secteur.domain.actor import Actor
from secteur.domain.directory import User, UserStatus
from secteur.domain.passwords import WeakPassword, hash_password
from secteur.domain.records import EMAIL, InvalidValue, reference_id
from secteur.services.app import Tx
from secteur.services.audit import config_change
from secteur.services.errors import NoPermission, NotFound, ServiceError, item_failure

# Zoho's user list types → the statuses they select (AdminUsers filters on the profile too).
USER_TYPES = {
    "allusers": None,
    "activeusers": (UserStatus.ACTIVE,),
    "activeconfirmedusers": (UserStatus.ACTIVE,),
    "confirmedusers": (UserStatus.ACTIVE, UserStatus.INACTIVE),
    "notconfirmedusers": (),
    "deactiveusers": (UserStatus.INACTIVE,),
    "deletedusers": (UserStatus.DELETED,),
    "adminusers": None,
    "activeconfirmedadmins": (UserStatus.ACTIVE,),
    "currentuser": None,
}
STATUS_WORDS = {
    "active": UserStatus.ACTIVE,
    "enabled": UserStatus.ACTIVE,
    "inactive": UserStatus.INACTIVE,
    "disabled": UserStatus.INACTIVE,
}


def list_users(tx: Tx, actor: Actor, user_type: str | None) -> list[User]:
    kind = (user_type or "AllUsers").lower()
    if kind not in USER_TYPES:
        raise ServiceError(
            "INVALID_DATA",
            "invalid user type",
            {"param_name": "type", "supported_values": sorted(USER_TYPES)},
        )
    if kind == "currentuser":
        return [actor.user]
    directory = tx.state.directory
    statuses = USER_TYPES[kind]
    users = [
        u
        for u in directory.users.values()
        if (
            (statuses is None and u.status is not UserStatus.DELETED)
            or (statuses is not None and u.status in statuses)
        )
        and (not kind.endswith(("admins", "adminusers")) or directory.profile_of(u).admin)
    ]
    return sorted(users, key=lambda u: u.id)


def get_user(tx: Tx, user_id: int) -> User:
    user = tx.state.directory.users.get(user_id)
    if user is None:
        raise NotFound()
    return user


def _require_manager(actor: Actor) -> None:
    if not actor.profile.may("manage_users"):
        raise ServiceError(
            "NO_PERMISSION", "permission denied", {"permissions": ["manage_users"]}, status=403
        )


def _guard_admin_rights(
    tx: Tx, actor: Actor, target: User | None, values: Mapping[str, Any]
) -> None:
    """Only administrators make, change or remove administrators.

    Otherwise a user manager could give themselves the Administrator profile, or lock the
    administrators out.
    """
    if actor.admin:
        return
    profiles = tx.state.directory.profiles
    grants = "profile_id" in values and profiles[values["profile_id"]].admin
    touches = target is not None and profiles[target.profile_id].admin
    if grants or touches:
        raise NoPermission(
            "only administrators may change administrators", {"permissions": ["Administrator"]}
        )


def _ref(tx: Tx, item: Mapping[str, Any], key: str, index: int) -> int | None:
    try:
        return reference_id(item.get(key))
    except InvalidValue:
        raise item_failure(
            "INVALID_DATA",
            "invalid data",
            api_name=key,
            json_path=f"$.users[{index}].{key}",
            expected_data_type="jsonobject",
        ) from None


def _values(
    tx: Tx, item: Mapping[str, Any], index: int, *, creating: bool, current: User | None
) -> dict[str, Any]:
    """Checked column values from a user item (only the keys given, on update)."""
    directory = tx.state.directory
    values: dict[str, Any] = {}

    def path(key: str) -> str:
        return f"$.users[{index}].{key}"

    for key in ("first_name", "last_name", "phone", "locale"):
        if key in item:
            value = item[key]
            if value is not None and (not isinstance(value, str) or len(value) > 100):
                raise item_failure(
                    "INVALID_DATA",
                    "invalid data",
                    api_name=key,
                    json_path=path(key),
                    expected_data_type="string",
                )
            values[key] = value.strip() if isinstance(value, str) and value.strip() else None
    if (creating or "last_name" in item) and not values.get("last_name"):
        raise item_failure(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            api_name="last_name",
            json_path=path("last_name"),
        )
    if creating or "email" in item:
        email = item.get("email")
        if not isinstance(email, str) or not email.strip():
            raise item_failure(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                api_name="email",
                json_path=path("email"),
            )
        if not EMAIL.match(email.strip()) or len(email) > 200:
            raise item_failure(
                "INVALID_DATA",
                "invalid email",
                api_name="email",
                json_path=path("email"),
                expected_data_type="email",
            )
        taken = next(
            (u for u in directory.users.values() if u.email.lower() == email.strip().lower()), None
        )
        if taken is not None and (current is None or taken.id != current.id):
            raise item_failure(
                "DUPLICATE_DATA", "duplicate data", api_name="email", json_path=path("email")
            )
        values["email"] = email.strip()
    for key, table, column in (
        ("role", directory.roles.roles, "role_id"),
        ("profile", directory.profiles, "profile_id"),
    ):
        if creating or key in item:
            ref = _ref(tx, item, key, index)
            if ref is None:
                raise item_failure(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    api_name=key,
                    json_path=path(key),
                )
            if ref not in table:
                raise item_failure(
                    "INVALID_DATA",
                    f"the {key} given seems to be invalid",
                    api_name=key,
                    json_path=path(key),
                )
            values[column] = ref
    if "Reporting_To" in item:
        manager = _ref(tx, item, "Reporting_To", index)
        if manager is not None and (
            manager not in directory.users or (current is not None and manager == current.id)
        ):
            raise item_failure(
                "INVALID_DATA",
                "invalid data",
                api_name="Reporting_To",
                json_path=path("Reporting_To"),
            )
        values["reporting_to"] = manager
    if "time_zone" in item:
        zone = item["time_zone"]
        try:
            if not isinstance(zone, str):
                raise ValueError
            ZoneInfo(zone)
        except (ValueError, ZoneInfoNotFoundError):
            raise item_failure(
                "INVALID_DATA",
                "invalid time zone",
                api_name="time_zone",
                json_path=path("time_zone"),
            ) from None
        values["time_zone"] = zone
    if "status" in item:
        word = item["status"]
        status = STATUS_WORDS.get(word.lower()) if isinstance(word, str) else None
        if status is None:
            raise item_failure(
                "INVALID_DATA",
                "invalid status",
                api_name="status",
                json_path=path("status"),
                supported_values=["active", "inactive"],
            )
        values["status"] = status.value
    return values


def create_user(tx: Tx, actor: Actor, index: int, item: Mapping[str, Any]) -> int:
    _require_manager(actor)
    values = _values(tx, item, index, creating=True, current=None)
    _guard_admin_rights(tx, actor, None, values)
    values.setdefault("status", UserStatus.ACTIVE.value)
    values.setdefault("time_zone", tx.state.org.time_zone)
    user_id = directory_repo.insert_user(tx.conn, values, tx.now, actor.id)
    config_change(tx, actor, "user", user_id, "create", {}, values)
    tx.metadata_changed()
    return user_id


def _guard_last_admin(tx: Tx, user: User, new_values: Mapping[str, Any]) -> None:
    directory = tx.state.directory
    if not directory.profile_of(user).admin or not user.active:
        return
    stays_admin = (
        new_values.get("status", "active") == "active"
        and directory.profiles[new_values.get("profile_id", user.profile_id)].admin
    )
    others = [
        u
        for u in directory.users.values()
        if u.id != user.id and u.active and directory.profile_of(u).admin
    ]
    if not stays_admin and not others:
        raise item_failure(
            "NOT_ALLOWED", "the last active administrator cannot lose that role", id=str(user.id)
        )


def update_user(
    tx: Tx,
    actor: Actor,
    user_id: int,
    index: int,
    item: Mapping[str, Any],
    expected_version: int | None = None,
) -> None:
    current = tx.state.directory.users.get(user_id)
    if current is None or current.status is UserStatus.DELETED:
        raise item_failure("INVALID_DATA", "the id given seems to be invalid", id=str(user_id))
    if actor.id != user_id or any(k in item for k in ("role", "profile", "status")):
        _require_manager(actor)
    values = _values(tx, item, index, creating=False, current=current)
    if actor.id != user_id or any(k in item for k in ("role", "profile", "status")):
        _guard_admin_rights(tx, actor, current, values)
    if actor.id == user_id and values.get("status") == UserStatus.INACTIVE.value:
        raise item_failure("NOT_ALLOWED", "you cannot deactivate yourself", id=str(user_id))
    _guard_last_admin(tx, current, values)
    if not directory_repo.update_row(
        tx.conn,
        t.users,
        user_id,
        {**values, **({"email_key": values["email"].lower()} if "email" in values else {})},
        tx.now,
        actor.id,
        expected_version,
    ):
        raise ServiceError(
            "CONFLICT", "the user was changed by someone else", {"id": str(user_id)}, status=409
        )
    before = {
        "first_name": current.first_name,
        "last_name": current.last_name,
        "email": current.email,
        "status": current.status.value,
        "role_id": current.role_id,
        "profile_id": current.profile_id,
        "reporting_to": current.reporting_to,
        "time_zone": current.time_zone,
    }
    config_change(tx, actor, "user", user_id, "update", before, values)
    tx.metadata_changed()


def delete_user(tx: Tx, actor: Actor, user_id: int) -> None:
    """Mark a user deleted: they can no longer sign in; their records keep their owner."""
    _require_manager(actor)
    current = tx.state.directory.users.get(user_id)
    if current is None or current.status is UserStatus.DELETED:
        raise NotFound()
    if user_id == actor.id:
        raise ServiceError("NOT_ALLOWED", "you cannot delete yourself", {"id": str(user_id)})
    _guard_admin_rights(tx, actor, current, {})
    _guard_last_admin(tx, current, {"status": "deleted"})
    directory_repo.update_row(
        tx.conn, t.users, user_id, {"status": UserStatus.DELETED.value}, tx.now, actor.id, None
    )
    config_change(
        tx,
        actor,
        "user",
        user_id,
        "delete",
        {"status": current.status.value},
        {"status": UserStatus.DELETED.value},
    )
    tx.metadata_changed()


def set_password(tx: Tx, email: str, password: str) -> None:
    try:
        hashed = hash_password(password)
    except WeakPassword as exc:
        raise ServiceError("INVALID_DATA", str(exc), {"param_name": "password"}) from exc
    result = tx.conn.execute(
        t.users.update()
        .where(t.users.c.email_key == email.lower(), t.users.c.status != UserStatus.DELETED.value)
        .values(password_hash=hashed, modified_time=tx.now)
    )
    if result.rowcount != 1:
        raise ServiceError("INVALID_DATA", f"no user with e-mail {email}", {"param_name": "email"})


def count_users(tx: Tx, actor: Actor, user_type: str | None) -> int:
    return len(list_users(tx, actor, user_type))


def user_exists(tx: Tx, email: str) -> bool:
    return (
        tx.conn.execute(sa.select(t.users.c.id).where(t.users.c.email_key == email.lower())).first()
        is not None
    )
