"""Run rules and preview (TER-24 … TER-26): re-evaluate a module's records in bulk, as a job.

The job reads a snapshot of only the fields the rules read, evaluates the whole tree
column-wise (`domain.territories.bulk`), diffs the result with the stored automatic
assignments and writes only the difference, in one transaction that also completes the job:
a crash before that commit leaves everything as it was, and the job is run again by the next
worker (TER-25). Records saved while the job computed are re-evaluated one by one inside that
transaction, so they end with the assignment their final values call for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from secteur.adapters.db import records_repo, territory_repo, territory_snapshot
from secteur.adapters.db.criteria_sql import compile_sql
from secteur.domain.actor import Actor
from secteur.domain.criteria import CriteriaError, parse_criteria, to_json, validate_criteria
from secteur.domain.fields import Module
from secteur.domain.territories.bulk import assign_columns
from secteur.domain.territories.model import RUNNABLE_MODULES
from secteur.services import jobs
from secteur.services import territory_assignment as assignment
from secteur.services.app import Secteur, Tx
from secteur.services.errors import ServiceError
from secteur.services.territories import require_enabled, require_manager

RUN_RULES = "territories.run_rules"
PREVIEW = "territories.preview_rules"
# Record ids listed per territory and direction in a preview (counts are always complete).
PREVIEW_IDS = 10_000


def install(app: Secteur) -> None:
    app.job_handlers[RUN_RULES] = lambda a, job_id, payload: execute(a, job_id, payload, False)
    app.job_handlers[PREVIEW] = lambda a, job_id, payload: execute(a, job_id, payload, True)


@dataclass(frozen=True, slots=True)
class RunRequest:
    module: str
    based_on: str | None = None  # None: every record
    criteria: Mapping[str, Any] | None = None
    territories: tuple[int, ...] = ()
    include_child: bool = False
    record_ids: bool = False  # a preview lists ids too

    def payload(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "based_on": self.based_on,
            "criteria": self.criteria,
            "territories": [str(i) for i in self.territories],
            "include_child": self.include_child,
            "record_ids": self.record_ids,
        }

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> RunRequest:
        return cls(
            module=payload["module"],
            based_on=payload.get("based_on"),
            criteria=payload.get("criteria"),
            territories=tuple(int(i) for i in payload.get("territories") or ()),
            include_child=bool(payload.get("include_child")),
            record_ids=bool(payload.get("record_ids")),
        )


def _bad(message: str, **details: Any) -> ServiceError:
    return ServiceError("INVALID_DATA", message, details)


def parse_request(tx: Tx, body: Any, key: str) -> RunRequest:
    """The `run_rules` (or `preview_rules`) object of a request body, checked."""
    tree = require_enabled(tx)
    if not isinstance(body, Mapping) or not isinstance(body.get(key), Mapping):
        raise ServiceError(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            {"api_name": key, "json_path": f"$.{key}"},
        )
    spec = body[key]
    module_ref = spec.get("module")
    name = module_ref.get("api_name") if isinstance(module_ref, Mapping) else None
    if not isinstance(name, str):
        raise ServiceError(
            "MANDATORY_NOT_FOUND",
            "required field not found",
            {"api_name": "module", "json_path": f"$.{key}.module"},
        )
    module = tx.state.module(name)
    if module is None or module.api_name not in RUNNABLE_MODULES:
        raise _bad(
            "rules run for Leads, Accounts and Deals (Contacts follow their accounts)",
            api_name="module",
            json_path=f"$.{key}.module",
            supported_values=list(RUNNABLE_MODULES),
        )
    based_on = spec.get("based_on")
    if based_on not in (None, "criteria", "territories"):
        raise _bad(
            "invalid based_on",
            api_name="based_on",
            json_path=f"$.{key}.based_on",
            supported_values=["criteria", "territories"],
        )
    criteria = None
    territories: tuple[int, ...] = ()
    if based_on == "criteria":
        try:
            criteria = to_json(validate_criteria(parse_criteria(spec.get("criteria")), module))
        except CriteriaError as exc:
            problem = exc.first
            details = dict(problem.details)
            inner = str(details.pop("json_path", "$"))
            raise ServiceError(
                problem.code,
                problem.message,
                {**details, "json_path": f"$.{key}.criteria" + inner.removeprefix("$")},
            ) from None
    if based_on == "territories":
        raw = spec.get("territories")
        if not isinstance(raw, list) or not raw:
            raise ServiceError(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "territories", "json_path": f"$.{key}.territories"},
            )
        ids = []
        for i, item in enumerate(raw):
            value = item.get("id") if isinstance(item, Mapping) else None
            if not str(value or "").isdigit() or int(str(value)) not in tree:
                raise _bad(
                    "invalid territory id",
                    api_name="territories",
                    json_path=f"$.{key}.territories[{i}].id",
                )
            ids.append(int(str(value)))
        territories = tuple(dict.fromkeys(ids))
    include_child = spec.get("include_child", False)
    if not isinstance(include_child, bool):
        raise _bad(
            "invalid include_child",
            api_name="include_child",
            json_path=f"$.{key}.include_child",
            expected_data_type="boolean",
        )
    record_ids = spec.get("record_ids", False)
    return RunRequest(
        module.api_name, based_on, criteria, territories, include_child, record_ids is True
    )


class AlreadyScheduled(ServiceError):
    def __init__(self, job_id: int) -> None:
        super().__init__(
            "ALREADY_SCHEDULED",
            "Territory rules are already scheduled.",
            {"job_id": str(job_id)},
        )


def schedule(tx: Tx, actor: Actor, body: Any, *, preview: bool) -> int:
    """TER-24: one run (and one preview) per org at a time."""
    require_manager(actor)
    kind = PREVIEW if preview else RUN_RULES
    # A preview takes the body of a run (`run_rules`); `preview_rules` is accepted too.
    key = (
        "preview_rules"
        if preview and isinstance(body, Mapping) and "preview_rules" in body
        else "run_rules"
    )
    request = parse_request(tx, body, key)
    territory_repo.lock_tree(tx.conn)  # two concurrent requests must not both schedule
    running = jobs.pending(tx, [kind])
    if running is not None:
        raise AlreadyScheduled(running.id)
    return jobs.enqueue(tx, kind, request.payload(), actor.id)


def status(tx: Tx, job_id: int) -> jobs.Job:
    job = jobs.get(tx, job_id)
    if job is None or job.kind not in (RUN_RULES, PREVIEW):
        raise ServiceError(
            "INVALID_DATA", "the job_id given seems to be invalid", {"param_name": "job_id"}
        )
    return job


# --- the job ---


@dataclass
class _Plan:
    """What one run computed: record ids in scope and the pairs to add and remove."""

    ids: np.ndarray  # every record of the module at the snapshot, ascending
    scope: np.ndarray  # bool per id: the run may change this record
    gained: tuple[np.ndarray, np.ndarray]  # (record ids, territory ids)
    lost: tuple[np.ndarray, np.ndarray]


def execute(app: Secteur, job_id: int, payload: Mapping[str, Any], dry_run: bool) -> None:
    request = RunRequest.of(payload)
    with app.read() as tx:
        started = tx.now
        claimed = jobs.get(tx, job_id)
        attempt = claimed.attempts if claimed is not None else 0
        module = tx.state.module(request.module)
        tree = assignment.active_tree(tx)
        if module is None or tree is None:
            raise RuntimeError("territory management was turned off before the job ran")
        if module.api_name == "Deals":
            plan = None
            total = _count(tx, module)
        else:
            plan = _plan(app, tx, job_id, module, request)
            total = len(plan.ids)
    with app.write() as tx:
        jobs.hold(tx, job_id, attempt)
        if plan is None:
            result = _run_deals(tx, module, request, dry_run)
        else:
            result = _apply(tx, module, request, plan, started, dry_run)
        jobs.complete(tx, job_id, result, total)


def _count(tx: Tx, module: Module) -> int:
    rt = tx.state.table(module)
    return int(tx.conn.execute(sa.select(sa.func.count()).select_from(rt.table)).scalar_one())


def _plan(app: Secteur, tx: Tx, job_id: int, module: Module, request: RunRequest) -> _Plan:
    tree = assignment.active_tree(tx)
    assert tree is not None
    rules = assignment.compiled(tx, module)
    cap = tx.state.territory.settings.limits.cap(module.api_name)
    rt = tx.state.table(module)
    fields = [f for name in sorted(rules.fields) if (f := module.field(name)) is not None]
    ids, columns = app.territory_columns.current(tx.conn, rt, fields, tx.now)
    total = len(ids)
    jobs.report_progress(app, job_id, 0, total)
    result = assign_columns(rules, columns, cap)
    new_row = result.rows.astype(np.int64)
    new_tid = result.territory_ids.astype(np.int64)
    jobs.report_progress(app, job_id, total, total)

    # Pairs as one int64 each: row index × number of territories + the territory's slot.
    territories = np.array(sorted(tree.by_id), dtype=np.int64)
    slots = max(len(territories), 1)
    old = territory_snapshot.read_assignments(tx.conn, module.api_name)
    old_row = _positions(ids, old.record_ids)
    old_slot = _positions(territories, old.territory_ids)
    known = (old_row >= 0) & (old_slot >= 0)
    old_key = old_row[known] * slots + old_slot[known]
    old_manual = old.manual[known]
    new_key = new_row * slots + _positions(territories, new_tid)
    # Keys are unique on both sides (one row per record and territory): `isin` on unique
    # keys sorts once, where `setdiff1d` would first deduplicate both sides again.
    gained = new_key[~np.isin(new_key, old_key, assume_unique=True)]
    automatic = old_key[~old_manual]
    lost = automatic[~np.isin(automatic, new_key, assume_unique=True)]
    scope = _scope(
        tx,
        module,
        request,
        tree,
        ids,
        (new_row, new_tid),
        (old_row[known], old.territory_ids[known]),
    )
    gained = gained[scope[gained // slots]]
    lost = lost[scope[lost // slots]]
    return _Plan(
        ids=ids,
        scope=scope,
        gained=(ids[gained // slots], territories[gained % slots]),
        lost=(ids[lost // slots], territories[lost % slots]),
    )


def _positions(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's index in `sorted_values`, or -1 where it is absent."""
    if not len(sorted_values):
        return np.full(len(values), -1, dtype=np.int64)
    at = np.searchsorted(sorted_values, values)
    inside = at < len(sorted_values)
    at = np.where(inside, at, 0)
    found = inside & (sorted_values[at] == values)
    return np.where(found, at, -1).astype(np.int64)


