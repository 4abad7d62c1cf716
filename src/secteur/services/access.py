"""Who may see and change which records — always as a condition inside the query (TER-28)."""

from __future__ import annotations

import sqlalchemy as sa

from secteur.adapters.db.records_schema import RecordTable
from secteur.domain.actor import Actor
from secteur.domain.directory import Operation
from secteur.domain.fields import Module
from secteur.domain.scopes import Access, Category
from secteur.services.app import Tx, VisibilityRule
from secteur.services.errors import NoPermission, ServiceError

_SCOPE_ACCESS = {
    Operation.VIEW: Access.READ,
    Operation.CREATE: Access.CREATE,
    Operation.EDIT: Access.UPDATE,
    Operation.DELETE: Access.DELETE,
}


def scope_mismatch() -> ServiceError:
    return ServiceError(
        "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", status=401
    )


def require_module(actor: Actor, module: Module, operation: Operation) -> None:
    """The token's scopes, then the profile, must allow `operation` on the module."""
    if not actor.scope_allows(Category.MODULES, module.api_name, _SCOPE_ACCESS[operation]):
        raise scope_mismatch()
    if not actor.may(module.api_name, operation):
        raise NoPermission(
            f"permission denied to {operation.value} {module.api_name}",
            {"permissions": [f"Crm_Implied_{operation.value.title()}_{module.api_name}"]},
        )


def visible(tx: Tx, actor: Actor, rt: RecordTable) -> sa.ColumnElement[bool] | None:
    """The condition a record must meet for `actor` to see it; None when they see all."""
    return _widened(tx, actor, rt, tx.app.visibility_rules)


def editable(tx: Tx, actor: Actor, rt: RecordTable) -> sa.ColumnElement[bool] | None:
    """Records `actor` may change: by the role hierarchy, and through territories that grant
    edit access (TER-29) — a read-only territory widens what they see, not what they change."""
    return _widened(tx, actor, rt, tx.app.edit_rules)


def _widened(
    tx: Tx, actor: Actor, rt: RecordTable, rules: list[VisibilityRule]
) -> sa.ColumnElement[bool] | None:
    owners = tx.state.directory.visible_owners(actor.user)
    if owners is None:
        return None
    clause: sa.ColumnElement[bool] = rt.table.c.owner_id.in_(sorted(owners))
    for rule in rules:
        extra = rule(tx, actor.id, rt)
        if extra is not None:
            clause = sa.or_(clause, extra)
    return clause
