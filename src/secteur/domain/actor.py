"""Who is acting: a user, their profile, and what their token allows."""

from __future__ import annotations

from dataclasses import dataclass

from secteur.domain.directory import Directory, Operation, Profile, User
from secteur.domain.scopes import Access, Category, Scope, granted

# Where a change came from, as the audit timeline shows it.
SOURCES = ("api", "web", "cli", "import", "system", "worker")


@dataclass(frozen=True, slots=True)
class Actor:
    user: User
    profile: Profile
    # None: a trusted shell (CLI, web session) that is limited by the profile only.
    scopes: tuple[Scope, ...] | None = None
    source: str = "api"

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def admin(self) -> bool:
        return self.profile.admin

    def scope_allows(self, category: Category, resource: str | None, access: Access) -> bool:
        return self.scopes is None or granted(self.scopes, category, resource, access)

    def may(self, module: str, operation: Operation) -> bool:
        return self.profile.module_access(module).allows(operation)


def actor_for(
    directory: Directory,
    user_id: int,
    *,
    scopes: tuple[Scope, ...] | None = None,
    source: str = "api",
) -> Actor | None:
    """The actor for an active user, or None when the user may no longer act."""
    user = directory.users.get(user_id)
    if user is None or not user.active:
        return None
    return Actor(user, directory.profile_of(user), scopes, source)
