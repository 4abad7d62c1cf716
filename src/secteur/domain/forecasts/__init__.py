"""Forecasts (forecasts.md): settings, fiscal periods, the roll-up of deal aggregates up a
territory or role hierarchy into targets and metrics, and who may set which target.

Pure: values in, decisions out. The aggregates (`Cell`) come from the database, kept current
by the save transaction (ADR 0011); the hierarchy is a `Hierarchy` built from the territory
tree or the role tree.
"""

from secteur.domain.forecasts.model import (
    Category,
    Cell,
    Exclusions,
    ForecastSettings,
    ForecastType,
    HierarchyKind,
    Target,
)
from secteur.domain.forecasts.periods import Period, PeriodError
from secteur.domain.forecasts.rollup import (
    Hierarchy,
    Metrics,
    SummaryRow,
    branch_nodes,
    branch_totals,
    summarise,
)
from secteur.domain.forecasts.targets import TargetRefused, may_set_target

__all__ = [
    "Category",
    "Cell",
    "Exclusions",
    "ForecastSettings",
    "ForecastType",
    "Hierarchy",
    "HierarchyKind",
    "Metrics",
    "Period",
    "PeriodError",
    "SummaryRow",
    "Target",
    "TargetRefused",
    "branch_nodes",
    "branch_totals",
    "may_set_target",
    "summarise",
]
