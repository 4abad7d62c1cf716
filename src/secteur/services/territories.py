"""Territory management: the settings, the tree and its members (TER-1 … TER-9)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from secteur.adapters.db import directory_repo, territory_repo
from secteur.domain.actor import Actor
from secteur.domain.criteria import CriteriaError, parse_criteria, to_json, validate_criteria
from secteur.domain.directory import UserStatus
from secteur.domain.records import InvalidValue, reference_id
from secteur.domain.territories import (
    RULE_KEYS,
    Limits,
    Permission,
    Territory,
    TerritorySettings,
    Tree,
    TreeError,
)
from secteur.services import territory_assignment as assignment
from secteur.services.app import Tx
from secteur.services.audit import config_change
from secteur.services.errors import NoPermission, NotFound, ServiceError, item_failure

MAX_NAME = 100
MAX_DESCRIPTION = 250
RULE_MODULES = {key: module for module, key in RULE_KEYS.items()}


def not_enabled() -> ServiceError:
    return ServiceError("FEATURE_NOT_ENABLED", "Territory Management is not enabled")


def users_not_enabled() -> ServiceError:
    return ServiceError("TERRITORY_NOT_ENABLED", "Territory Management is not enabled", status=403)


def require_enabled(tx: Tx, *, users_api: bool = False) -> Tree:
    tree = assignment.active_tree(tx)
    if tree is None:
        raise users_not_enabled() if users_api else not_enabled()
    return tree


def locked_tree(tx: Tx) -> Tree:
    """The tree as the database holds it once tree writes are serialised: checks of a move or
    a name must not use a tree read before the lock, or two concurrent moves could each pass
    and together make a cycle."""
    require_enabled(tx)
    territory_repo.lock_tree(tx.conn)
    return Tree.of(territory_repo.load_territories(tx.conn))


def require_manager(actor: Actor) -> None:
    if not actor.profile.may("manage_territories"):
        raise NoPermission("permission denied", {"permissions": ["manage_territories"]})


def get_territory(tx: Tx, territory_id: int) -> Territory:
    tree = require_enabled(tx)
    found = tree.get(territory_id)
    if found is None:
        raise NotFound()
    return found


# --- settings (TER-1 … TER-3, TER-8) ---


def settings(tx: Tx) -> TerritorySettings:
    return tx.state.territory.settings


def update_settings(tx: Tx, actor: Actor, body: Mapping[str, Any]) -> TerritorySettings:
    if not actor.profile.admin:
        raise NoPermission("only administrators can change territory management")
    # Serialised, and decided on the database rather than on the state read before the lock:
    # two concurrent enables must not build two roots, nor lose each other's changes.
    territory_repo.lock_tree(tx.conn)
    current = territory_repo.load_settings(directory_repo.load_org(tx.conn).settings)
    changes: dict[str, Any] = {}
    for key in ("enabled", "deal_rule", "cascade"):
        if key in body:
            if not isinstance(body[key], bool):
                raise _invalid(key, "expected_data_type", "boolean")
            changes[key] = body[key]
    if "start_from" in body:
        if body["start_from"] not in ("scratch", "roles"):
            raise _invalid("start_from", "supported_values", ["scratch", "roles"])
        changes["start_from"] = body["start_from"]
    if "limits" in body:
        changes["limits"] = _limits(body["limits"], current.limits)
    updated = replace(current, **changes)
    if updated.enabled and not territory_repo.load_territories(tx.conn):
        _build_tree(tx, actor, updated.start_from)
    territory_repo.save_settings(tx.conn, updated)
    config_change(tx, actor, "org", tx.state.org.id, "update", current.to_json(), updated.to_json())
    tx.metadata_changed()
    return updated


def _limits(raw: Any, current: Limits) -> Limits:
    if not isinstance(raw, Mapping):
        raise _invalid("limits", "expected_data_type", "jsonobject")
    per_record = dict(current.per_record)
    users = current.users_per_territory
    for key, value in raw.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise _invalid(f"limits.{key}", "expected_data_type", "positive integer")
        if key == "users_per_territory":
            users = value
        elif key in per_record:
            per_record[key] = value
        else:
            raise _invalid(f"limits.{key}", "supported_keys", [*per_record, "users_per_territory"])
    return Limits(per_record, users)


def _invalid(key: str, detail: str, value: Any) -> ServiceError:
    return ServiceError(
        "INVALID_DATA", f"invalid value for {key}", {"api_name": key, detail: value}
    )


def _build_tree(tx: Tx, actor: Actor, start_from: str) -> None:
    """TER-2: only the root, named after the org; or one territory per role, same tree."""
    stamps = {
        "created_time": tx.now,
        "modified_time": tx.now,
        "created_by": actor.id,
        "modified_by": actor.id,
    }
    base = {"permission": Permission.READ_WRITE_DELETE.value, "rules": {}, **stamps}
    if start_from == "scratch":
        territory_repo.insert_territory(
            tx.conn, {"name": tx.state.org.name, "parent_id": None, "sequence": 1, **base}
        )
        return
    directory = tx.state.directory
    roles = directory.roles
    users = [u for u in directory.users.values() if u.status is UserStatus.ACTIVE]
    created: dict[int, int] = {}
    order = [r for r in _roles_top_down(roles)]
    for sequence, role in enumerate(order, start=1):
        in_role = sorted((u for u in users if u.role_id == role.id), key=lambda u: u.id)
        top = [u for u in in_role if u.reporting_to not in {v.id for v in in_role}]
        territory_id = territory_repo.insert_territory(
            tx.conn,
            {
                "name": role.name,
                "parent_id": created.get(role.reporting_to) if role.reporting_to else None,
                "sequence": sequence,
                "manager_id": top[0].id if top else None,
                "description": role.description,
                **base,
            },
        )
        created[role.id] = territory_id
        for user in in_role:
            territory_repo.add_member(tx.conn, territory_id, user.id, tx.now, actor.id)


def _roles_top_down(roles: Any) -> list[Any]:
    root = roles.root
    if root is None:
        return []
    out = []
    stack = [root.id]
    while stack:
        role_id = stack.pop()
        out.append(roles.roles[role_id])
        stack.extend(sorted(roles.children.get(role_id, ()), reverse=True))
    return out


# --- the tree (TER-4 … TER-7) ---


def _path(index: int, key: str) -> str:
    return f"$.territories[{index}].{key}"


def _check(
    tx: Tx, tree: Tree, item: Mapping[str, Any], index: int, current: Territory | None
) -> dict[str, Any]:
    """The columns to write for a created (`current` None) or updated territory."""
    values: dict[str, Any] = {}
    territory_id = current.id if current else None
    parent = current.parent_id if current else None
    if current is None or "reporting_to" in item:
        try:
            parent = reference_id(item.get("reporting_to"))
        except InvalidValue:
            raise item_failure(
                "INVALID_DATA",
                "invalid reporting_to",
                api_name="reporting_to",
                json_path=_path(index, "reporting_to"),
            ) from None
        try:
            tree.check_parent(territory_id, parent)
        except TreeError as exc:
            raise item_failure(
                exc.code, exc.message, **{**exc.details, "json_path": _path(index, "reporting_to")}
            ) from None
        if current is None or parent != current.parent_id:
            values["parent_id"] = parent
            siblings = tree.children.get(parent, ()) if parent is not None else ()
            values["sequence"] = 1 + max((tree.by_id[s].sequence for s in siblings), default=0)
    name = current.name if current else None
    if current is None or "name" in item:
        raw = item.get("name")
        if not isinstance(raw, str) or not raw.strip():
            raise item_failure(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                api_name="name",
                json_path=_path(index, "name"),
            )
        if len(raw.strip()) > MAX_NAME:
            raise item_failure(
                "INVALID_DATA",
                "the name is too long",
                api_name="name",
                json_path=_path(index, "name"),
                maximum_length=MAX_NAME,
            )
        name = raw.strip()
        values["name"] = name
    if "sequence" in item:
        sequence = item["sequence"]
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
            raise item_failure(
                "INVALID_DATA",
                "invalid sequence",
                api_name="sequence",
                json_path=_path(index, "sequence"),
                expected_data_type="integer",
            )
        values["sequence"] = sequence
    assert name is not None
    try:
        tree.check_name(territory_id, parent, name)
    except TreeError as exc:
        raise item_failure(
            exc.code, exc.message, **{**exc.details, "json_path": _path(index, "name")}
        ) from None
    if "description" in item:
        description = item["description"]
        if description is not None and (
            not isinstance(description, str) or len(description) > MAX_DESCRIPTION
        ):
            raise item_failure(
                "INVALID_DATA",
                "invalid description",
                api_name="description",
                json_path=_path(index, "description"),
                maximum_length=MAX_DESCRIPTION,
            )
        values["description"] = description
    if "manager" in item:
        values["manager_id"] = _manager(tx, item["manager"], index)
    if "permission_type" in item:
        try:
            values["permission"] = Permission(item["permission_type"]).value
        except ValueError:
            raise item_failure(
                "INVALID_DATA",
                "invalid permission_type",
                api_name="permission_type",
                json_path=_path(index, "permission_type"),
                supported_values=[p.value for p in Permission],
            ) from None
    rules = dict(current.rules) if current else {}
    touched = False
    for key, module_name in RULE_MODULES.items():
        if key not in item:
            continue
        touched = True
        raw = item[key]
        if raw is None or raw == {}:
            rules.pop(module_name, None)
            continue
        module = tx.state.module(module_name)
        assert module is not None
        try:
            rules[module_name] = validate_criteria(parse_criteria(raw), module)
        except CriteriaError as exc:
            problem = exc.first
            details = dict(problem.details)
            inner = str(details.pop("json_path", "$"))
            # The criteria's own field name is kept as `field`; `api_name` names the key.
            field = details.pop("api_name", None)
            if field is not None:
                details["field"] = field
            raise item_failure(
                problem.code,
                problem.message,
                **details,
                api_name=key,
                json_path=_path(index, key) + inner.removeprefix("$"),
            ) from None
    if current is None or touched:
        values["rules"] = {module: to_json(rule) for module, rule in rules.items()}
    return values


def _manager(tx: Tx, raw: Any, index: int) -> int | None:
    try:
        user_id = reference_id(raw)
    except InvalidValue:
        user_id = -1
    if user_id is None:
        return None
    user = tx.state.directory.users.get(user_id)
    if user is None or user.status is not UserStatus.ACTIVE:
        raise item_failure(
            "INVALID_DATA",
            "the manager given seems to be invalid",
            api_name="manager",
            json_path=_path(index, "manager"),
        )
    return user.id


def create_territory(tx: Tx, actor: Actor, index: int, item: Mapping[str, Any]) -> int:
    require_manager(actor)
    tree = locked_tree(tx)
    values = _check(tx, tree, item, index, None)
    values.setdefault("permission", Permission.READ_WRITE_DELETE.value)
    territory_id = territory_repo.insert_territory(
        tx.conn,
        {
            **values,
            "created_time": tx.now,
            "modified_time": tx.now,
            "created_by": actor.id,
            "modified_by": actor.id,
        },
    )
    config_change(tx, actor, "territory", territory_id, "create", {}, values)
    tx.metadata_changed()
    return territory_id


def update_territory(
    tx: Tx, actor: Actor, territory_id: int, index: int, item: Mapping[str, Any]
) -> None:
    require_manager(actor)
    tree = locked_tree(tx)
    current = tree.get(territory_id)
    if current is None:
        raise item_failure("INVALID_DATA", "the id given seems to be invalid", id=str(territory_id))
    values = _check(tx, tree, item, index, current)
    territory_repo.update_territory(
        tx.conn, territory_id, {**values, "modified_time": tx.now, "modified_by": actor.id}
    )
    before = {
        "name": current.name,
        "parent_id": current.parent_id,
        "sequence": current.sequence,
        "manager_id": current.manager_id,
        "permission": current.permission.value,
        "description": current.description,
        "rules": {m: to_json(r) for m, r in current.rules.items()},
    }
    after = {**before, **values}
    config_change(tx, actor, "territory", territory_id, "update", before, after)
    tx.metadata_changed()


def delete_territory(tx: Tx, actor: Actor, territory_id: int, transfer_to: int | None) -> None:
    """TER-7: children need a transfer target; the territory's records move there or are
    re-evaluated; the territory is archived (it stays readable in forecasts and the audit)."""
    require_manager(actor)
    tree = locked_tree(tx)
    territory = tree.get(territory_id)
    if territory is None:
        raise NotFound(details={"id": str(territory_id)})
    if territory.is_root:
        raise ServiceError(
            "NOT_ALLOWED", "the root territory cannot be deleted", {"id": str(territory_id)}
        )
    doomed = set(tree.subtree(territory_id))
    if transfer_to is not None and (transfer_to not in tree or transfer_to in doomed):
        raise ServiceError(
            "INVALID_DATA",
            "the transfer_to_id given seems to be invalid",
            {"api_name": "transfer_to_id", "id": str(territory_id)},
        )
    if tree.children[territory_id] and transfer_to is None:
        raise ServiceError(
            "DEPENDENT_FIELD_MISSING",
            "the territory has sub-territories: give transfer_to_id",
            {"dependee": {"api_name": "transfer_to_id"}, "id": str(territory_id)},
        )
    for child in tree.children[territory_id]:
        territory_repo.update_territory(
            tx.conn,
            child,
            {"parent_id": transfer_to, "modified_time": tx.now, "modified_by": actor.id},
        )
    records = territory_repo.records_in(tx.conn, territory_id)
    territory_repo.forget_assignments_of(tx.conn, territory_id)
    territory_repo.archive_territory(tx.conn, territory_id, tx.now, actor.id)
    config_change(
        tx,
        actor,
        "territory",
        territory_id,
        "delete",
        {"name": territory.name, "parent_id": territory.parent_id},
        {"transferred_to": transfer_to},
    )
    tx.metadata_changed()
    assignment.after_territory_deleted(tx, actor, records, transfer_to)


# --- members (TER-8, TER-9) ---


def add_members(
    tx: Tx, actor: Actor, territory_id: int, user_ids: Sequence[int]
) -> list[ServiceError | None]:
    """Each user added, or the reason it was not (per item)."""
    require_manager(actor)
    tree = require_enabled(tx, users_api=True)
    if territory_id not in tree:
        raise NotFound(details={"id": str(territory_id)})
    present = {m.user_id for m in territory_repo.members(tx.conn, territory_id)}
    limit = settings(tx).limits.users_per_territory
    out: list[ServiceError | None] = []
    for user_id in user_ids:
        problem = _member_problem(tx, actor, user_id, present)
        if problem is None and len(present) >= limit:
            problem = item_failure("LIMIT_EXCEEDED", "too many users in the territory", limit=limit)
        if problem is None:
            territory_repo.add_member(tx.conn, territory_id, user_id, tx.now, actor.id)
            present.add(user_id)
            config_change(tx, actor, "territory", territory_id, "add_member", {}, {"user": user_id})
        out.append(problem)
    return out


def _member_problem(tx: Tx, actor: Actor, user_id: int, present: set[int]) -> ServiceError | None:
    user = tx.state.directory.users.get(user_id)
    if user is None or user.status is not UserStatus.ACTIVE:
        return item_failure("INVALID_DATA", "the user given seems to be invalid", id=str(user_id))
    if user_id == actor.id and not actor.profile.admin:
        return item_failure(
            "NOT_ALLOWED", "you cannot change your own territories", id=str(user_id)
        )
    if user_id in present:
        return item_failure("DUPLICATE_DATA", "the user is already a member", id=str(user_id))
    return None


def remove_members(
    tx: Tx, actor: Actor, territory_id: int, user_ids: Sequence[int]
) -> list[ServiceError | None]:
    require_manager(actor)
    tree = require_enabled(tx, users_api=True)
    if territory_id not in tree:
        raise NotFound(details={"id": str(territory_id)})
    out: list[ServiceError | None] = []
    for user_id in user_ids:
        if user_id == actor.id and not actor.profile.admin:
            out.append(
                item_failure(
                    "NOT_ALLOWED", "you cannot change your own territories", id=str(user_id)
                )
            )
        elif territory_repo.remove_member(tx.conn, territory_id, user_id):
            config_change(
                tx, actor, "territory", territory_id, "remove_member", {"user": user_id}, {}
            )
            out.append(None)
        else:
            out.append(
                item_failure(
                    "INVALID_DATA", "the user is not a member of the territory", id=str(user_id)
                )
            )
    return out
