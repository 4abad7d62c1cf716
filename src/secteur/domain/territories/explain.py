"""TER-27: why a record has the territories it has — the walk, rule by rule, with values seen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from secteur.domain.criteria import ConditionTrace, EvalContext, GroupTrace, explain, to_json
from secteur.domain.criteria.explain import Trace
from secteur.domain.criteria.model import value_to_json
from secteur.domain.fields import Module
from secteur.domain.territories.tree import Tree

PARENT_NOT_MATCHED = "parent_not_matched"
CAP = "cap"


@dataclass(frozen=True, slots=True)
class TraceEntry:
    territory_id: int
    name: str
    rule: Mapping[str, Any] | None
    matched: bool | None  # None: not evaluated (skipped) or pass-through without a rule
    conditions: tuple[Mapping[str, Any], ...]
    skipped: str | None
    assigned: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "territory": {"id": str(self.territory_id), "name": self.name},
            "rule": self.rule,
            "matched": self.matched,
            "conditions": list(self.conditions),
            "skipped": self.skipped,
            "assigned": self.assigned,
        }


def explain_assignment(
    tree: Tree,
    module: Module,
    record: Mapping[str, Any],
    ctx: EvalContext,
    cap: int,
    start: Sequence[int] | None = None,
) -> tuple[list[TraceEntry], list[int], list[int]]:
    """The trace of the walk from `start` (the root by default), the kept and dropped matches.

    A territory whose parent did not match appears once, as the top of a skipped subtree
    (TER-11); matches beyond the cap are listed with `skipped: "cap"` (TER-13).
    """
    trace: list[TraceEntry] = []
    matches: list[int] = []
    entry_of: dict[int, int] = {}

    def visit(tid: int) -> None:
        t = tree.by_id[tid]
        rule = t.rule(module.api_name)
        if rule is None:
            trace.append(TraceEntry(tid, t.name, None, None, (), None))
            matched = True
        else:
            explanation = explain(rule, module, record, ctx)
            matched = explanation.matched
            entry_of[tid] = len(trace)
            trace.append(
                TraceEntry(
                    tid, t.name, to_json(rule), matched, tuple(_conditions(explanation.trace)), None
                )
            )
        if not matched:
            for child in tree.children[tid]:
                c = tree.by_id[child]
                trace.append(
                    TraceEntry(child, c.name, _rule_json(c, module), None, (), PARENT_NOT_MATCHED)
                )
            return
        before = len(matches)
        for child in tree.children[tid]:
            visit(child)
        if rule is not None and len(matches) == before:
            matches.append(tid)

    for tid in start if start is not None else (tree.root_id,):
        visit(tid)
    kept, dropped = matches[:cap], matches[cap:]
    for tid in kept:
        trace[entry_of[tid]] = replace(trace[entry_of[tid]], assigned=True)
    for tid in dropped:
        trace[entry_of[tid]] = replace(trace[entry_of[tid]], skipped=CAP)
    return trace, kept, dropped


def _rule_json(t: Any, module: Module) -> Mapping[str, Any] | None:
    rule = t.rule(module.api_name)
    return None if rule is None else to_json(rule)


def _conditions(trace: Trace) -> list[dict[str, Any]]:
    """The leaves of a criteria trace, flattened, in the spec's shape."""
    if isinstance(trace, GroupTrace):
        return [c for child in trace.children for c in _conditions(child)]
    assert isinstance(trace, ConditionTrace)
    condition = trace.condition
    out: dict[str, Any] = {
        "field": condition.field,
        "comparator": condition.comparator,
        "value": value_to_json(condition.value),
        "record_value": value_to_json(trace.seen),
        "result": trace.result,
    }
    if trace.resolved is not None:
        out["resolved"] = trace.resolved
    return [out]
