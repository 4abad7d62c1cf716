"""Territories on records: automatic assignment on save, cascade, manual assignment,
explanations, and the visibility territories give (TER-10 … TER-23, TER-27 … TER-30)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from secteur.adapters.db import audit_repo, records_repo, tables, territory_repo, territory_snapshot
from secteur.adapters.db.records_schema import RecordTable
from secteur.adapters.db.territory_repo import Assigned
from secteur.domain.actor import Actor
from secteur.domain.audit import AuditEvent
from secteur.domain.criteria import EvalContext
from secteur.domain.fields import Module
from secteur.domain.records import Problem, StoredRecord
from secteur.domain.territories import (
    CompiledRules,
    Permission,
    Tree,
    assign_contact,
    assign_deal,
    explain_assignment,
)
from secteur.domain.territories.model import COVERED_MODULES
from secteur.services.app import Secteur, TerritoryConfig, Tx
from secteur.services.pipeline import Change, Outcome, Stage

ACCOUNTS, CONTACTS, DEALS, LEADS = "Accounts", "Contacts", "Deals", "Leads"
# Save-time handoff from the assignment step to the cascade step of the same transaction.
CHANGED_ACCOUNTS = "territories.changed_accounts"
CHANGED_CONTACTS = "territories.changed_contacts"


def install(app: Secteur) -> None:
    app.pipeline.add(AssignOnSave())
    app.pipeline.add(Cascade())
    app.visibility_rules.append(
        lambda tx, user_id, rt: _through_territories(tx, user_id, rt, False)
    )
    app.edit_rules.append(lambda tx, user_id, rt: _through_territories(tx, user_id, rt, True))


def config(tx: Tx) -> TerritoryConfig:
    return tx.state.territory


def active_tree(tx: Tx) -> Tree | None:
    cfg = config(tx)
    return cfg.tree if cfg.active else None


def eval_context(tx: Tx) -> EvalContext:
    return EvalContext(tx.now, None, tx.state.org.time_zone)


def compiled(tx: Tx, module: Module) -> CompiledRules:
    return config(tx).rules(module, eval_context(tx), tx.app.territory_plans)


# --- who reaches which territories (TER-20, TER-28, TER-29) ---


def reach(tx: Tx, user_id: int, *, editing: bool) -> frozenset[int]:
    """Territories whose records `user_id` sees (or may edit): those they belong to or manage,
    and every territory below those."""
    tree = active_tree(tx)
    if tree is None:
        return frozenset()
    key = f"territories.reach.{user_id}.{editing}"
    cached = tx.scratch.get(key)
    if cached is None:
        memberships = [
            tid
            for tid in territory_repo.territories_of(tx.conn, user_id)
            if tid in tree
            and (not editing or tree.by_id[tid].permission is Permission.READ_WRITE_DELETE)
        ]
        managed = [t.id for t in tree.by_id.values() if t.manager_id == user_id]
        cached = tree.subtrees([*memberships, *managed])
        tx.scratch[key] = cached
    return frozenset(cached)


def _through_territories(
    tx: Tx, user_id: int, rt: RecordTable, editing: bool
) -> sa.ColumnElement[bool] | None:
    if rt.module.api_name not in COVERED_MODULES:
        return None
    tree = active_tree(tx)
    if tree is None:
        return None
    territories = reach(tx, user_id, editing=editing)
    if not territories:
        return None
    rtt = tables.record_territories
    if tree.root_id in territories:  # the whole tree: any record with a territory
        ids = sa.select(rtt.c.record_id).where(rtt.c.module == rt.module.api_name)
    else:
        ids = territory_repo.record_ids_in(territories, rt.module.api_name)
    return rt.table.c.id.in_(ids)


def in_territory(
    tx: Tx, module: Module, territory_id: int, include_child: bool
) -> sa.ColumnElement[bool]:
    """TER-30: the records of `territory_id` (and of its sub-territories) as a list condition."""
    tree = active_tree(tx)
    if tree is None or territory_id not in tree:
        ids: set[int] = set()
    else:
        ids = set(tree.subtree(territory_id)) if include_child else {territory_id}
    rt = tx.state.table(module)
    return rt.table.c.id.in_(territory_repo.record_ids_in(ids, module.api_name))


# --- automatic assignment ---


def reassign(
    tx: Tx, module: Module, records: Sequence[StoredRecord], *, created: bool = False
) -> set[int]:
    """Recompute the automatic territories of `records` and write the difference (TER-16).

    `created`: the records were just inserted, so they hold no territory yet (one query
    less on every create). Returns the ids of records whose territory set changed.
    """
    if not records or module.api_name not in COVERED_MODULES:
        return set()
    cfg = config(tx)
    assert cfg.tree is not None
    ids = [r.id for r in records]
    current = {} if created else territory_repo.assignments(tx.conn, ids)
    wanted = _wanted(tx, module, records, cfg)
    changed: set[int] = set()
    gained: list[tuple[int, int]] = []
    lost: list[tuple[int, int]] = []
    for record in records:
        held = current.get(record.id, [])
        automatic = {a.territory_id for a in held if not a.manual}
        taken = {a.territory_id for a in held}
        now_wanted = wanted[record.id]
        record_gained = [(record.id, tid) for tid in now_wanted if tid not in taken]
        record_lost = [(record.id, tid) for tid in automatic if tid not in set(now_wanted)]
        if record_gained or record_lost:
            changed.add(record.id)
            gained += record_gained
            lost += record_lost
    # One statement each for the whole batch: a 100-record write pays two round trips.
    territory_snapshot.delete_pairs(tx.conn, *_columns(lost))
    territory_snapshot.insert_pairs(tx.conn, module.api_name, *_columns(gained), tx.now)
    return changed


def _columns(pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    array = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return array[:, 0], array[:, 1]


def _wanted(
    tx: Tx, module: Module, records: Sequence[StoredRecord], cfg: TerritoryConfig
) -> dict[int, list[int]]:
    name = module.api_name
    rules = compiled(tx, module)
    cap = cfg.settings.limits.cap(name)
    if name in (ACCOUNTS, LEADS):
        return {r.id: list(rules.assign(r.field_values(), cap).territory_ids) for r in records}
    if name == CONTACTS:
        parents = _territories_of(tx, [r.values.get("Account_Name") for r in records])
        return {
            r.id: list(
                assign_contact(
                    rules, r.field_values(), parents.get(r.values.get("Account_Name"), []), cap
                ).territory_ids
            )
            for r in records
        }
    contacts = _territories_of(tx, [r.values.get("Contact_Name") for r in records])
    accounts = _territories_of(tx, [r.values.get("Account_Name") for r in records])
    out: dict[int, list[int]] = {}
    for r in records:
        candidates = contacts.get(r.values.get("Contact_Name")) or accounts.get(
            r.values.get("Account_Name"), []
        )
        out[r.id] = list(
            assign_deal(
                rules, r.field_values(), candidates, deal_rule=cfg.settings.deal_rule, cap=cap
            ).territory_ids
        )
    return out


def _territories_of(tx: Tx, ids: Iterable[Any]) -> dict[Any, list[int]]:
    """Every territory (automatic and manual) of the given parent records."""
    wanted = [i for i in dict.fromkeys(ids) if isinstance(i, int)]
    found = territory_repo.assignments(tx.conn, wanted)
    return {rid: [a.territory_id for a in rows] for rid, rows in found.items()}


def trigger_fields(tx: Tx, module: Module) -> frozenset[str]:
    """Fields whose change calls for re-evaluation (TER-10)."""
    rules = compiled(tx, module)
    if module.api_name == CONTACTS:
        return rules.fields | {"Account_Name"}
    if module.api_name == DEALS:
        return rules.fields | {"Account_Name", "Contact_Name"}
    return rules.fields


class _AfterWrite:
    """A save step that acts on written records and never refuses a change."""

    def check(
        self,
        tx: Tx,
        actor: Actor,
        module: Module,
        before: StoredRecord | None,
        changes: Mapping[str, Any],
    ) -> Sequence[Problem]:
        return ()


class AssignOnSave(_AfterWrite):
    """Step 3 of the save: territory assignment for the records just written."""

    stage = Stage.TERRITORIES

    def apply(self, tx: Tx, actor: Actor, changes: Sequence[Change], outcome: Outcome) -> None:
        if active_tree(tx) is None:
            return
        by_module: dict[str, list[Change]] = {}
        for change in changes:
            if change.module.api_name in COVERED_MODULES:
                by_module.setdefault(change.module.api_name, []).append(change)
        # Parents first: contacts inherit from accounts, deals from contacts and accounts.
        for name in (ACCOUNTS, LEADS, CONTACTS, DEALS):
            group = by_module.get(name)
            if not group:
                continue
            module = group[0].module
            fields = trigger_fields(tx, module)
            fresh = [c.after for c in group if c.created]
            edited = [c.after for c in group if not c.created and c.changed & fields]
            changed = reassign(tx, module, fresh, created=True) | reassign(tx, module, edited)
            if name == ACCOUNTS:
                tx.scratch.setdefault(CHANGED_ACCOUNTS, set()).update(changed)
            elif name == CONTACTS:
                tx.scratch.setdefault(CHANGED_CONTACTS, set()).update(changed)


class Cascade(_AfterWrite):
    """Step 4: an account whose territories changed re-evaluates its contacts and open deals
    in the same transaction (TER-19), when the org keeps cascade on."""

    stage = Stage.CASCADE

    def apply(self, tx: Tx, actor: Actor, changes: Sequence[Change], outcome: Outcome) -> None:
        accounts = tx.scratch.pop(CHANGED_ACCOUNTS, set())
        contacts = tx.scratch.pop(CHANGED_CONTACTS, set())
        if active_tree(tx) is not None and config(tx).settings.cascade:
            cascade(tx, accounts, contacts)


def cascade(tx: Tx, accounts: set[int], contacts: set[int] | None = None) -> None:
    contacts = set(contacts or ())
    if not accounts and not contacts:
        return
    contact_module = tx.state.module(CONTACTS)
    deal_module = tx.state.module(DEALS)
    if contact_module is not None and accounts:
        children = _children(tx, contact_module, "Account_Name", accounts)
        contacts |= reassign(tx, contact_module, children)
    if deal_module is not None:
        deals = _children(tx, deal_module, "Account_Name", accounts) if accounts else []
        if contacts:
            deals += _children(tx, deal_module, "Contact_Name", contacts)
        open_deals = {d.id: d for d in deals if _open(deal_module, d)}
        reassign(tx, deal_module, list(open_deals.values()))


def _children(tx: Tx, module: Module, lookup: str, parents: set[int]) -> list[StoredRecord]:
    f = module.field(lookup)
    if f is None or not parents:
        return []
    rt = tx.state.table(module)
    column = rt.table.c[f.column]
    if len(parents) <= 500:
        query = sa.select(rt.table.c.id).where(column.in_(sorted(parents)))
        ids = [row[0] for row in tx.conn.execute(query)]
    else:  # after a big run: one pass over the linked records beats a huge IN list
        query = sa.select(rt.table.c.id, column).where(column.is_not(None))
        ids = [row[0] for row in tx.conn.execute(query) if row[1] in parents]
    return list(records_repo.fetch(tx.conn, rt, ids).values())


def _open(deals: Module, deal: StoredRecord) -> bool:
    stage = deals.field("Stage")
    value = deal.values.get("Stage")
    if stage is None or value is None:
        return True
    entry = stage.picklist_value(str(value))
    return entry is None or not (entry.forecast_category or "").startswith("closed")


# --- the record's `Territories` field (TER-23) ---


@dataclass(frozen=True, slots=True)
class RecordTerritory:
    territory_id: int
    name: str
    manual: bool
    assigned_by: int | None
    assigned_time: Any


def record_territories(tx: Tx, record_ids: Sequence[int]) -> dict[int, list[RecordTerritory]]:
    """Each record's territories in pre-order, automatic and manual."""
    tree = active_tree(tx)
    if tree is None or not record_ids:
        return {}
    found = territory_repo.assignments(tx.conn, list(record_ids))
    rank = tree.rank
    out: dict[int, list[RecordTerritory]] = {}
    for record_id, rows in found.items():
        ordered = sorted(rows, key=lambda a: rank.get(a.territory_id, len(rank)))
        out[record_id] = [
            RecordTerritory(
                a.territory_id,
                tree.by_id[a.territory_id].name if a.territory_id in tree else "",
                a.manual,
                a.assigned_by,
                a.assigned_time,
            )
            for a in ordered
            if a.territory_id in tree
        ]
    return out


