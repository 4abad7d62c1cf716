"""Automatic assignment (TER-10 … TER-19): a record and a compiled tree → its territories.

The tree's rules for one module are compiled once per configuration version into a single
generated Python function that walks the tree top-down with nested `if`s: each field a rule
reads is fetched (and folded) once per record, and a subtree whose root does not match is never
looked at (TER-11). `CompiledRules.descend` is the plain interpreter over the same predicates;
the differential tests hold the two, and the column-wise `bulk` evaluator, to the same answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from secteur.domain.criteria import EvalContext, Predicate, validate_criteria
from secteur.domain.criteria.evaluate import compile_node
from secteur.domain.criteria.plan import All, AnyOf, Const, FieldCompare, Node, Not, lower
from secteur.domain.fields import Field, Module
from secteur.domain.territories.codegen import generate_walker
from secteur.domain.territories.tree import Tree

Record = Mapping[str, Any]
# Python refuses more than 100 indentation levels; deeper trees use the interpreter.
MAX_GENERATED_DEPTH = 90


@dataclass(frozen=True, slots=True)
class Assignment:
    """The automatic territories, in pre-order, and those the module's cap dropped (TER-13)."""

    territory_ids: tuple[int, ...]
    dropped: tuple[int, ...] = ()


def capped(ids: Sequence[int], cap: int) -> Assignment:
    return Assignment(tuple(ids[:cap]), tuple(ids[cap:]))


class CompiledRules:
    """One module's rules over one tree, ready to assign records.

    Lowering a rule (validation, folding, date ranges) is the costly part of compiling a big
    tree; `plan_cache` (rule JSON → lowered rule), kept by the caller across configuration
    versions, makes a recompile after an edit pay only for the rules that changed. The
    generated walker and the per-territory predicates are built on first use: a bulk run
    needs neither.
    """

    def __init__(
        self,
        tree: Tree,
        module: Module,
        ctx: EvalContext,
        plan_cache: MutableMapping[Any, Node] | None = None,
    ) -> None:
        self.tree = tree
        self.module = module
        self.ctx = ctx
        self.plans: dict[int, Node] = {}
        signature = module_signature(module)
        for t in tree.by_id.values():
            rule = t.rule(module.api_name)
            if rule is None:
                continue
            key = (signature, ctx.today, rule)
            plan = plan_cache.get(key) if plan_cache is not None else None
            if plan is None:
                plan = lower(validate_criteria(rule, module), module, ctx)
                if plan_cache is not None:
                    plan_cache[key] = plan
            self.plans[t.id] = plan
        self.fields: frozenset[str] = frozenset(
            f.api_name for plan in self.plans.values() for f in plan_fields(plan)
        )
        self._lock = threading.Lock()
        self._walker: Callable[[Record], list[int]] | None = None

    @cached_property
    def predicates(self) -> dict[int, Predicate]:
        return {tid: compile_node(plan) for tid, plan in self.plans.items()}

    def _walk(self, record: Record) -> list[int]:
        walker = self._walker
        if walker is None:
            with self._lock:
                if self._walker is None:
                    deepest = max(self.tree.depth.values(), default=0)
                    self._walker = (
                        generate_walker(self.tree, self.plans)
                        if deepest <= MAX_GENERATED_DEPTH
                        else lambda r: self.descend(r, (self.tree.root_id,))
                    )
                walker = self._walker
        return walker(record)

    def matches(self, territory_id: int, record: Record) -> bool | None:
        """The territory's own rule on `record`; None when it has none (pass-through)."""
        predicate = self.predicates.get(territory_id)
        return None if predicate is None else predicate(record)

    def deepest_matches(self, record: Record) -> list[int]:
        """Every deepest match, in pre-order, uncapped (TER-11, TER-12, TER-14, TER-15)."""
        return self._walk(record)

    def assign(self, record: Record, cap: int) -> Assignment:
        return capped(self._walk(record), cap)

    def descend(self, record: Record, start: Iterable[int]) -> list[int]:
        """The interpreter: deepest matches below and including each of `start`, in order."""
        out: list[int] = []
        for tid in start:
            self._visit(tid, record, out)
        return out

    def _visit(self, tid: int, record: Record, out: list[int]) -> None:
        predicate = self.predicates.get(tid)
        if predicate is not None and not predicate(record):
            return
        before = len(out)
        for child in self.tree.children[tid]:
            self._visit(child, record, out)
        if predicate is not None and len(out) == before:
            out.append(tid)


def compile_rules(
    tree: Tree,
    module: Module,
    ctx: EvalContext,
    plan_cache: MutableMapping[Any, Node] | None = None,
) -> CompiledRules:
    return CompiledRules(tree, module, ctx, plan_cache)


def module_signature(module: Module) -> tuple[Any, ...]:
    """What a rule's meaning depends on in the module: its fields' types and picklists."""
    return (
        module.api_name,
        tuple(
            (f.api_name, f.data_type, tuple((p.actual_value, p.display_value) for p in f.picklist))
            for f in module.fields
        ),
    )


def plan_fields(node: Node) -> list[Field]:
    """The fields a lowered rule reads."""
    match node:
        case All(nodes=nodes) | AnyOf(nodes=nodes):
            return [f for n in nodes for f in plan_fields(n)]
        case Not(node=inner):
            return plan_fields(inner)
        case FieldCompare(left=left, right=right):
            return [left, right]
        case Const():
            return []
        case _:
            return [node.field]


def assign_contact(
    rules: CompiledRules, contact: Record, account_territories: Sequence[int], cap: int
) -> Assignment:
    """TER-17: the account's territories, each kept only if the contact meets its contact rule."""
    tree = rules.tree
    kept = [
        tid
        for tid in tree.in_preorder(account_territories)
        if rules.matches(tid, contact) is not False
    ]
    return capped(kept, cap)


def assign_deal(
    rules: CompiledRules, deal: Record, candidates: Sequence[int], *, deal_rule: bool, cap: int = 1
) -> Assignment:
    """TER-18: candidates are the contact's territories, else the account's; at most one.

    Without the deal rule the first candidate in pre-order; with it, the deepest match below
    the first candidate that yields one.
    """
    ordered = rules.tree.in_preorder(candidates)
    if not ordered:
        return Assignment(())
    if not deal_rule:
        return capped(ordered, cap)
    for candidate in ordered:
        found = rules.descend(deal, (candidate,))
        if found:
            return capped(found, cap)
    return Assignment(())
