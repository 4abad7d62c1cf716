"""The save pipeline's extension points (00-product.md, "Order of execution … saved").

1 validate (with `SaveStep.check` for locks) → 2 write → 3 territories → 4 cascade →
5 approvals → 6 blueprints → 7 side effects to the outbox. Steps 2–7 share the caller's
transaction. Features plug in by adding a `SaveStep` at their place in the order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol

from secteur.domain.actor import Actor
from secteur.domain.fields import Module
from secteur.domain.records import Problem, StoredRecord

if TYPE_CHECKING:
    from secteur.services.app import Tx


class Stage(IntEnum):
    """Where a step runs in the save order; steps run by stage, then as registered."""

    TERRITORIES = 3
    CASCADE = 4
    APPROVAL = 5
    BLUEPRINT = 6
    SIDE_EFFECTS = 7


# The `trigger` body key (Zoho) selects which of these stages run for an API write.
TRIGGERABLE = {"approval": Stage.APPROVAL, "blueprint": Stage.BLUEPRINT}


@dataclass(frozen=True)
class Change:
    """One record written by this transaction: what it was (None if new) and what it is."""

    module: Module
    before: StoredRecord | None
    after: StoredRecord
    changed: frozenset[str]

    @property
    def created(self) -> bool:
        return self.before is None


@dataclass
class Outcome:
    """What the steps did beyond the write, for the caller to report or deliver."""

    outbox: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class SaveStep(Protocol):
    stage: Stage

    def check(
        self,
        tx: Tx,
        actor: Actor,
        module: Module,
        before: StoredRecord | None,
        changes: Mapping[str, Any],
    ) -> Sequence[Problem]:
        """Step 1: problems that forbid this change (a lock, a process field), or none."""
        ...

    def apply(self, tx: Tx, actor: Actor, changes: Sequence[Change], outcome: Outcome) -> None:
        """Steps 3–7: act on the records just written, in the same transaction."""
        ...


def selected_stages(trigger: Sequence[str] | None) -> frozenset[Stage]:
    """Stages that run for a write: all when `trigger` is omitted; `[]` skips 5 and 6."""
    always = {Stage.TERRITORIES, Stage.CASCADE, Stage.SIDE_EFFECTS}
    if trigger is None:
        return frozenset(Stage)
    chosen = {TRIGGERABLE[t] for t in trigger if t in TRIGGERABLE}
    return frozenset(always | chosen)


class Pipeline:
    def __init__(self, steps: Sequence[SaveStep] = ()) -> None:
        self._steps = sorted(steps, key=lambda s: s.stage)

    def add(self, step: SaveStep) -> None:
        self._steps = sorted([*self._steps, step], key=lambda s: s.stage)

    def check(
        self,
        tx: Tx,
        actor: Actor,
        module: Module,
        before: StoredRecord | None,
        changes: Mapping[str, Any],
        stages: frozenset[Stage],
    ) -> list[Problem]:
        problems: list[Problem] = []
        for step in self._steps:
            if step.stage in stages:
                problems.extend(step.check(tx, actor, module, before, changes))
        return problems

    def apply(
        self, tx: Tx, actor: Actor, changes: Sequence[Change], stages: frozenset[Stage]
    ) -> Outcome:
        outcome = Outcome()
        if not changes:
            return outcome
        for step in self._steps:
            if step.stage in stages:
                step.apply(tx, actor, changes, outcome)
        return outcome