# --- manual assignment (TER-20 … TER-22) ---


class AssignmentRefused(Exception):
    def __init__(self, code: str, message: str, details: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details)


def may_assign(tx: Tx, actor: Actor, territory_id: int) -> bool:
    """Admins assign any territory; a manager their territories and those below (TER-20)."""
    if actor.profile.admin:
        return True
    tree = active_tree(tx)
    return tree is not None and territory_id in tree.managed_by(actor.id)


def assign_manually(
    tx: Tx, actor: Actor, module: Module, record: StoredRecord, territory_ids: Sequence[int]
) -> None:
    tree = active_tree(tx)
    assert tree is not None
    current = territory_repo.assignments(tx.conn, [record.id]).get(record.id, [])
    held = {a.territory_id for a in current}
    for tid in territory_ids:
        if tid not in tree:
            raise AssignmentRefused("INVALID_DATA", "invalid territory id", {"id": str(tid)})
        if not may_assign(tx, actor, tid):
            raise AssignmentRefused(
                "NO_PERMISSION", "permission denied to assign this territory", {"id": str(tid)}
            )
        if tid in held:
            raise AssignmentRefused(
                "DUPLICATE_DATA", "the territory is already assigned", {"id": str(tid)}
            )
    if len(set(territory_ids)) != len(territory_ids):
        raise AssignmentRefused("DUPLICATE_DATA", "a territory is given twice", {})
    cap = config(tx).settings.limits.cap(module.api_name)
    if len(held) + len(territory_ids) > cap:
        raise AssignmentRefused(
            "LIMIT_EXCEEDED", "too many territories for one record", {"limit": cap}
        )
    territory_repo.add_manual(tx.conn, module.api_name, record.id, territory_ids, tx.now, actor.id)
    _audit(tx, actor, module, record.id, current, [*held, *territory_ids])
    _after_manual_change(tx, module, record.id)


