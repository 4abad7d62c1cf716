"""Users, roles and profiles: who people are, where they sit and what they may do."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class UserStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DELETED = "deleted"


class Operation(StrEnum):
    VIEW = "view"
    CREATE = "create"
    EDIT = "edit"
    DELETE = "delete"


# Admin permissions a profile can carry besides module access. Administrators have them all.
ADMIN_PERMISSIONS: tuple[str, ...] = (
    "manage_users",
    "manage_roles",
    "manage_profiles",
    "manage_fields",
    "manage_territories",
    "manage_forecasts",
    "manage_blueprints",
    "manage_approvals",
    "manage_sandbox",
    "process_override",
    "import",
    "export",
)


@dataclass(frozen=True, slots=True)
class ModuleAccess:
    view: bool = True
    create: bool = True
    edit: bool = True
    delete: bool = True

    def allows(self, operation: Operation) -> bool:
        return bool(getattr(self, operation.value))


NO_ACCESS = ModuleAccess(view=False, create=False, edit=False, delete=False)


@dataclass(frozen=True, slots=True)
class Profile:
    id: int
    name: str
    custom: bool
    admin: bool
    modules: Mapping[str, ModuleAccess]
    permissions: frozenset[str]
    description: str | None = None
    version: int = 1

    def module_access(self, module: str) -> ModuleAccess:
        if self.admin:
            return ModuleAccess()
        return self.modules.get(module, NO_ACCESS)

    def may(self, permission: str) -> bool:
        return self.admin or permission in self.permissions


@dataclass(frozen=True, slots=True)
class Role:
    id: int
    name: str
    reporting_to: int | None
    share_with_peers: bool = False
    description: str | None = None
    version: int = 1


@dataclass(frozen=True, slots=True)
class User:
    id: int
    first_name: str | None
    last_name: str
    email: str
    status: UserStatus
    role_id: int
    profile_id: int
    reporting_to: int | None = None
    time_zone: str | None = None
    version: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.first_name else self.last_name

    @property
    def active(self) -> bool:
        return self.status is UserStatus.ACTIVE


class RoleCycle(ValueError):
    """Moving a role under one of its own descendants would make the hierarchy a loop."""


@dataclass(frozen=True)
class RoleTree:
    """The role hierarchy, indexed for the questions visibility asks."""

    roles: Mapping[int, Role]
    children: Mapping[int, tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, roles: Iterable[Role]) -> RoleTree:
        by_id = {r.id: r for r in roles}
        children: dict[int, list[int]] = {}
        for r in by_id.values():
            if r.reporting_to is not None:
                children.setdefault(r.reporting_to, []).append(r.id)
        return cls(by_id, {k: tuple(sorted(v)) for k, v in children.items()})

    @property
    def root(self) -> Role | None:
        return next((r for r in self.roles.values() if r.reporting_to is None), None)

    def descendants(self, role_id: int) -> set[int]:
        """Roles strictly below `role_id`."""
        found: set[int] = set()
        stack = list(self.children.get(role_id, ()))
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(self.children.get(current, ()))
        return found

    def ancestors(self, role_id: int) -> list[int]:
        """Roles strictly above `role_id`, nearest first."""
        chain: list[int] = []
        current = self.roles.get(role_id)
        while current is not None and current.reporting_to is not None:
            if current.reporting_to in chain:
                break
            chain.append(current.reporting_to)
            current = self.roles.get(current.reporting_to)
        return chain

    def check_move(self, role_id: int, new_parent: int) -> None:
        if new_parent == role_id or new_parent in self.descendants(role_id):
            raise RoleCycle("a role cannot report to itself or to one of its subordinates")


@dataclass(frozen=True)
class Directory:
    """Everyone in the org at one moment: the input of every access decision."""

    users: Mapping[int, User]
    roles: RoleTree
    profiles: Mapping[int, Profile]

    def profile_of(self, user: User) -> Profile:
        return self.profiles[user.profile_id]

    def visible_owners(self, user: User) -> frozenset[int] | None:
        """Owners whose records `user` sees through the role hierarchy; None means everyone.

        core.md: the owner, users whose role is above the owner's role, peers when the owner's
        role shares with peers, and administrators. Subordinates never see their superiors'.
        """
        if self.profile_of(user).admin:
            return None
        below = self.roles.descendants(user.role_id)
        own_role = self.roles.roles.get(user.role_id)
        shares = own_role is not None and own_role.share_with_peers
        return frozenset(
            u.id
            for u in self.users.values()
            if u.id == user.id or u.role_id in below or (shares and u.role_id == user.role_id)
        )
