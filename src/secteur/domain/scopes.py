"""OAuth scopes in Zoho's notation (core.md, Scopes).

`ZohoCRM.<category>[.<resource>].<operation>`: category is modules, settings, users or org;
the operation ALL, READ, CREATE, UPDATE, DELETE or WRITE (create + update + delete).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    MODULES = "modules"
    SETTINGS = "settings"
    USERS = "users"
    ORG = "org"


class Access(StrEnum):
    READ = "READ"
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


_WRITES = frozenset({Access.CREATE, Access.UPDATE, Access.DELETE})
_OPERATIONS = frozenset({"ALL", "READ", "CREATE", "UPDATE", "DELETE", "WRITE"})


class InvalidScope(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Scope:
    category: Category
    resource: str | None
    operation: str

    @classmethod
    def parse(cls, text: str) -> Scope:
        parts = text.strip().split(".")
        if len(parts) not in (3, 4) or parts[0].lower() != "zohocrm":
            raise InvalidScope(f"not a ZohoCRM scope: {text!r}")
        try:
            category = Category(parts[1].lower())
        except ValueError:
            raise InvalidScope(f"unknown scope category in {text!r}") from None
        operation = parts[-1].upper()
        if operation not in _OPERATIONS:
            raise InvalidScope(f"unknown scope operation in {text!r}")
        resource = parts[2].strip().lower() if len(parts) == 4 else None
        if resource == "":
            # An empty resource would match calls that name no resource (users, org).
            raise InvalidScope(f"empty scope resource in {text!r}")
        return cls(category, resource, operation)

    def grants(self, category: Category, resource: str | None, access: Access) -> bool:
        if category is not self.category:
            return False
        if self.resource not in (None, "all") and (resource or "").lower() != self.resource:
            return False
        if self.operation == "ALL":
            return True
        if self.operation == "WRITE":
            return access in _WRITES
        return self.operation == access.value

    def __str__(self) -> str:
        middle = f".{self.resource}" if self.resource else ""
        return f"ZohoCRM.{self.category.value}{middle}.{self.operation}"


def parse_scopes(text: str) -> tuple[Scope, ...]:
    """A comma- (or space-) separated scope list; unknown scopes are an error."""
    items = [s for s in text.replace(" ", ",").split(",") if s.strip()]
    if not items:
        raise InvalidScope("no scope given")
    return tuple(Scope.parse(s) for s in items)


def granted(
    scopes: tuple[Scope, ...], category: Category, resource: str | None, access: Access
) -> bool:
    return any(s.grants(category, resource, access) for s in scopes)