def _scope(
    tx: Tx,
    module: Module,
    request: RunRequest,
    tree: Any,
    ids: np.ndarray,
    new: tuple[np.ndarray, np.ndarray],
    old: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Which records this run may change (TER-24 `based_on`)."""
    if request.based_on == "criteria" and request.criteria is not None:
        rt = tx.state.table(module)
        condition = compile_sql(parse_criteria(request.criteria), rt, assignment.eval_context(tx))
        matched = np.array(
            [r[0] for r in tx.conn.execute(sa.select(rt.table.c.id).where(condition))],
            dtype=np.int64,
        )
        return np.isin(ids, matched)
    if request.based_on == "territories":
        chosen = (
            tree.subtrees(request.territories)
            if request.include_child
            else set(request.territories)
        )
        wanted = np.array(sorted(chosen), dtype=np.int64)
        scope = np.zeros(len(ids), dtype=bool)
        for rows, territory_ids in (new, old):
            scope[rows[np.isin(territory_ids, wanted)]] = True
        return scope
    return np.ones(len(ids), dtype=bool)


def _apply(
    tx: Tx, module: Module, request: RunRequest, plan: _Plan, started: Any, dry_run: bool
) -> dict[str, Any]:
    rt = tx.state.table(module)
    # Saved or deleted while the job computed: their own save decided, or decides now.
    moved = np.array(
        [
            *territory_snapshot.changed_since(tx.conn, rt, started),
            *territory_snapshot.deleted_since(tx.conn, module.api_name, started),
        ],
        dtype=np.int64,
    )
    gained_ids, gained_tids = plan.gained
    lost_ids, lost_tids = plan.lost
    if len(moved):
        keep = ~np.isin(gained_ids, moved)
        gained_ids, gained_tids = gained_ids[keep], gained_tids[keep]
        keep = ~np.isin(lost_ids, moved)
        lost_ids, lost_tids = lost_ids[keep], lost_tids[keep]
    summary = _summary(tx, (gained_ids, gained_tids), (lost_ids, lost_tids), request.record_ids)
    result: dict[str, Any] = {
        "module": module.api_name,
        "records": len(plan.ids),
        "in_scope": int(plan.scope.sum()),
        "gained": len(gained_ids),
        "lost": len(lost_ids),
    }
    if dry_run:
        result["preview"] = summary
        return result
    # A run reports its change per territory too (counts, and ids when asked for).
    result["territories"] = summary
    territory_snapshot.delete_pairs(tx.conn, lost_ids, lost_tids)
    territory_snapshot.insert_pairs(tx.conn, module.api_name, gained_ids, gained_tids, tx.now)
    if len(moved):
        records = list(records_repo.fetch(tx.conn, rt, moved.tolist()).values())
        assignment.reassign(tx, module, records)
    changed = set(np.union1d(gained_ids, lost_ids).tolist())
    result["changed_records"] = len(changed)
    if module.api_name == "Accounts" and tx.state.territory.settings.cascade:
        assignment.cascade(tx, changed)
    return result


def _summary(
    tx: Tx,
    gained: tuple[np.ndarray, np.ndarray],
    lost: tuple[np.ndarray, np.ndarray],
    with_ids: bool,
) -> list[dict[str, Any]]:
    """Per territory, in tree order: records gained and lost (TER-26)."""
    tree = assignment.active_tree(tx)
    assert tree is not None
    out = []
    per: dict[int, dict[str, np.ndarray]] = {}
    for direction, (record_ids, territory_ids) in (("gained", gained), ("lost", lost)):
        order = np.argsort(territory_ids, kind="stable")
        record_ids, territory_ids = record_ids[order], territory_ids[order]
        values, starts = np.unique(territory_ids, return_index=True)
        bounds = [*starts.tolist(), len(territory_ids)]
        for i, tid in enumerate(values.tolist()):
            per.setdefault(tid, {})[direction] = record_ids[bounds[i] : bounds[i + 1]]
    empty = np.empty(0, dtype=np.int64)
    for tid in tree.in_preorder(per):
        entry = per[tid]
        got, gone = entry.get("gained", empty), entry.get("lost", empty)
        item: dict[str, Any] = {
            "territory": {"id": str(tid), "name": tree.by_id[tid].name},
            "gained": len(got),
            "lost": len(gone),
        }
        if with_ids:
            item["record_ids"] = {
                "gained": [str(i) for i in np.sort(got)[:PREVIEW_IDS].tolist()],
                "lost": [str(i) for i in np.sort(gone)[:PREVIEW_IDS].tolist()],
                "truncated": bool(len(got) > PREVIEW_IDS or len(gone) > PREVIEW_IDS),
            }
        out.append(item)
    return out


def _run_deals(tx: Tx, module: Module, request: RunRequest, dry_run: bool) -> dict[str, Any]:
    """Deals follow their contact's or account's territories, one by one (TER-18)."""
    rt = tx.state.table(module)
    query = sa.select(rt.table.c.id)
    if request.based_on == "criteria" and request.criteria is not None:
        query = query.where(
            compile_sql(parse_criteria(request.criteria), rt, assignment.eval_context(tx))
        )
    ids = [row[0] for row in tx.conn.execute(query)]
    if request.based_on == "territories":
        tree = assignment.active_tree(tx)
        assert tree is not None
        chosen = (
            tree.subtrees(request.territories)
            if request.include_child
            else set(request.territories)
        )
        held = territory_repo.assignments(tx.conn, ids)
        ids = [i for i in ids if any(a.territory_id in chosen for a in held.get(i, []))]
    records = list(records_repo.fetch(tx.conn, rt, ids).values())
    if dry_run:
        before = territory_repo.assignments(tx.conn, ids)
        nested = tx.conn.begin_nested()
        assignment.reassign(tx, module, records)
        after = territory_repo.assignments(tx.conn, ids)
        nested.rollback()
        gained: list[tuple[int, int]] = []
        lost: list[tuple[int, int]] = []
        for record_id in ids:
            old = {a.territory_id for a in before.get(record_id, [])}
            new = {a.territory_id for a in after.get(record_id, [])}
            gained += [(record_id, tid) for tid in new - old]
            lost += [(record_id, tid) for tid in old - new]
        arrays = [
            (
                np.array([p[0] for p in pairs], dtype=np.int64),
                np.array([p[1] for p in pairs], dtype=np.int64),
            )
            for pairs in (gained, lost)
        ]
        return {
            "module": module.api_name,
            "records": len(ids),
            "in_scope": len(ids),
            "gained": len(gained),
            "lost": len(lost),
            "preview": _summary(tx, arrays[0], arrays[1], request.record_ids),
        }
    changed = assignment.reassign(tx, module, records)
    return {
        "module": module.api_name,
        "records": len(ids),
        "in_scope": len(ids),
        "changed_records": len(changed),
    }
