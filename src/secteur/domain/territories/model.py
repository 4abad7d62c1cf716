"""Territory values: a node of the tree, the org's territory settings and limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from secteur.domain.criteria import Criteria

# Module api name → the territory key holding its rule (TER-5; Contacts is Beyond).
RULE_KEYS: dict[str, str] = {
    "Accounts": "account_rule_criteria",
    "Contacts": "contact_rule_criteria",
    "Deals": "deal_rule_criteria",
    "Leads": "lead_rule_criteria",
}
# Modules whose records carry territories.
COVERED_MODULES = tuple(RULE_KEYS)
# Modules whose rules a run-rules job evaluates; Contacts follow their accounts (TER-24).
RUNNABLE_MODULES = ("Accounts", "Leads", "Deals")


class Permission(StrEnum):
    READ_WRITE_DELETE = "read_write_delete"
    READ_ONLY = "read_only"


class TreeError(ValueError):
    """A change that would break the tree; `code` is the Zoho error code to answer."""

    def __init__(self, code: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details or {})


@dataclass(frozen=True, slots=True)
class Territory:
    id: int
    name: str
    parent_id: int | None
    sequence: int = 1
    manager_id: int | None = None
    permission: Permission = Permission.READ_WRITE_DELETE
    description: str | None = None
    # Module api name → its rule; a module without a rule passes records through (TER-15).
    rules: Mapping[str, Criteria] = field(default_factory=dict)
    created_by: int | None = None
    created_time: datetime | None = None
    modified_by: int | None = None
    modified_time: datetime | None = None

    @property
    def is_root(self) -> bool:
        return self.parent_id is None

    def rule(self, module: str) -> Criteria | None:
        return self.rules.get(module)


@dataclass(frozen=True, slots=True)
class Limits:
    """TER-8: caps are configuration. Territories per record by module, users per territory."""

    per_record: Mapping[str, int] = field(
        default_factory=lambda: {"Accounts": 10, "Contacts": 10, "Leads": 10, "Deals": 1}
    )
    users_per_territory: int = 100

    def cap(self, module: str) -> int:
        return self.per_record.get(module, 10)

    def to_json(self) -> dict[str, int]:
        return {**self.per_record, "users_per_territory": self.users_per_territory}


@dataclass(frozen=True, slots=True)
class TerritorySettings:
    """The org's `territory_management` settings (territories.md, Secteur extensions)."""

    enabled: bool = False
    start_from: str = "scratch"
    deal_rule: bool = False
    cascade: bool = True
    limits: Limits = field(default_factory=Limits)

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "start_from": self.start_from,
            "deal_rule": self.deal_rule,
            "cascade": self.cascade,
            "limits": self.limits.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TerritorySettings:
        data = data or {}
        raw_limits = dict(data.get("limits") or {})
        users = int(raw_limits.pop("users_per_territory", 100))
        per_record = {**Limits().per_record, **{k: int(v) for k, v in raw_limits.items()}}
        return cls(
            enabled=bool(data.get("enabled", False)),
            start_from=str(data.get("start_from", "scratch")),
            deal_rule=bool(data.get("deal_rule", False)),
            cascade=bool(data.get("cascade", True)),
            limits=Limits(per_record, users),
        )
