"""Why a record does or does not match: each condition with the value seen and its result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from secteur.domain.criteria.context import EvalContext, day_range
from secteur.domain.criteria.evaluate import compile_node
from secteur.domain.criteria.model import (
    CURRENTUSER,
    DATE_PREDEFINED,
    Condition,
    Criteria,
    FieldRef,
    Group,
    Predefined,
    Value,
    value_to_json,
)
from secteur.domain.criteria.plan import lower_condition
from secteur.domain.criteria.rules import EMPTINESS
from secteur.domain.criteria.validate import validate_criteria
from secteur.domain.fields import Module


@dataclass(frozen=True, slots=True)
class ConditionTrace:
    condition: Condition
    json_path: str
    seen: Any
    result: bool
    other_seen: Any = None
    resolved: Any = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "json_path": self.json_path,
            "field": {"api_name": self.condition.field},
            "comparator": self.condition.comparator,
            "value": value_to_json(self.condition.value),
            "seen": value_to_json(self.seen),
            "result": self.result,
        }
        if self.condition.value_type != "value":
            out["type"] = self.condition.value_type
        if isinstance(self.condition.value, FieldRef):
            out["other_seen"] = value_to_json(self.other_seen)
        if self.resolved is not None:
            out["resolved"] = self.resolved
        return out


@dataclass(frozen=True, slots=True)
class GroupTrace:
    operator: str
    json_path: str
    children: tuple[Trace, ...]
    result: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "json_path": self.json_path,
            "group_operator": self.operator,
            "result": self.result,
            "group": [child.to_json() for child in self.children],
        }


Trace: TypeAlias = ConditionTrace | GroupTrace


@dataclass(frozen=True, slots=True)
class Explanation:
    """The whole trace; `matched` is what the predicate answers for the same record."""

    matched: bool
    trace: Trace

    def to_json(self) -> dict[str, Any]:
        return {"matched": self.matched, "criteria": self.trace.to_json()}


def explain(
    criteria: Criteria, module: Module, record: Mapping[str, Any], ctx: EvalContext
) -> Explanation:
    """Every condition evaluated against `record` (no short cut), with the values it saw."""
    trace = _trace(validate_criteria(criteria, module), module, record, ctx, "$")
    return Explanation(trace.result, trace)


def _trace(
    criteria: Criteria, module: Module, record: Mapping[str, Any], ctx: EvalContext, path: str
) -> Trace:
    if isinstance(criteria, Group):
        children = tuple(
            _trace(child, module, record, ctx, f"{path}.group[{i}]")
            for i, child in enumerate(criteria.children)
        )
        results = [child.result for child in children]
        result = all(results) if criteria.operator == "AND" else any(results)
        return GroupTrace(criteria.operator, path, children, result)
    predicate = compile_node(lower_condition(criteria, module, ctx))
    value = criteria.value
    return ConditionTrace(
        condition=criteria,
        json_path=path,
        seen=record.get(criteria.field),
        result=predicate(record),
        other_seen=record.get(value.api_name) if isinstance(value, FieldRef) else None,
        resolved=_resolved(value, ctx),
    )


def _resolved(value: Value, ctx: EvalContext) -> Any:
    """What predefined values stood for in this evaluation (days in the context's zone)."""
    items = value if isinstance(value, tuple) else (value,)
    if not any(isinstance(v, Predefined) and v.name not in EMPTINESS for v in items):
        return None
    resolved = [_resolve(v, ctx) for v in items]
    return resolved if isinstance(value, tuple) else resolved[0]


def _resolve(value: object, ctx: EvalContext) -> Any:
    if isinstance(value, Predefined):
        if value.name in DATE_PREDEFINED:
            first, last = day_range(value, ctx.today)
            return {"from": first.isoformat(), "to": last.isoformat(), "time_zone": ctx.time_zone}
        if value.name == CURRENTUSER:
            return None if ctx.user_id is None else str(ctx.user_id)
    return value_to_json(value)
