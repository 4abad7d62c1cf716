"""A record's territories (issue 5): automatic and manual ones, adding and removing manual
ones for those allowed (TER-20, TER-21), and "why?" — the TER-27 trace in plain words."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from secteur.domain.directory import User
from secteur.domain.fields import Module
from secteur.domain.records import StoredRecord
from secteur.domain.territories.model import COVERED_MODULES
from secteur.services import records as records_service
from secteur.services import territory_assignment as assignment
from secteur.services.errors import NotFound, ServiceError
from secteur.web import filters
from secteur.web.deps import PageRoute, Viewer, read_form, viewer

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Condition:
    words: str
    seen: str
    result: bool


@dataclass(frozen=True)
class Step:
    """One territory visited by the walk, as the "why?" panel shows it."""

    territory_id: int
    name: str
    depth: int
    verdict: str  # "matched" | "not_matched" | "pass" | "skipped"
    assigned: bool
    dropped: bool
    conditions: list[Condition]


def _seen(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "empty"
    if isinstance(value, list):
        return ", ".join(filters.number_text(v) for v in value)
    return filters.number_text(value)


def why(v: Viewer, module: Module, record: StoredRecord) -> dict[str, Any]:
    """The explanation of a record's territories, ready to show."""
    explanation = assignment.explain_record(v.tx, module, record)
    tree = v.tx.state.territory.tree
    assert tree is not None
    depth = tree.depth
    names = {str(u.id): u.full_name for u in v.tx.state.directory.users.values()}
    steps = []
    for entry in explanation["trace"]:
        tid = int(entry["territory"]["id"])
        if entry["skipped"] == "parent_not_matched":
            verdict = "skipped"
        elif entry["rule"] is None and entry["matched"] is None:
            verdict = "pass"
        else:
            verdict = "matched" if entry["matched"] else "not_matched"
        steps.append(
            Step(
                tid,
                entry["territory"]["name"],
                depth.get(tid, 0),
                verdict,
                bool(entry.get("assigned")),
                entry["skipped"] == "cap",
                [
                    Condition(
                        filters.condition_words(
                            module, c["field"], c["comparator"], c["value"], names
                        ),
                        _seen(names.get(str(c["record_value"]), c["record_value"])),
                        bool(c["result"]),
                    )
                    for c in entry["conditions"]
                ],
            )
        )
    # Untested sub-territories of a territory that did not match read as one line.
    merged: list[Step] = []
    for step in steps:
        last = merged[-1] if merged else None
        if (
            step.verdict == "skipped"
            and last
            and last.verdict == "skipped"
            and (last.depth == step.depth)
        ):
            merged[-1] = replace(last, name=f"{last.name}, {step.name}")
        else:
            merged.append(step)
    steps = merged
    top = min((s.depth for s in steps), default=0)
    return {
        "steps": [replace(s, depth=s.depth - top) for s in steps],
        "notes": explanation["notes"],
        "assigned": explanation["assigned"],
        "manual": explanation["manual"],
    }


def _name(user: User | None) -> str | None:
    return user.full_name if user else None


def panel(v: Viewer, module: Module, record: StoredRecord) -> dict[str, Any] | None:
    """What the record page shows under "Territories"; None while territories are off."""
    if not v.tx.state.territory.active or module.api_name not in COVERED_MODULES:
        return None
    held = assignment.record_territories(v.tx, [record.id]).get(record.id, [])
    tree = v.tx.state.territory.tree
    assert tree is not None
    directory = v.tx.state.directory
    return {
        "held": [
            (
                t,
                _name(directory.users.get(t.assigned_by) if t.assigned_by else None),
                assignment.may_assign(v.tx, v.actor, t.territory_id),
            )
            for t in held
        ],
        "may_add": v.actor.profile.admin or bool(tree.managed_by(v.actor.id)),
        "why": why(v, module, record),
    }


def _record(v: Viewer, module_name: str, record: str) -> tuple[Module, StoredRecord]:
    module = v.tx.state.module(module_name)
    if module is None or module.api_name not in COVERED_MODULES:
        raise NotFound()
    if not (record.isascii() and record.isdigit() and 0 < int(record) <= MAX_ID):
        raise NotFound()
    return module, records_service.get_record(v.tx, v.actor, module, int(record))


async def _change(request: Request, module_name: str, record: str, assign: bool) -> Response:
    form = await read_form(request)
    raw = form.get("territory").strip()

    def run() -> Response:
        try:
            with viewer(request, write=True, form=form) as v:
                module, stored = _record(v, module_name, record)
                if not raw.isdigit():
                    raise ServiceError("MANDATORY_NOT_FOUND", "choose a territory", {})
                change = assignment.assign_manually if assign else assignment.remove_manually
                change(v.tx, v.actor, module, stored, [int(raw)])
            done = "territory-added" if assign else "territory-removed"
            location = f"/m/{module.api_name}/{stored.id}?saved={done}#territories"
            return RedirectResponse(location, 303)
        except (assignment.AssignmentRefused, ServiceError) as exc:
            if isinstance(exc, ServiceError) and exc.status in (403, 404):
                raise
            problem = quote(exc.message)
            location = f"/m/{module_name}/{record}?territory_problem={problem}#territories"
            return RedirectResponse(location, 303)

    return await run_in_threadpool(run)


@router.post("/m/{module_name}/{record}/territories/add")
async def add(request: Request, module_name: str, record: str) -> Response:
    return await _change(request, module_name, record, assign=True)


@router.post("/m/{module_name}/{record}/territories/remove")
async def remove(request: Request, module_name: str, record: str) -> Response:
    return await _change(request, module_name, record, assign=False)
