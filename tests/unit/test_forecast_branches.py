"""Branch totals (ADR 0012): a territory summary computed from the branch totals of the node,
its children and the excluded branches below it equals the one computed from every cell —
for any tree, cells, targets, exclusions and node (forecasts.md FC-6 … FC-10, FC-13)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secteur.domain.forecasts import (
    Cell,
    Exclusions,
    ForecastSettings,
    ForecastType,
    Hierarchy,
    HierarchyKind,
    SummaryRow,
    Target,
    branch_nodes,
    branch_totals,
    summarise,
)
from secteur.domain.forecasts.rollup import Metrics

STAGES = [
    "Qualification",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
    "Proposal/Price Quote",
]
OWNERS = [21, 22, 23, 24]


@st.composite
def organisations(draw: st.DrawFn) -> tuple[Hierarchy, list[Cell]]:
    size = draw(st.integers(1, 14))
    parent: dict[int, int | None] = {1: None}
    for node in range(2, size + 1):
        parent[node] = draw(st.integers(1, node - 1))
    h = Hierarchy(HierarchyKind.TERRITORY, parent, {n: f"T{n}" for n in parent})
    cells = draw(
        st.lists(
            st.builds(
                Cell,
                st.integers(0, size + 1),  # 0 and size + 1: outside the tree
                st.sampled_from(OWNERS),
                st.sampled_from(STAGES),
                st.integers(1, 5),
                st.integers(-(10**7), 10**9),
                st.integers(0, 10**9),
                st.integers(0, 50_000),
            ),
            max_size=40,
        )
    )
    return h, cells


def _branches(h: Hierarchy, cells: list[Cell]) -> list[Cell]:
    """What the database keeps: each node's subtree's cells summed by stage, under the node."""
    out: dict[tuple[int, str], list[int]] = {}
    for node in h.parent:
        below = h.subtree(node)
        for c in cells:
            if c.territory_id in below:
                sums = out.setdefault((node, c.stage), [0, 0, 0, 0])
                for i, value in enumerate(
                    (c.deals, c.amount_cents, c.weighted_cents, c.probability_sum)
                ):
                    sums[i] += value
    return [Cell(node, 0, stage, *sums) for (node, stage), sums in out.items()]


def _same(a: list[SummaryRow], b: list[SummaryRow]) -> None:
    assert [(r.node_id, r.user_id, r.target, r.target_mismatch, r.target_not_set) for r in a] == [
        (r.node_id, r.user_id, r.target, r.target_mismatch, r.target_not_set) for r in b
    ]
    for x, y in zip(a, b, strict=True):
        assert dataclasses.astuple(x.metrics) == pytest.approx(
            dataclasses.astuple(y.metrics), rel=1e-9, abs=1e-6
        )


@settings(max_examples=300, deadline=None)
@given(
    organisations(),
    st.data(),
    st.sampled_from([ForecastType.REVENUE, ForecastType.QUANTITY]),
    st.booleans(),
)
def test_ADR_0012_branch_totals_give_the_summary_of_every_cell(
    organisation: tuple[Hierarchy, list[Cell]],
    data: st.DataObject,
    kind: ForecastType,
    include_child: bool,
) -> None:
    h, cells = organisation
    nodes = sorted(h.parent)
    node = data.draw(st.sampled_from(nodes))
    exclusions = Exclusions(
        territories=frozenset(data.draw(st.lists(st.sampled_from(nodes), max_size=2))),
        users=frozenset(data.draw(st.lists(st.sampled_from(OWNERS), max_size=2))),
    )
    targets = [
        Target(n, u, data.draw(st.integers(1, 10**6)) / 100)
        for n in data.draw(st.lists(st.sampled_from(nodes), max_size=4, unique=True))
        for u in (None, *data.draw(st.lists(st.sampled_from(OWNERS), max_size=2, unique=True)))
    ]
    current = ForecastSettings(type=kind)
    common = {"include_child": include_child, "exclusions": exclusions}

    by_cells = summarise(h, cells, current, targets, node, **common)  # type: ignore[arg-type]

    wanted = set(branch_nodes(h, node, exclusions))
    branches = [c for c in _branches(h, cells) if c.territory_id in wanted]
    excluded = [c for c in cells if c.owner_id in exclusions.users]
    shown = [node, *h.children[node]]
    totals = branch_totals(h, branches, current, shown, exclusions, excluded)
    members = {t.user_id for t in targets if t.node_id == node}
    mine = [c for c in cells if c.owner_id in members]
    by_branches = summarise(
        h,
        (),
        current,
        targets,
        node,
        member_cells=mine,
        totals=totals,
        **common,  # type: ignore[arg-type]
    )
    _same(by_branches, by_cells)


def test_ADR_0012_an_excluded_branch_below_a_child_is_taken_out_of_the_child_and_the_node() -> None:
    # 1 → 2 → 3; 1 → 4. Territory 3 excluded (FC-13): its 700 leave 2 and 1, not 4.
    h = Hierarchy(HierarchyKind.TERRITORY, {1: None, 2: 1, 3: 2, 4: 1}, {})
    cells = [
        Cell(3, 21, "Closed Won", 1, 70_000, 70_000),
        Cell(2, 21, "Closed Won", 1, 20_000, 20_000),
        Cell(4, 22, "Closed Won", 1, 40_000, 40_000),
    ]
    exclusions = Exclusions(territories=frozenset({3}))
    assert branch_nodes(h, 1, exclusions) == [1, 2, 4, 3]
    totals = branch_totals(h, _branches(h, cells), ForecastSettings(), [1, 2, 4], exclusions)
    assert {n: m.achieved for n, m in totals.items()} == {1: 600.0, 2: 200.0, 4: 400.0}
    assert isinstance(totals[1], Metrics)
