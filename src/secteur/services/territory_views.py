"""What the territory screens read: members, record counts per territory, and a rule's reach —
how many records a rule would take among those that get to its territory (issue 5)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import territory_repo
from secteur.adapters.db.criteria_sql import compile_sql
from secteur.adapters.db.territory_repo import Membership
from secteur.domain.actor import Actor
from secteur.domain.fields import Module
from secteur.domain.records import StoredRecord
from secteur.domain.territories import Tree
from secteur.services import record_queries as queries
from secteur.services import territory_assignment as assignment
from secteur.services.app import Tx
from secteur.services.territories import require_enabled

SAMPLE_SIZE = 8


def members(tx: Tx, territory_id: int) -> list[Membership]:
    require_enabled(tx)
    return territory_repo.members(tx.conn, territory_id)


def member_counts(tx: Tx) -> dict[int, int]:
    return territory_repo.member_counts(tx.conn)


@dataclass(frozen=True)
class Counts:
    """Records of a module per territory: assigned to it, and to it or any territory below."""

    own: Mapping[int, int]
    subtree: Mapping[int, int]


def record_counts(tx: Tx, module: str, shown: Iterable[int]) -> Counts:
    """Counts for the territories on screen.

    One GROUP BY over the module's assignments and one pass up the tree give every
    territory's figures; they are kept for the rest of the request (a page shows several
    modules and levels). The subtree figure adds up assignments: a record in two sibling
    territories counts in both, and twice in their parent's figure (shown as "assignments
    in this branch").
    """
    tree = require_enabled(tx)
    key = f"territory_counts:{module}"
    cached = tx.scratch.get(key)
    if not isinstance(cached, Counts):
        own = territory_repo.assignment_counts(tx.conn, module, None)
        below: dict[int, int] = {}
        for territory_id in reversed(tree.preorder):  # children before their parent
            below[territory_id] = own.get(territory_id, 0) + sum(
                below[c] for c in tree.children.get(territory_id, ())
            )
        cached = tx.scratch[key] = Counts(own, below)
    wanted = [t for t in shown if t in tree]
    return Counts(
        {t: cached.own.get(t, 0) for t in wanted}, {t: cached.subtree.get(t, 0) for t in wanted}
    )


def reach_condition(tx: Tx, module: Module, tree: Tree, territory_id: int) -> Any:
    """The records that get to `territory_id` when rules run — those a rule there decides on.

    Accounts and Leads walk the tree top-down (TER-11): a record gets to a territory when it
    matches every ancestor's rule (an ancestor without a rule lets everything through, TER-15).
    Contacts inherit their account's territories (TER-17): those whose account holds it.
    Deals choose among their account's territories (TER-18): those whose account holds the
    parent territory or one below it.
    """
    rt = tx.state.table(module)
    ctx = assignment.eval_context(tx)
    name = module.api_name
    if name in ("Accounts", "Leads"):
        parts = []
        for ancestor in tree.ancestors(territory_id):
            rule = tree.by_id[ancestor].rule(name)
            if rule is not None:
                parts.append(compile_sql(rule, rt, ctx))
        return sa.and_(sa.true(), *parts)
    account_field = module.field("Account_Name")
    assert account_field is not None
    if name == "Contacts":
        holders = territory_repo.record_ids_in([territory_id], "Accounts")
    else:
        parent = tree.by_id[territory_id].parent_id
        scope = tree.subtree(parent) if parent is not None else tree.subtree(territory_id)
        holders = territory_repo.record_ids_in(scope, "Accounts")
    return rt.column(account_field).in_(holders)


@dataclass(frozen=True)
class RuleReach:
    reaching: int
    matching: int
    sample: list[StoredRecord]

    @property
    def matches_nothing(self) -> bool:
        return self.matching == 0

    @property
    def matches_everything(self) -> bool:
        return self.reaching > 0 and self.matching == self.reaching


def rule_reach(
    tx: Tx, actor: Actor, module: Module, territory_id: int, criteria: object | None
) -> RuleReach:
    """How many records get to the territory, how many of them the rule takes, a sample."""
    tree = require_enabled(tx)
    reach = reach_condition(tx, module, tree, territory_id)
    reaching = queries.count_records(tx, actor, module, reach)
    condition = reach
    if criteria is not None:
        condition = sa.and_(reach, queries.criteria_condition(tx, actor, module, criteria))
    matching = queries.count_records(tx, actor, module, condition) if criteria else reaching
    sample = queries.list_records(
        tx,
        actor,
        module,
        queries.ListQuery(
            per_page=SAMPLE_SIZE,
            sort_by=module.display_field,
            approved="both",
            conditions=(condition,),
        ),
    ).records
    return RuleReach(reaching, matching, sample)