def remove_manually(
    tx: Tx, actor: Actor, module: Module, record: StoredRecord, territory_ids: Sequence[int]
) -> None:
    tree = active_tree(tx)
    assert tree is not None
    current = {
        a.territory_id: a
        for a in territory_repo.assignments(tx.conn, [record.id]).get(record.id, [])
    }
    for tid in territory_ids:
        held = current.get(tid)
        if held is None:
            raise AssignmentRefused(
                "INVALID_DATA", "the territory is not assigned to the record", {"id": str(tid)}
            )
        if not held.manual:
            raise AssignmentRefused(
                "INVALID_DATA",
                "Territory id which you are trying to remove was system assigned",
                {"id": str(tid)},
            )
        if not may_assign(tx, actor, tid):
            raise AssignmentRefused(
                "NO_PERMISSION", "permission denied to remove this territory", {"id": str(tid)}
            )
    territory_repo.remove(tx.conn, record.id, territory_ids)
    _audit(
        tx,
        actor,
        module,
        record.id,
        list(current.values()),
        [tid for tid in current if tid not in set(territory_ids)],
    )
    _after_manual_change(tx, module, record.id)


def _after_manual_change(tx: Tx, module: Module, record_id: int) -> None:
    if module.api_name in (ACCOUNTS, CONTACTS) and config(tx).settings.cascade:
        if module.api_name == ACCOUNTS:
            cascade(tx, {record_id})
        else:
            cascade(tx, set(), {record_id})


