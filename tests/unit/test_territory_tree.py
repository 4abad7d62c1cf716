"""The territory tree (TER-4 … TER-6): one root, ordered siblings, no cycles, manager fallback."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secteur.domain.territories import Territory, Tree, TreeError


def tree_of(*nodes: tuple[int, int | None, int]) -> Tree:
    return Tree.of(Territory(i, f"T{i}", parent, sequence) for i, parent, sequence in nodes)


def test_TER_4_a_tree_has_exactly_one_root() -> None:
    with pytest.raises(TreeError):
        tree_of((1, None, 1), (2, None, 1))
    assert tree_of((1, None, 1), (2, 1, 1)).root_id == 1


def test_TER_4_a_territory_other_than_the_root_needs_a_parent() -> None:
    tree = tree_of((1, None, 1), (2, 1, 1))
    with pytest.raises(TreeError) as caught:
        tree.check_parent(None, None)
    assert caught.value.code == "MANDATORY_NOT_FOUND"
    assert caught.value.details["api_name"] == "reporting_to"


def test_TER_4_a_move_under_itself_or_a_descendant_is_refused() -> None:
    tree = tree_of((1, None, 1), (2, 1, 1), (3, 2, 1), (4, 3, 1))
    for target in (2, 3, 4):
        with pytest.raises(TreeError) as caught:
            tree.check_parent(2, target)
        assert caught.value.code == "INVALID_DATA"
    tree.check_parent(4, 1)  # moving a leaf up is fine


def test_TER_4_the_root_cannot_be_moved() -> None:
    tree = tree_of((1, None, 1), (2, 1, 1))
    with pytest.raises(TreeError) as caught:
        tree.check_parent(1, 2)
    assert caught.value.code == "NOT_ALLOWED"


def test_TER_5_names_are_unique_among_siblings_only_ignoring_case() -> None:
    tree = Tree.of(
        [
            Territory(1, "Org", None),
            Territory(2, "Europe", 1),
            Territory(3, "North", 2),
        ]
    )
    with pytest.raises(TreeError) as caught:
        tree.check_name(None, 1, "  europe ")
    assert caught.value.code == "DUPLICATE_DATA"
    tree.check_name(None, 1, "North")  # a cousin may share a name
    tree.check_name(2, 1, "EUROPE")  # renaming itself


def test_TER_13_pre_order_follows_sibling_sequence_then_id() -> None:
    tree = tree_of((1, None, 1), (5, 1, 2), (3, 1, 2), (4, 1, 1), (6, 3, 1))
    assert tree.preorder == (1, 4, 3, 6, 5)
    assert tree.in_preorder([5, 6, 4]) == [4, 6, 5]


def test_TER_6_a_territory_without_a_manager_is_administered_by_the_nearest_ancestor() -> None:
    tree = Tree.of(
        [
            Territory(1, "Org", None),
            Territory(2, "Europe", 1, manager_id=100),
            Territory(3, "France", 2),
            Territory(4, "Paris", 3, manager_id=200),
            Territory(5, "Americas", 1),
        ]
    )
    assert tree.administrator(3) == 100
    assert tree.administrator(4) == 200
    assert tree.administrator(5) is None  # above the root: administrators only
    assert tree.managed_by(100) == frozenset({2, 3, 4})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=30), st.data())
def test_TER_4_no_accepted_move_ever_creates_a_cycle(
    parents: list[int], data: st.DataObject
) -> None:
    # Node i+2's parent is one of the nodes before it: always a tree.
    nodes = [Territory(1, "root", None)]
    for i, p in enumerate(parents):
        nodes.append(Territory(i + 2, f"n{i}", 1 + p % (i + 1)))
    tree = Tree.of(nodes)
    moving = data.draw(st.sampled_from([n.id for n in nodes]))
    target = data.draw(st.sampled_from([n.id for n in nodes]))
    try:
        tree.check_parent(moving, target)
    except TreeError:
        return
    moved = [Territory(n.id, n.name, target if n.id == moving else n.parent_id) for n in nodes]
    assert len(Tree.of(moved).preorder) == len(nodes)
