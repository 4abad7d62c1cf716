"""Forecast engine (forecasts.md): periods, roll-up, metrics and flags on hand-checked data,
exclusions, and who may set targets. Every figure below was worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from secteur.domain.forecasts import (
    Cell,
    Exclusions,
    ForecastSettings,
    ForecastType,
    Hierarchy,
    HierarchyKind,
    Period,
    PeriodError,
    Target,
    TargetRefused,
    may_set_target,
    summarise,
)

# --- a small territory organisation -------------------------------------------------------
WORLD, EUROPE, FRANCE, GERMANY, AMERICAS = 1, 2, 3, 4, 5
ALICE, BOB, CARL, EVE, DAN = 11, 12, 13, 14, 15

TERRITORIES = Hierarchy(
    HierarchyKind.TERRITORY,
    parent={WORLD: None, EUROPE: WORLD, FRANCE: EUROPE, GERMANY: EUROPE, AMERICAS: WORLD},
    names={WORLD: "World", EUROPE: "Europe", FRANCE: "France", GERMANY: "Germany", AMERICAS: "Am"},
    members={
        FRANCE: frozenset({ALICE, BOB}),
        GERMANY: frozenset({CARL}),
        EUROPE: frozenset({EVE}),
        AMERICAS: frozenset({DAN}),
    },
)


def cell(territory: int, owner: int, stage: str, deals: int, amount: float, prob: float) -> Cell:
    return Cell(
        territory,
        owner,
        stage,
        deals,
        round(amount * 100),
        round(amount * prob),
        round(prob * 100) * deals,
    )


CELLS = [
    cell(FRANCE, ALICE, "Closed Won", 1, 10_000, 100),
    cell(FRANCE, BOB, "Closed Won", 1, 5_000, 100),
    # Carl is not a member of France: his deal in France still counts there (FC-7).
    cell(FRANCE, CARL, "Closed Won", 1, 2_000, 100),
    cell(FRANCE, ALICE, "Negotiation/Review", 1, 8_000, 90),
    cell(FRANCE, BOB, "Qualification", 2, 20_000, 10),
    cell(GERMANY, CARL, "Closed Won", 1, 7_000, 100),
    cell(GERMANY, CARL, "Proposal/Price Quote", 1, 4_000, 75),
    cell(GERMANY, CARL, "Closed Lost", 1, 9_000, 0),
    cell(AMERICAS, DAN, "Closed Won", 1, 50_000, 100),
    # A deal in no territory counts in no territory forecast.
    cell(0, DAN, "Closed Won", 1, 99_000, 100),
]
TARGETS = [
    Target(WORLD, None, 100_000),
    Target(EUROPE, None, 40_000),
    Target(FRANCE, None, 25_000),
    Target(GERMANY, None, 15_000),
    Target(AMERICAS, None, 60_000),
    Target(FRANCE, ALICE, 15_000),
    Target(FRANCE, BOB, 5_000),
]
SETTINGS = ForecastSettings()


def rows_by(rows: list, key: str = "node") -> dict:  # type: ignore[type-arg]
    if key == "node":
        return {r.node_id: r for r in rows if r.user_id is None}
    return {r.user_id: r for r in rows if r.user_id is not None}


def test_FC_7_FC_8_FC_9_territory_figures_roll_up_from_the_deals_territories() -> None:
    rows = rows_by(summarise(TERRITORIES, CELLS, SETTINGS, TARGETS, EUROPE))
    europe, france, germany = rows[EUROPE], rows[FRANCE], rows[GERMANY]
    assert france.metrics.achieved == 17_000
    assert france.metrics.pipeline == 28_000
    assert france.metrics.weighted_pipeline == 9_200
    assert (france.metrics.commit, france.metrics.best_case) == (8_000, 0)
    assert (france.achieved_pct, france.shortage_pct) == (68.0, 0.0)
    assert germany.metrics.achieved == 7_000
    assert germany.metrics.pipeline == 4_000
    assert germany.metrics.weighted_pipeline == 3_000
    assert germany.metrics.best_case == 4_000
    assert (germany.achieved_pct, germany.shortage_pct) == (46.67, 26.67)
    assert europe.metrics.achieved == 24_000
    assert europe.metrics.pipeline == 32_000
    assert europe.metrics.weighted_pipeline == 12_200
    assert (europe.achieved_pct, europe.shortage_pct) == (60.0, 0.0)


def test_the_root_with_all_descendants_counts_every_territorys_deals_and_no_others() -> None:
    world = summarise(TERRITORIES, CELLS, SETTINGS, TARGETS, WORLD)[0]
    assert world.metrics.achieved == 74_000
    assert world.achieved_pct == 74.0
    americas = rows_by(summarise(TERRITORIES, CELLS, SETTINGS, TARGETS, WORLD))[AMERICAS]
    assert (americas.achieved_pct, americas.shortage_pct) == (83.33, 16.67)


def test_without_descendants_a_node_counts_only_its_own_deals() -> None:
    europe = summarise(TERRITORIES, CELLS, SETTINGS, TARGETS, EUROPE, include_child=False)[0]
    assert europe.metrics.achieved == 0


def test_FC_10_member_rows_are_the_users_deals_in_the_territory_and_stars_reach_100_pct() -> None:
    members = rows_by(summarise(TERRITORIES, CELLS, SETTINGS, TARGETS, FRANCE), "user")
    assert set(members) == {ALICE, BOB}
    assert (members[ALICE].metrics.achieved, members[ALICE].metrics.pipeline) == (10_000, 8_000)
    assert members[ALICE].achieved_pct == 66.67 and not members[ALICE].star
    assert (members[BOB].metrics.achieved, members[BOB].achieved_pct) == (5_000, 100.0)
    assert members[BOB].star


def test_FC_6_a_target_that_differs_from_its_parts_is_flagged_and_a_missing_one_too() -> None:
    rows = rows_by(summarise(TERRITORIES, CELLS, SETTINGS, TARGETS, WORLD))
    assert not rows[WORLD].target_mismatch, "Europe 40k + Americas 60k = 100k"
    europe_rows = rows_by(summarise(TERRITORIES, CELLS, SETTINGS, TARGETS, EUROPE))
    assert not europe_rows[EUROPE].target_mismatch, "France 25k + Germany 15k = 40k"
    france = rows_by(summarise(TERRITORIES, CELLS, SETTINGS, TARGETS, FRANCE))[FRANCE]
    assert france.target_mismatch, "members' 15k + 5k ≠ 25k"
    without = [t for t in TARGETS if t.node_id != GERMANY]
    germany = rows_by(summarise(TERRITORIES, CELLS, SETTINGS, without, EUROPE))[GERMANY]
    assert germany.target_not_set and germany.achieved_pct is None


def test_quantity_forecasts_count_deals() -> None:
    quantity = ForecastSettings(type=ForecastType.QUANTITY)
    france = summarise(TERRITORIES, CELLS, quantity, TARGETS, FRANCE)[0]
    assert (france.metrics.achieved, france.metrics.pipeline) == (3, 3)
    assert france.metrics.weighted_pipeline == pytest.approx(0.9 + 0.2)


def test_the_stage_mapping_is_a_setting() -> None:
    custom = ForecastSettings(
        stage_categories={**ForecastSettings().stage_categories, "Qualification": "closed_lost"}  # type: ignore[dict-item]
    )
    custom = ForecastSettings.from_json(custom.to_json())
    france = summarise(TERRITORIES, CELLS, custom, TARGETS, FRANCE)[0]
    assert france.metrics.pipeline == 8_000


def test_FC_13_excluded_territories_and_users_leave_the_forecast() -> None:
    no_germany = Exclusions(territories=frozenset({GERMANY}))
    rows = rows_by(summarise(TERRITORIES, CELLS, SETTINGS, TARGETS, EUROPE, exclusions=no_germany))
    assert GERMANY not in rows and rows[EUROPE].metrics.achieved == 17_000
    assert rows[EUROPE].target_mismatch, "France's 25k alone ≠ 40k"
    no_carl = Exclusions(users=frozenset({CARL}))
    rows = rows_by(summarise(TERRITORIES, CELLS, SETTINGS, TARGETS, EUROPE, exclusions=no_carl))
    assert rows[FRANCE].metrics.achieved == 15_000 and rows[GERMANY].metrics.achieved == 0


# --- role forecasts -----------------------------------------------------------------------
CEO_ROLE, MANAGER_ROLE, REP_ROLE = 100, 101, 102
CEO, MANAGER, REP1, REP2 = 21, 22, 23, 24
ROLES = Hierarchy(
    HierarchyKind.ROLE,
    parent={CEO_ROLE: None, MANAGER_ROLE: CEO_ROLE, REP_ROLE: MANAGER_ROLE},
    names={CEO_ROLE: "CEO", MANAGER_ROLE: "Sales Manager", REP_ROLE: "Rep"},
    members={
        CEO_ROLE: frozenset({CEO}),
        MANAGER_ROLE: frozenset({MANAGER}),
        REP_ROLE: frozenset({REP1, REP2}),
    },
    user_node={CEO: CEO_ROLE, MANAGER: MANAGER_ROLE, REP1: REP_ROLE, REP2: REP_ROLE},
)
ROLE_CELLS = [
    cell(FRANCE, REP1, "Closed Won", 1, 3_000, 100),
    cell(0, REP2, "Closed Won", 1, 2_000, 100),  # no territory: role forecasts still count it
    cell(GERMANY, REP2, "Negotiation/Review", 1, 1_000, 90),
    cell(0, MANAGER, "Closed Won", 1, 4_000, 100),
    cell(0, CEO, "Closed Won", 1, 1_000, 100),
]


def test_FC_11_role_forecasts_follow_the_owner_and_their_role_ancestry() -> None:
    rows = rows_by(summarise(ROLES, ROLE_CELLS, SETTINGS, [], CEO_ROLE))
    assert rows[CEO_ROLE].metrics.achieved == 10_000
    assert rows[MANAGER_ROLE].metrics.achieved == 9_000
    alone = summarise(ROLES, ROLE_CELLS, SETTINGS, [], CEO_ROLE, include_child=False)[0]
    assert alone.metrics.achieved == 1_000
    reps = rows_by(summarise(ROLES, ROLE_CELLS, SETTINGS, [], REP_ROLE))[REP_ROLE]
    assert (reps.metrics.achieved, reps.metrics.commit) == (5_000, 1_000)


def test_FC_13_excluding_a_role_leaves_out_the_roles_below_it_too() -> None:
    rows = rows_by(
        summarise(
            ROLES,
            ROLE_CELLS,
            SETTINGS,
            [],
            CEO_ROLE,
            exclusions=Exclusions(roles=frozenset({MANAGER_ROLE})),
        )
    )
    assert rows[CEO_ROLE].metrics.achieved == 1_000 and MANAGER_ROLE not in rows


# --- periods ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "start", "naming", "months"),
    [
        ("2027-Q1", "quarterly", 1, "start", (202701, 202703)),
        ("2027-Q4", "quarterly", 1, "start", (202710, 202712)),
        ("2026-Q1", "quarterly", 4, "start", (202604, 202606)),
        ("2027-Q1", "quarterly", 4, "end", (202604, 202606)),
        ("2027-Q4", "quarterly", 4, "end", (202701, 202703)),
        ("2027-03", "monthly", 1, "start", (202703, 202703)),
        ("2026-12", "monthly", 4, "start", (202703, 202703)),
    ],
)
def test_FC_1_a_period_covers_the_months_of_its_fiscal_year(
    text: str, kind: str, start: int, naming: str, months: tuple[int, int]
) -> None:
    period = Period.parse(text, kind, start, naming)
    assert period.months() == months
    assert period.key == text


def test_the_period_containing_a_day_follows_the_fiscal_calendar() -> None:
    assert Period.containing(date(2027, 2, 10), "quarterly", 4, "start").key == "2026-Q4"
    assert Period.containing(date(2027, 2, 10), "quarterly", 4, "end").key == "2027-Q4"
    assert Period.containing(date(2026, 11, 28), "quarterly").key == "2026-Q4"
    assert Period.containing(date(2026, 11, 28), "monthly").key == "2026-11"
    q4 = Period.parse("2026-Q4", "quarterly")
    assert [p.key for p in q4.year_periods()] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert q4.next().key == "2027-Q1"
    assert q4.label() == "FY2026 Q4 (Oct 2026 – Dec 2026)"


@pytest.mark.parametrize("text", ["2027-Q5", "2027-13", "27-Q1", "2027Q1", ""])
def test_a_malformed_period_is_refused(text: str) -> None:
    kind = "monthly" if text.count("-") == 1 and "Q" not in text else "quarterly"
    with pytest.raises(PeriodError):
        Period.parse(text, kind)


# --- FC-5: who sets targets ---------------------------------------------------------------
MANAGERS = {EUROPE: EVE, FRANCE: ALICE}


def administrator_of(node: int) -> int | None:
    """TER-6: the manager, else the nearest ancestor's."""
    current: int | None = node
    while current is not None:
        if current in MANAGERS:
            return MANAGERS[current]
        current = TERRITORIES.parent[current]
    return None