def _audit(
    tx: Tx,
    actor: Actor,
    module: Module,
    record_id: int,
    before: Sequence[Assigned],
    after: Sequence[int],
) -> None:
    audit_repo.append(
        tx.conn,
        [
            AuditEvent(
                tx.now,
                actor.id,
                "record",
                record_id,
                "territories",
                actor.source,
                module.api_name,
                {"Territories": sorted(str(a.territory_id) for a in before)},
                {"Territories": sorted(str(tid) for tid in after)},
            )
        ],
    )


# --- explanation (TER-27) ---


def explain_record(tx: Tx, module: Module, record: StoredRecord) -> dict[str, Any]:
    tree = active_tree(tx)
    assert tree is not None
    cfg = config(tx)
    ctx = eval_context(tx)
    cap = cfg.settings.limits.cap(module.api_name)
    values = record.field_values()
    held = territory_repo.assignments(tx.conn, [record.id]).get(record.id, [])
    name = module.api_name
    trace: list[dict[str, Any]]
    notes: list[str] = []
    if name in (ACCOUNTS, LEADS):
        entries, _, _ = explain_assignment(tree, module, values, ctx, cap)
        trace = [e.to_json() for e in entries]
    elif name == CONTACTS:
        account = values.get("Account_Name")
        inherited = tree.in_preorder(_territories_of(tx, [account]).get(account, []))
        notes.append(
            "Contacts inherit their account's territories"
            + ("" if account else "; this contact has no account")
        )
        rules = compiled(tx, module)
        inheriting = assign_contact(rules, values, inherited, cap)
        trace = []
        for tid in inherited:
            entries, _, _ = explain_assignment(tree, module, values, ctx, 1, start=[tid])
            head = entries[0].to_json()
            head["children"] = None
            head["skipped"] = "cap" if tid in inheriting.dropped else None
            head["assigned"] = tid in inheriting.territory_ids
            trace.append(head)
    else:
        contact, account = values.get("Contact_Name"), values.get("Account_Name")
        from_contact = _territories_of(tx, [contact]).get(contact, [])
        candidates = tree.in_preorder(
            from_contact or _territories_of(tx, [account]).get(account, [])
        )
        notes.append(
            "Deal candidates come from its contact"
            if from_contact
            else "Deal candidates come from its account"
        )
        trace = []
        if cfg.settings.deal_rule:
            for tid in candidates:
                entries, kept, _ = explain_assignment(tree, module, values, ctx, cap, start=[tid])
                trace.extend(e.to_json() for e in entries)
                if kept:
                    break
        else:
            notes.append("The deal rule is off: the first candidate in tree order is assigned")
            trace = [
                {
                    "territory": {"id": str(tid), "name": tree.by_id[tid].name},
                    "rule": None,
                    "matched": None,
                    "conditions": [],
                    "skipped": None if i < cap else "cap",
                    "assigned": i < cap,
                }
                for i, tid in enumerate(candidates)
            ]
    return {
        "assigned": [_ref(tree, a) for a in _ordered(tree, held) if not a.manual],
        "manual": [_ref(tree, a) for a in _ordered(tree, held) if a.manual],
        "notes": notes,
        "trace": trace,
    }


