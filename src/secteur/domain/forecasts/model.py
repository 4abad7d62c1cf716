"""Forecast values: settings (FC-1), exclusions (FC-13), targets (FC-4) and deal aggregates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from secteur.domain.catalog import DEAL_STAGES


class Category(StrEnum):
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"
    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"


OPEN_CATEGORIES = frozenset({Category.PIPELINE, Category.BEST_CASE, Category.COMMIT})


class HierarchyKind(StrEnum):
    TERRITORY = "territory"
    ROLE = "role"


class ForecastType(StrEnum):
    REVENUE = "revenue"  # sum of the amount field
    QUANTITY = "quantity"  # count of deals


DEFAULT_STAGE_CATEGORIES: Mapping[str, Category] = {
    name: Category(category) for name, _, category in DEAL_STAGES
}


@dataclass(frozen=True, slots=True)
class ForecastSettings:
    """FC-1. Unknown stages (values added later to the picklist) count as pipeline."""

    period: str = "quarterly"  # "monthly" | "quarterly"
    fiscal_year_start_month: int = 1
    fiscal_year_naming: str = "start"  # a fiscal year is named by the year it starts or ends
    amount_field: str = "Amount"
    date_field: str = "Closing_Date"
    type: ForecastType = ForecastType.REVENUE
    stage_categories: Mapping[str, Category] = field(
        default_factory=lambda: dict(DEFAULT_STAGE_CATEGORIES)
    )
    # FC-12 Beyond: take a snapshot of each current forecast every so many days (0: never).
    snapshot_every_days: int = 0

    def category(self, stage: str) -> Category:
        return self.stage_categories.get(stage, Category.PIPELINE)

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "fiscal_year_start_month": self.fiscal_year_start_month,
            "fiscal_year_naming": self.fiscal_year_naming,
            "amount_field": self.amount_field,
            "date_field": self.date_field,
            "type": self.type.value,
            "stage_categories": {k: Category(v).value for k, v in self.stage_categories.items()},
            "snapshot_every_days": self.snapshot_every_days,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ForecastSettings:
        if not data:
            return cls()
        default = cls()
        return cls(
            period=data.get("period", default.period),
            fiscal_year_start_month=int(
                data.get("fiscal_year_start_month", default.fiscal_year_start_month)
            ),
            fiscal_year_naming=data.get("fiscal_year_naming", default.fiscal_year_naming),
            amount_field=data.get("amount_field", default.amount_field),
            date_field=data.get("date_field", default.date_field),
            type=ForecastType(data.get("type", default.type.value)),
            stage_categories={
                k: Category(v)
                for k, v in (data.get("stage_categories") or default.stage_categories).items()
            },
            snapshot_every_days=int(data.get("snapshot_every_days", 0)),
        )


@dataclass(frozen=True, slots=True)
class Exclusions:
    """FC-13: whole nodes (with everything below them) and users left out of a forecast."""

    territories: frozenset[int] = frozenset()
    roles: frozenset[int] = frozenset()
    users: frozenset[int] = frozenset()

    def nodes(self, kind: HierarchyKind) -> frozenset[int]:
        return self.territories if kind is HierarchyKind.TERRITORY else self.roles

    def to_json(self) -> dict[str, list[dict[str, str]]]:
        return {
            "territories": [{"id": str(i)} for i in sorted(self.territories)],
            "roles": [{"id": str(i)} for i in sorted(self.roles)],
            "users": [{"id": str(i)} for i in sorted(self.users)],
        }


@dataclass(frozen=True, slots=True)
class Target:
    """A node's target (`user_id` None) or a user's target within a node, for one forecast."""

    node_id: int
    user_id: int | None
    amount: float
    set_by: int | None = None


@dataclass(frozen=True, slots=True)
class Cell:
    """Deals aggregated by territory (0: none), owner and stage over the forecast's months.

    Amounts are integer cents so that sums are exact; `weighted_cents` is Σ amount ×
    probability (%) in cents, `probability_sum` Σ probability in hundredths of a percent.
    """

    territory_id: int
    owner_id: int
    stage: str
    deals: int
    amount_cents: int
    weighted_cents: int
    probability_sum: int = 0
