"""The first screen after signing in: the user's records, recent activity, the modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from secteur.adapters.db import records_repo
from secteur.domain.audit import AuditEvent
from secteur.domain.catalog import DEAL_STAGES
from secteur.domain.directory import Operation
from secteur.domain.fields import Module
from secteur.services import record_queries as queries
from secteur.web.deps import PageRoute, Viewer, viewer
from secteur.web.pages.records import reader_for
from secteur.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CLOSED_STAGES = [name for name, _, _ in DEAL_STAGES if name.startswith("Closed")]


@dataclass(frozen=True)
class Tile:
    module: Module
    total: int
    mine: int


@dataclass(frozen=True)
class Activity:
    event: AuditEvent
    who: str
    module: Module
    name: str


def _mine(v: Viewer, module: Module, extra: dict[str, Any] | None = None) -> Any:
    criteria: dict[str, Any] = {
        "field": {"api_name": "Owner"},
        "comparator": "equal",
        "value": str(v.actor.id),
    }
    if extra is not None:
        criteria = {"group_operator": "AND", "group": [criteria, extra]}
    return queries.criteria_condition(v.tx, v.actor, module, criteria)


def _tiles(v: Viewer, modules: list[Module]) -> list[Tile]:
    return [
        Tile(
            m,
            queries.count_records(v.tx, v.actor, m, None),
            queries.count_records(v.tx, v.actor, m, _mine(v, m)),
        )
        for m in modules
    ]


def _open_deals(v: Viewer) -> dict[str, Any] | None:
    deals = v.tx.state.module("Deals")
    if deals is None or not v.actor.may("Deals", Operation.VIEW):
        return None
    open_only = {"field": {"api_name": "Stage"}, "comparator": "not_equal", "value": CLOSED_STAGES}
    found = queries.list_records(
        v.tx,
        v.actor,
        deals,
        queries.ListQuery(
            per_page=8,
            sort_by="Closing_Date",
            approved="both",
            conditions=(_mine(v, deals, open_only),),
        ),
    )
    columns = [f for f in (deals.field(n) for n in ("Deal_Name", "Stage", "Amount")) if f]
    closing = deals.field("Closing_Date")
    reader = reader_for(v, deals, found.records, columns)
    return {
        "module": deals,
        "rows": [
            (
                r,
                [reader.show(f, r.values.get(f.api_name)) for f in columns],
                reader.show(closing, r.values.get("Closing_Date")) if closing else None,
            )
            for r in found.records
        ],
    }


def _activity(v: Viewer) -> list[Activity]:
    events = queries.recent_activity(v.tx, v.actor)
    directory = v.tx.state.directory
    ids: dict[str, set[int]] = {}
    for e in events:
        ids.setdefault(e.module or "", set()).add(e.entity_id)
    names = {
        name: records_repo.display_names(v.tx.conn, v.tx.state.table(m), wanted)
        for name, wanted in ids.items()
        if (m := v.tx.state.module(name)) is not None
    }
    out = []
    for e in events:
        module = v.tx.state.module(e.module or "")
        if module is None:
            continue
        values = dict(e.after or e.before or {})
        who = directory.users.get(e.actor_id) if e.actor_id else None
        name = names.get(module.api_name, {}).get(e.entity_id) or values.get(module.display_field)
        out.append(
            Activity(e, who.full_name if who else "System", module, str(name or f"#{e.entity_id}"))
        )
    return out


@router.get("/")
def home(request: Request) -> Response:
    with viewer(request) as v:
        chrome = v.chrome("home")
        modules = chrome["nav_modules"]
        return page(
            request,
            "home.html",
            {
                **chrome,
                "tiles": _tiles(v, modules),
                "open_deals": _open_deals(v),
                "activity": _activity(v),
            },
        )
