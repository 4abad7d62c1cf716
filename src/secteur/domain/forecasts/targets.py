"""FC-5: who may set which target.

Administrators set any target. In territory forecasts, the administrator of a territory (its
manager, else the nearest ancestor's, TER-6) sets the targets of the territories below it, of
their members and of its own members — and their own target in it, until a superior sets it.
In role forecasts, a user sets the targets of the roles below theirs and of the users in them.
Nobody else sets a target, and no one sets their own target otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

from secteur.domain.forecasts.model import HierarchyKind, Target
from secteur.domain.forecasts.rollup import Hierarchy


class TargetRefused(Exception):
    """Why a target may not be set, in words for the person who tried."""


def may_set_target(
    hierarchy: Hierarchy,
    *,
    actor: int,
    admin: bool,
    node: int,
    user: int | None,
    current: Target | None,
    administrator_of: Callable[[int], int | None],
    role_of: Callable[[int], int | None],
) -> None:
    """Raise `TargetRefused` unless `actor` may set this target (node's, or `user`'s in node)."""
    if admin:
        return
    if hierarchy.kind is HierarchyKind.TERRITORY:
        _territory(hierarchy, actor, node, user, current, administrator_of)
    else:
        _role(hierarchy, actor, node, user, role_of)


def _administers(
    hierarchy: Hierarchy, actor: int, node: int, administrator_of: Callable[[int], int | None]
) -> bool:
    return administrator_of(node) == actor


def _territory(
    hierarchy: Hierarchy,
    actor: int,
    node: int,
    user: int | None,
    current: Target | None,
    administrator_of: Callable[[int], int | None],
) -> None:
    if user is None:
        parent = hierarchy.parent.get(node)
        # A territory's own target is set from above: by whoever administers its parent.
        if parent is None or administrator_of(parent) != actor:
            raise TargetRefused("only the manager of the territory above sets this target")
        return
    if user == actor:
        if administrator_of(node) != actor:
            raise TargetRefused("you cannot set your own target")
        if current is not None and current.set_by not in (None, actor):
            raise TargetRefused("your manager set this target; only they can change it")
        return
    if administrator_of(node) != actor:
        raise TargetRefused("only the territory's manager sets its members' targets")


def _role(
    hierarchy: Hierarchy,
    actor: int,
    node: int,
    user: int | None,
    role_of: Callable[[int], int | None],
) -> None:
    if user == actor:
        raise TargetRefused("you cannot set your own target")
    mine = role_of(actor)
    if mine is None or node == mine or node not in hierarchy.subtree(mine):
        raise TargetRefused("targets are set by a role above")