def _ordered(tree: Tree, held: Sequence[Assigned]) -> list[Assigned]:
    rank = tree.rank
    return sorted((a for a in held if a.territory_id in tree), key=lambda a: rank[a.territory_id])


def _ref(tree: Tree, a: Assigned) -> dict[str, Any]:
    return {"id": str(a.territory_id), "name": tree.by_id[a.territory_id].name}


def after_territory_deleted(
    tx: Tx, actor: Actor, rows: Sequence[tuple[int, str, bool]], transfer_to: int | None
) -> None:
    """TER-7: the deleted territory's records move to `transfer_to`, or are re-evaluated."""
    if not rows:
        return
    if transfer_to is not None:
        territory_repo.transfer_assignments(tx.conn, rows, transfer_to, tx.now, actor.id)
    by_module: dict[str, list[int]] = {}
    for record_id, module_name, _ in rows:
        by_module.setdefault(module_name, []).append(record_id)
    changed_accounts: set[int] = set()
    for name in (ACCOUNTS, LEADS, CONTACTS, DEALS):
        module = tx.state.module(name)
        if module is None or name not in by_module:
            continue
        if transfer_to is None:
            rt = tx.state.table(module)
            records = list(records_repo.fetch(tx.conn, rt, by_module[name]).values())
            changed = reassign(tx, module, records)
        else:
            changed = set(by_module[name])
        if name == ACCOUNTS:
            changed_accounts |= changed
    if config(tx).settings.cascade:
        cascade(tx, changed_accounts)