def check(actor: int, node: int, user: int | None, current: Target | None = None) -> None:
    may_set_target(
        TERRITORIES,
        actor=actor,
        admin=False,
        node=node,
        user=user,
        current=current,
        administrator_of=administrator_of,
        role_of=lambda _: None,
    )


def test_FC_5_a_territory_manager_sets_targets_below_and_of_members_but_not_above() -> None:
    check(EVE, FRANCE, None)  # a sub-territory of Europe
    check(EVE, GERMANY, None)  # Germany has no manager: Eve administers it (TER-6)
    check(EVE, GERMANY, CARL)
    check(ALICE, FRANCE, BOB)
    with pytest.raises(TargetRefused):
        check(EVE, EUROPE, None)  # her own territory's target is set from above
    with pytest.raises(TargetRefused):
        check(ALICE, GERMANY, CARL)
    with pytest.raises(TargetRefused):
        check(BOB, FRANCE, BOB)  # users never set their own target


def test_FC_5_a_manager_sets_their_own_target_until_a_superior_has_set_it() -> None:
    check(ALICE, FRANCE, ALICE)
    check(ALICE, FRANCE, ALICE, Target(FRANCE, ALICE, 10, set_by=ALICE))
    with pytest.raises(TargetRefused, match="your manager set this target"):
        check(ALICE, FRANCE, ALICE, Target(FRANCE, ALICE, 10, set_by=EVE))


