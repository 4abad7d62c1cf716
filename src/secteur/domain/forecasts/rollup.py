"""The forecast roll-up (FC-6 … FC-11, FC-13): deal aggregates up a hierarchy, against targets.

One pass over the cells gives each node its own figures; one bottom-up pass over the nodes adds
the descendants'. Attribution: territory forecasts follow the deal's territory, whoever owns it
(FC-7); role forecasts follow the owner's role (FC-11).

Territory summaries may start from branch totals instead (ADR 0012): a node's cells with all its
descendants', kept by the database. `branch_totals` turns the branch totals of the nodes shown
(and of the excluded branches below them) into the same figures, without the other nodes' cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from secteur.domain.forecasts.model import (
    OPEN_CATEGORIES,
    Category,
    Cell,
    Exclusions,
    ForecastSettings,
    ForecastType,
    HierarchyKind,
    Target,
)

MISMATCH_TOLERANCE = 0.005
NO_EXCLUSIONS = Exclusions()


@dataclass(frozen=True)
class Hierarchy:
    """Territories or roles as forecast nodes: parents, names, members, and for roles the
    role each user holds (a deal counts in its owner's role)."""

    kind: HierarchyKind
    parent: Mapping[int, int | None]
    names: Mapping[int, str]
    members: Mapping[int, frozenset[int]] = field(default_factory=dict)
    user_node: Mapping[int, int] = field(default_factory=dict)

    @cached_property
    def children(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {n: [] for n in self.parent}
        for node, parent in self.parent.items():
            if parent is not None and parent in out:
                out[parent].append(node)
        return out

    @cached_property
    def root(self) -> int:
        return next(n for n, p in self.parent.items() if p is None)

    @cached_property
    def postorder(self) -> list[int]:
        """Children before their parent: the order of the bottom-up pass."""
        order: list[int] = []
        stack: list[tuple[int, bool]] = [(self.root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(self.children[node]))
        return order

    def with_members(
        self, members: Mapping[int, frozenset[int]], user_node: Mapping[int, int] | None = None
    ) -> Hierarchy:
        """The same tree with other members; the tree's computed shape is kept, not redone."""
        fresh = Hierarchy(
            self.kind,
            self.parent,
            self.names,
            members,
            self.user_node if user_node is None else user_node,
        )
        for key in ("children", "root", "postorder"):
            if key in self.__dict__:
                fresh.__dict__[key] = self.__dict__[key]
        return fresh

    def subtree(self, node: int) -> set[int]:
        out, stack = set(), [node]
        while stack:
            current = stack.pop()
            out.add(current)
            stack.extend(self.children.get(current, ()))
        return out

    def node_of(self, cell: Cell) -> int | None:
        if self.kind is HierarchyKind.TERRITORY:
            return cell.territory_id if cell.territory_id in self.parent else None
        return self.user_node.get(cell.owner_id)


@dataclass(slots=True)
class Metrics:
    achieved: float = 0.0
    pipeline: float = 0.0
    weighted_pipeline: float = 0.0
    best_case: float = 0.0
    commit: float = 0.0

    def add(self, other: Metrics, sign: int = 1) -> None:
        self.achieved += sign * other.achieved
        self.pipeline += sign * other.pipeline
        self.weighted_pipeline += sign * other.weighted_pipeline
        self.best_case += sign * other.best_case
        self.commit += sign * other.commit

    def copy(self) -> Metrics:
        out = Metrics()
        out.add(self)
        return out


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One line of a forecast summary: a node (its descendants included) or a member."""

    node_id: int
    user_id: int | None
    target: float | None
    metrics: Metrics
    target_mismatch: bool
    target_not_set: bool

    @property
    def achieved_pct(self) -> float | None:
        if not self.target:
            return None
        return round(self.metrics.achieved / self.target * 100, 2)

    @property
    def shortage_pct(self) -> float | None:
        """FC-9: the share of the target covered neither by achieved nor by pipeline."""
        if not self.target:
            return None
        uncovered = self.target - self.metrics.achieved - self.metrics.pipeline
        return round(max(0.0, uncovered) / self.target * 100, 2)

    @property
    def star(self) -> bool:
        """FC-9: at or above 100 % of the target."""
        pct = self.achieved_pct
        return pct is not None and pct >= 100


def _add_cell(metrics: Metrics, cell: Cell, category: Category, quantity: bool) -> None:
    value = cell.deals if quantity else cell.amount_cents / 100
    if category is Category.CLOSED_WON:
        metrics.achieved += value
    elif category in OPEN_CATEGORIES:
        metrics.pipeline += value
        metrics.weighted_pipeline += (
            cell.probability_sum / 10_000 if quantity else cell.weighted_cents / 100
        )
        if category is Category.BEST_CASE:
            metrics.best_case += value
        elif category is Category.COMMIT:
            metrics.commit += value


@dataclass(frozen=True)
class _Scope:
    """What the exclusions leave in: nodes and users."""

    excluded_nodes: frozenset[int]
    excluded_users: frozenset[int]

    @classmethod
    def of(cls, hierarchy: Hierarchy, exclusions: Exclusions) -> _Scope:
        nodes: set[int] = set()
        for node in exclusions.nodes(hierarchy.kind):
            if node in hierarchy.parent:
                nodes |= hierarchy.subtree(node)
        return cls(frozenset(nodes), exclusions.users)


def node_metrics(
    hierarchy: Hierarchy,
    cells: Iterable[Cell],
    settings: ForecastSettings,
    exclusions: Exclusions = NO_EXCLUSIONS,
    *,
    with_owners: bool = True,
) -> tuple[dict[int, Metrics], dict[int, Metrics], dict[tuple[int, int], Metrics]]:
    """Each node's own figures, its figures with descendants, and each (node, owner)'s own
    (left empty without `with_owners`)."""
    scope = _Scope.of(hierarchy, exclusions)
    quantity = settings.type is ForecastType.QUANTITY
    own: dict[int, Metrics] = {n: Metrics() for n in hierarchy.parent}
    by_owner: dict[tuple[int, int], Metrics] = {}
    categories: dict[str, Category] = {}
    for cell in cells:
        node = hierarchy.node_of(cell)
        if node is None or node in scope.excluded_nodes or cell.owner_id in scope.excluded_users:
            continue
        category = categories.get(cell.stage)
        if category is None:
            category = categories[cell.stage] = settings.category(cell.stage)
        _add_cell(own[node], cell, category, quantity)
        if with_owners:
            key = (node, cell.owner_id)
            if key not in by_owner:
                by_owner[key] = Metrics()
            _add_cell(by_owner[key], cell, category, quantity)
    total: dict[int, Metrics] = {}
    for node in hierarchy.postorder:
        sum_ = Metrics()
        sum_.add(own[node])
        for child in hierarchy.children[node]:
            if child not in scope.excluded_nodes:
                sum_.add(total[child])
        total[node] = sum_
    return own, total, by_owner


def _owner_metrics(
    hierarchy: Hierarchy, cells: Iterable[Cell], settings: ForecastSettings, scope: _Scope
) -> dict[tuple[int, int], Metrics]:
    quantity = settings.type is ForecastType.QUANTITY
    out: dict[tuple[int, int], Metrics] = {}
    for cell in cells:
        node = hierarchy.node_of(cell)
        if node is None or node in scope.excluded_nodes or cell.owner_id in scope.excluded_users:
            continue
        key = (node, cell.owner_id)
        if key not in out:
            out[key] = Metrics()
        _add_cell(out[key], cell, settings.category(cell.stage), quantity)
    return out


def _member_metrics(
    hierarchy: Hierarchy, node: int, user: int, by_owner: Mapping[tuple[int, int], Metrics]
) -> Metrics:
    """FC-10: the user's deals in the node and below it."""
    out = Metrics()
    for n in hierarchy.subtree(node):
        found = by_owner.get((n, user))
        if found is not None:
            out.add(found)
    return out


def branch_nodes(
    hierarchy: Hierarchy, node: int, exclusions: Exclusions = NO_EXCLUSIONS
) -> list[int]:
    """The branches whose totals a summary of `node` needs: the node, its children, and the
    excluded branches below it (to take out)."""
    scope = _Scope.of(hierarchy, exclusions)
    below = hierarchy.subtree(node) if scope.excluded_nodes else set()
    cut = sorted(
        n
        for n in scope.excluded_nodes
        if n in below and n != node and hierarchy.parent[n] not in scope.excluded_nodes
    )
    return [node, *hierarchy.children[node], *cut]


def branch_totals(
    hierarchy: Hierarchy,
    branches: Iterable[Cell],
    settings: ForecastSettings,
    nodes: Iterable[int],
    exclusions: Exclusions = NO_EXCLUSIONS,
    excluded_user_cells: Iterable[Cell] = (),
) -> dict[int, Metrics]:
    """Each of `nodes`' figures with its descendants, as `node_metrics` computes them, from
    branch totals: cells whose `territory_id` is the top of the branch they sum (the branches
    of `nodes` and of `branch_nodes`' excluded ones). Excluded branches below a node are taken
    out of it; so are the cells of excluded users (`excluded_user_cells`, by territory and
    owner) outside excluded branches."""
    scope = _Scope.of(hierarchy, exclusions)
    quantity = settings.type is ForecastType.QUANTITY
    gross: dict[int, Metrics] = {}
    for cell in branches:
        metrics = gross.setdefault(cell.territory_id, Metrics())
        _add_cell(metrics, cell, settings.category(cell.stage), quantity)
    wanted = list(dict.fromkeys(nodes))
    out = {
        n: Metrics() if n in scope.excluded_nodes else gross.get(n, Metrics()).copy()
        for n in wanted
    }
    tops = [n for n in scope.excluded_nodes if hierarchy.parent.get(n) not in scope.excluded_nodes]

    def shown_above(start: int) -> list[int]:
        # The nodes shown whose branch holds `start`, themselves not excluded.
        found, current = [], hierarchy.parent.get(start)
        while current is not None:
            if current in out and current not in scope.excluded_nodes:
                found.append(current)
            current = hierarchy.parent.get(current)
        return found

    for top in tops:
        for n in shown_above(top):
            out[n].add(gross.get(top, Metrics()), -1)
    for cell in excluded_user_cells:
        if cell.owner_id not in scope.excluded_users:
            continue
        territory = cell.territory_id
        if territory not in hierarchy.parent or territory in scope.excluded_nodes:
            continue
        taken = Metrics()
        _add_cell(taken, cell, settings.category(cell.stage), quantity)
        for n in ([territory] if territory in out else []) + shown_above(territory):
            out[n].add(taken, -1)
    return out


def summarise(
    hierarchy: Hierarchy,
    cells: Iterable[Cell],
    settings: ForecastSettings,
    targets: Sequence[Target],
    node: int,
    *,
    include_child: bool = True,
    exclusions: Exclusions = NO_EXCLUSIONS,
    member_cells: Iterable[Cell] | None = None,
    totals: Mapping[int, Metrics] | None = None,
) -> list[SummaryRow]:
    """The node (with descendants unless `include_child` is false), each child node, and each
    member with a target in the node (forecasts.md, summary).

    `member_cells`, when given, are the cells the member rows read (by territory and owner,
    for the members only); `cells` may then be summed without owners, which is cheaper to
    read. Without it, `cells` serve both. `totals`, when given, are the figures with
    descendants of the node and its children (`branch_totals`); `cells` are then not read, and
    the member rows read `member_cells` only.
    """
    scope = _Scope.of(hierarchy, exclusions)
    separate = member_cells is not None
    total: Mapping[int, Metrics]
    if totals is None:
        own, total, by_owner = node_metrics(
            hierarchy, cells, settings, exclusions, with_owners=not separate
        )
    else:
        total, by_owner = totals, {}
        # A node's own figures: its branch less its (counted) children's.
        mine = total[node].copy()
        for child in hierarchy.children[node]:
            if child not in scope.excluded_nodes:
                mine.add(total[child], -1)
        own = {node: mine}
    if member_cells is not None:
        by_owner = _owner_metrics(hierarchy, member_cells, settings, scope)
    node_targets = {t.node_id: t.amount for t in targets if t.user_id is None}
    member_targets: dict[int, dict[int, float]] = {}
    for t in targets:
        if t.user_id is not None and t.user_id not in scope.excluded_users:
            member_targets.setdefault(t.node_id, {})[t.user_id] = t.amount

    def row(n: int, metrics: Metrics) -> SummaryRow:
        target = node_targets.get(n)
        parts = [
            node_targets[c]
            for c in hierarchy.children[n]
            if c in node_targets and c not in scope.excluded_nodes
        ] + list(member_targets.get(n, {}).values())
        mismatch = (
            target is not None and bool(parts) and abs(sum(parts) - target) > MISMATCH_TOLERANCE
        )
        return SummaryRow(n, None, target, metrics, mismatch, target is None)

    rows = [row(node, total[node] if include_child else own[node])]
    rows += [row(c, total[c]) for c in hierarchy.children[node] if c not in scope.excluded_nodes]
    for user, amount in sorted(member_targets.get(node, {}).items()):
        metrics = _member_metrics(hierarchy, node, user, by_owner)
        rows.append(SummaryRow(node, user, amount, metrics, False, False))
    return rows
