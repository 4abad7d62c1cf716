"""The role hierarchy and record visibility without territories (core.md, "Users, roles…")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secteur.domain.directory import (
    Directory,
    ModuleAccess,
    Operation,
    Profile,
    Role,
    RoleCycle,
    RoleTree,
    User,
    UserStatus,
)

# CEO ─┬─ Sales VP ─┬─ EMEA Manager ── EMEA Rep
#      │            └─ US Manager
#      └─ CFO
CEO, VP, EMEA, EMEA_REP, US, CFO = 1, 2, 3, 4, 5, 6
ADMIN_PROFILE, STANDARD_PROFILE = 10, 11


def roles(*, emea_shares: bool = False) -> RoleTree:
    return RoleTree.of(
        [
            Role(CEO, "CEO", None),
            Role(VP, "Sales VP", CEO),
            Role(EMEA, "EMEA Manager", VP, share_with_peers=emea_shares),
            Role(EMEA_REP, "EMEA Rep", EMEA),
            Role(US, "US Manager", VP),
            Role(CFO, "CFO", CEO),
        ]
    )


def user(
    user_id: int, role: int, profile: int = STANDARD_PROFILE, status: UserStatus = UserStatus.ACTIVE
) -> User:
    return User(user_id, None, f"User {user_id}", f"u{user_id}@acme.test", status, role, profile)


PROFILES = {
    ADMIN_PROFILE: Profile(
        ADMIN_PROFILE,
        "Administrator",
        custom=False,
        admin=True,
        modules={},
        permissions=frozenset(),
    ),
    STANDARD_PROFILE: Profile(
        STANDARD_PROFILE,
        "Standard",
        custom=False,
        admin=False,
        modules={"Accounts": ModuleAccess()},
        permissions=frozenset({"import"}),
    ),
}

# One user per role, two in EMEA Manager (peers), an administrator sitting low in the tree.
BOSS, VICE, EMEA_A, EMEA_B, REP, US_MGR, FINANCE, LOW_ADMIN = 101, 102, 103, 104, 105, 106, 107, 108


def directory(*, emea_shares: bool = False) -> Directory:
    people = [
        user(BOSS, CEO),
        user(VICE, VP),
        user(EMEA_A, EMEA),
        user(EMEA_B, EMEA),
        user(REP, EMEA_REP),
        user(US_MGR, US),
        user(FINANCE, CFO),
        user(LOW_ADMIN, EMEA_REP, ADMIN_PROFILE),
    ]
    return Directory({u.id: u for u in people}, roles(emea_shares=emea_shares), PROFILES)


# --- RoleTree -----------------------------------------------------------------------------


def test_the_root_is_the_role_that_reports_to_nobody() -> None:
    root = roles().root
    assert root is not None and root.id == CEO


def test_an_empty_tree_has_no_root() -> None:
    assert RoleTree.of([]).root is None


def test_children_are_indexed_by_parent_in_id_order() -> None:
    tree = roles()
    assert tree.children[CEO] == (VP, CFO)
    assert tree.children[VP] == (EMEA, US)
    assert EMEA_REP not in tree.children


def test_descendants_are_every_role_strictly_below() -> None:
    tree = roles()
    assert tree.descendants(CEO) == {VP, EMEA, EMEA_REP, US, CFO}
    assert tree.descendants(VP) == {EMEA, EMEA_REP, US}
    assert tree.descendants(EMEA_REP) == set()


def test_a_role_unknown_to_the_tree_has_no_descendants_nor_ancestors() -> None:
    assert roles().descendants(999) == set()
    assert roles().ancestors(999) == []


def test_ancestors_are_listed_nearest_first_up_to_the_root() -> None:
    tree = roles()
    assert tree.ancestors(EMEA_REP) == [EMEA, VP, CEO]
    assert tree.ancestors(CEO) == []


def test_ancestors_stop_at_a_loop_already_stored() -> None:
    looped = RoleTree.of([Role(1, "A", 2), Role(2, "B", 1)])
    assert looped.ancestors(1) == [2, 1]


def test_a_role_may_move_under_a_role_of_another_branch() -> None:
    roles().check_move(EMEA, CFO)
    roles().check_move(EMEA_REP, US)


def test_a_role_may_move_up_under_an_ancestor() -> None:
    roles().check_move(EMEA_REP, CEO)


@pytest.mark.parametrize(
    ("role", "new_parent"), [(VP, VP), (VP, EMEA), (VP, EMEA_REP), (CEO, CFO), (EMEA, EMEA_REP)]
)
def test_a_role_cannot_move_under_itself_or_one_of_its_descendants(
    role: int, new_parent: int
) -> None:
    with pytest.raises(RoleCycle):
        roles().check_move(role, new_parent)


@st.composite
def trees_and_moves(draw: st.DrawFn) -> tuple[RoleTree, int, int]:
    """A random tree (each role reports to an earlier one) and a random move within it."""
    size = draw(st.integers(min_value=2, max_value=12))
    parents = [draw(st.integers(min_value=1, max_value=i - 1)) for i in range(2, size + 1)]
    tree = RoleTree.of(
        [Role(1, "r1", None)]
        + [Role(i, f"r{i}", p) for i, p in zip(range(2, size + 1), parents, strict=True)]
    )
    role = draw(st.integers(min_value=2, max_value=size))
    return tree, role, draw(st.integers(min_value=1, max_value=size))


@given(trees_and_moves())
def test_a_move_that_check_move_allows_never_makes_a_loop(case: tuple[RoleTree, int, int]) -> None:
    tree, role, new_parent = case
    try:
        tree.check_move(role, new_parent)
    except RoleCycle:
        assert new_parent == role or role in tree.ancestors(new_parent)
        return
    moved = RoleTree.of(
        [
            Role(r.id, r.name, new_parent if r.id == role else r.reporting_to)
            for r in tree.roles.values()
        ]
    )
    for r in moved.roles:
        assert moved.ancestors(r)[-1:] in ([], [1])
        assert r not in moved.ancestors(r)


# --- visibility ---------------------------------------------------------------------------


def visible(d: Directory, user_id: int) -> frozenset[int] | None:
    return d.visible_owners(d.users[user_id])


def test_administrators_see_every_owner() -> None:
    assert visible(directory(), LOW_ADMIN) is None


def test_a_user_at_the_bottom_sees_only_their_own_records() -> None:
    assert visible(directory(), REP) == frozenset({REP})


def test_a_manager_sees_their_own_and_their_subordinates_records() -> None:
    assert visible(directory(), EMEA_A) == frozenset({EMEA_A, REP, LOW_ADMIN})


def test_the_top_role_sees_everyone_below_it() -> None:
    everyone_else = {BOSS, VICE, EMEA_A, EMEA_B, REP, US_MGR, FINANCE, LOW_ADMIN}
    assert visible(directory(), BOSS) == frozenset(everyone_else)


def test_subordinates_never_see_their_superiors_records() -> None:
    seen = visible(directory(), REP)
    assert seen is not None and not seen & {EMEA_A, EMEA_B, VICE, BOSS}


def test_peers_do_not_see_each_other_when_their_role_does_not_share() -> None:
    seen = visible(directory(), EMEA_A)
    assert seen is not None and EMEA_B not in seen


def test_peers_see_each_other_when_their_role_shares_with_peers() -> None:
    seen = visible(directory(emea_shares=True), EMEA_A)
    assert seen == frozenset({EMEA_A, EMEA_B, REP, LOW_ADMIN})


def test_sharing_with_peers_does_not_reach_other_branches_at_the_same_depth() -> None:
    seen = visible(directory(emea_shares=True), EMEA_A)
    assert seen is not None and US_MGR not in seen


def test_a_manager_keeps_seeing_records_of_a_deactivated_subordinate() -> None:
    d = directory()
    people = dict(d.users)
    people[REP] = user(REP, EMEA_REP, status=UserStatus.INACTIVE)
    seen = Directory(people, d.roles, d.profiles).visible_owners(people[EMEA_A])
    assert seen is not None and REP in seen


def test_a_profile_gives_its_module_access_and_nothing_outside_it() -> None:
    standard = PROFILES[STANDARD_PROFILE]
    assert standard.module_access("Accounts").allows(Operation.DELETE)
    assert not standard.module_access("Deals").allows(Operation.VIEW)
    assert standard.may("import") and not standard.may("manage_users")


def test_the_administrator_profile_may_everything() -> None:
    admin = PROFILES[ADMIN_PROFILE]
    assert admin.module_access("Deals").allows(Operation.DELETE)
    assert admin.may("manage_users")


def test_a_user_full_name_joins_first_and_last_names() -> None:
    assert User(1, "Ada", "Lovelace", "a@x.test", UserStatus.ACTIVE, 1, 1).full_name == (
        "Ada Lovelace"
    )
    assert User(1, None, "Lovelace", "a@x.test", UserStatus.ACTIVE, 1, 1).full_name == "Lovelace"
