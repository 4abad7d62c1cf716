"""The territory tree: one root, ordered siblings, no cycles (TER-4 … TER-7).

Pure and immutable: a change is checked against the current tree and the repository writes
it; the next configuration version loads a new `Tree`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from secteur.domain.territories.model import Territory, TreeError
from secteur.domain.text import fold


@dataclass(frozen=True)
class Tree:
    by_id: dict[int, Territory]
    children: dict[int, tuple[int, ...]]
    root_id: int

    @classmethod
    def of(cls, territories: Iterable[Territory]) -> Tree:
        by_id = {t.id: t for t in territories}
        roots = [t.id for t in by_id.values() if t.parent_id is None]
        if len(roots) != 1:
            raise TreeError("INVALID_DATA", f"a territory tree has one root, found {len(roots)}")
        kids: dict[int, list[Territory]] = {tid: [] for tid in by_id}
        for t in by_id.values():
            if t.parent_id is not None:
                if t.parent_id not in by_id:
                    raise TreeError("INVALID_DATA", f"territory {t.id} has an unknown parent")
                kids[t.parent_id].append(t)
        children = {
            tid: tuple(k.id for k in sorted(ks, key=lambda k: (k.sequence, k.id)))
            for tid, ks in kids.items()
        }
        tree = cls(by_id, children, roots[0])
        if len(tree.preorder) != len(by_id):
            raise TreeError("INVALID_DATA", "the territory tree has a cycle")
        return tree

    @property
    def root(self) -> Territory:
        return self.by_id[self.root_id]

    def __len__(self) -> int:
        return len(self.by_id)

    def __contains__(self, territory_id: object) -> bool:
        return territory_id in self.by_id

    def get(self, territory_id: int) -> Territory | None:
        return self.by_id.get(territory_id)

    def children_of(self, territory_id: int) -> list[Territory]:
        return [self.by_id[c] for c in self.children.get(territory_id, ())]

    @cached_property
    def preorder(self) -> tuple[int, ...]:
        """Every territory, parents before children, siblings by (`sequence`, id) (TER-13)."""
        order: list[int] = []
        stack = [self.root_id]
        while stack:
            tid = stack.pop()
            order.append(tid)
            stack.extend(reversed(self.children[tid]))
        return tuple(order)

    @cached_property
    def rank(self) -> dict[int, int]:
        """Position of each territory in pre-order: sorts any set of territories (TER-13)."""
        return {tid: i for i, tid in enumerate(self.preorder)}

    @cached_property
    def depth(self) -> dict[int, int]:
        depth = {self.root_id: 0}
        for tid in self.preorder:
            for child in self.children[tid]:
                depth[child] = depth[tid] + 1
        return depth

    def in_preorder(self, ids: Iterable[int]) -> list[int]:
        rank = self.rank
        return sorted((i for i in set(ids) if i in rank), key=rank.__getitem__)

    def ancestors(self, territory_id: int) -> list[int]:
        """Parent first, root last."""
        out: list[int] = []
        current = self.by_id[territory_id].parent_id
        while current is not None:
            out.append(current)
            current = self.by_id[current].parent_id
        return out

    def subtree(self, territory_id: int) -> Iterator[int]:
        """`territory_id` and all its descendants, in pre-order."""
        stack = [territory_id]
        while stack:
            tid = stack.pop()
            yield tid
            stack.extend(reversed(self.children.get(tid, ())))

    def subtrees(self, territory_ids: Iterable[int]) -> frozenset[int]:
        out: set[int] = set()
        for tid in territory_ids:
            if tid in self.by_id and tid not in out:
                out.update(self.subtree(tid))
        return frozenset(out)

    def administrator(self, territory_id: int) -> int | None:
        """TER-6: the manager, else the nearest ancestor's; None means administrators only."""
        current: int | None = territory_id
        while current is not None:
            t = self.by_id[current]
            if t.manager_id is not None:
                return t.manager_id
            current = t.parent_id
        return None

    def managed_by(self, user_id: int) -> frozenset[int]:
        """Territories `user_id` administers: those they manage and everything below (TER-20)."""
        return self.subtrees(t.id for t in self.by_id.values() if t.manager_id == user_id)

    # --- checks for changes (the repository writes only what passed) ---

    def check_parent(self, territory_id: int | None, parent_id: int | None) -> None:
        """TER-4: every territory but the root has a parent, and a move never makes a cycle."""
        if parent_id is None:
            if territory_id == self.root_id:
                return
            raise TreeError(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "reporting_to", "json_path": "$.territories[0].reporting_to"},
            )
        if parent_id not in self.by_id:
            raise TreeError(
                "INVALID_DATA", "invalid reporting_to territory", {"api_name": "reporting_to"}
            )
        if territory_id is None:
            return
        if territory_id == self.root_id:
            raise TreeError(
                "NOT_ALLOWED", "the root territory cannot be moved", {"api_name": "reporting_to"}
            )
        if parent_id == territory_id or territory_id in self.ancestors(parent_id):
            raise TreeError(
                "INVALID_DATA",
                "a territory cannot report to itself or to one of its sub-territories",
                {"api_name": "reporting_to"},
            )

    def check_name(self, territory_id: int | None, parent_id: int | None, name: str) -> None:
        """TER-5: names are unique among siblings (compared folded)."""
        siblings: Sequence[int] = (
            self.children.get(parent_id, ()) if parent_id is not None else (self.root_id,)
        )
        wanted = fold(name.strip())
        for sid in siblings:
            if sid != territory_id and fold(self.by_id[sid].name.strip()) == wanted:
                raise TreeError(
                    "DUPLICATE_DATA",
                    "duplicate data",
                    {"api_name": "name", "id": str(sid)},
                )