def test_FC_5_admins_set_any_target_and_role_managers_set_those_below_them() -> None:
    may_set_target(
        TERRITORIES,
        actor=BOB,
        admin=True,
        node=WORLD,
        user=None,
        current=None,
        administrator_of=administrator_of,
        role_of=lambda _: None,
    )
    roles = {CEO: CEO_ROLE, MANAGER: MANAGER_ROLE, REP1: REP_ROLE}

    def role_check(actor: int, node: int, user: int | None) -> None:
        may_set_target(
            ROLES,
            actor=actor,
            admin=False,
            node=node,
            user=user,
            current=None,
            administrator_of=lambda _: None,
            role_of=roles.get,
        )

    role_check(MANAGER, REP_ROLE, None)
    role_check(MANAGER, REP_ROLE, REP1)
    role_check(CEO, MANAGER_ROLE, MANAGER)
    with pytest.raises(TargetRefused):
        role_check(MANAGER, MANAGER_ROLE, None)
    with pytest.raises(TargetRefused):
        role_check(MANAGER, MANAGER_ROLE, MANAGER)
    with pytest.raises(TargetRefused):
        role_check(REP1, REP_ROLE, REP1)


def _coarse(cells: list[Cell]) -> list[Cell]:
    """The cells summed by territory and stage, owners dropped (what summaries read)."""
    sums: dict[tuple[int, str], list[int]] = {}
    for c in cells:
        total = sums.setdefault((c.territory_id, c.stage), [0, 0, 0, 0])
        for i, value in enumerate((c.deals, c.amount_cents, c.weighted_cents, c.probability_sum)):
            total[i] += value
    return [Cell(t, 0, s, *v) for (t, s), v in sums.items()]


@pytest.mark.parametrize("node", [WORLD, EUROPE, FRANCE, GERMANY])
def test_summaries_from_cells_without_owners_plus_members_cells_equal_the_full_read(
    node: int,
) -> None:
    full = summarise(TERRITORIES, CELLS, SETTINGS, TARGETS, node)
    members = {t.user_id for t in TARGETS if t.node_id == node and t.user_id is not None}
    coarse = summarise(
        TERRITORIES,
        _coarse(CELLS),
        SETTINGS,
        TARGETS,
        node,
        member_cells=[c for c in CELLS if c.owner_id in members],
    )
    assert coarse == full
