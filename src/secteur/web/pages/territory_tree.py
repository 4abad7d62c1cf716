"""The territory tree (issue 5): lazy tree with search and counts, a territory's panel (edit,
move, delete with transfer, manager, members), and the rule editor with live counts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query
from markupsafe import escape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from secteur.domain.criteria import to_json
from secteur.domain.fields import Module
from secteur.domain.territories import Permission, Territory, Tree
from secteur.domain.territories.model import COVERED_MODULES, RULE_KEYS
from secteur.services import territories as service
from secteur.services import territory_views as views
from secteur.services.errors import NotFound, ServiceError
from secteur.web import filters
from secteur.web.deps import Form, PageRoute, Viewer, read_form, viewer
from secteur.web.pages.records import filter_context, reader_for, zone_of
from secteur.web.render import SECURITY_HEADERS, environment, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

COUNT_MODULES = ("Accounts", "Contacts", "Deals", "Leads")
SEARCH_LIMIT = 20
MAX_ID = 2**63 - 1


def _id(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID):
        raise NotFound()
    return int(text)


def _fragment(template: str, **context: Any) -> HTMLResponse:
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, headers=SECURITY_HEADERS)


def _may_manage(v: Viewer) -> bool:
    return v.actor.profile.may("manage_territories")


def _count_module(request: Request) -> str:
    wanted = request.query_params.get("count", "Accounts")
    return wanted if wanted in COUNT_MODULES else "Accounts"


@dataclass(frozen=True)
class Node:
    territory: Territory
    children: int
    own: int
    below: int
    members: int


def _nodes(v: Viewer, tree: Tree, ids: list[int], module: str) -> list[Node]:
    counts = views.record_counts(v.tx, module, ids)
    members = views.member_counts(v.tx)
    return [
        Node(
            tree.by_id[i],
            len(tree.children.get(i, ())),
            counts.own.get(i, 0),
            counts.subtree.get(i, 0),
            members.get(i, 0),
        )
        for i in ids
    ]


def _ordered_children(tree: Tree, territory_id: int) -> list[int]:
    return list(tree.children.get(territory_id, ()))


def _branch(v: Viewer, tree: Tree, expanded: set[int], module: str) -> dict[int, list[Node]]:
    """The children shown for each expanded territory (only those: the tree loads lazily)."""
    return {
        tid: _nodes(v, tree, _ordered_children(tree, tid), module)
        for tid in expanded
        if tid in tree
    }


def _user_name(v: Viewer, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = v.tx.state.directory.users.get(user_id)
    return user.full_name if user else f"user {user_id}"


def _panel(v: Viewer, tree: Tree, territory_id: int) -> dict[str, Any]:
    territory = tree.by_id[territory_id]
    state = v.tx.state
    modules = [m for m in (state.module(n) for n in COVERED_MODULES) if m is not None]
    rules = []
    for m in modules:
        rule = territory.rule(m.api_name)
        rules.append((m, filters.sentence(m, to_json(rule)) if rule is not None else None))
    counts = {name: views.record_counts(v.tx, name, [territory_id]) for name in COUNT_MODULES}
    administrator = tree.administrator(territory_id)
    members = views.members(v.tx, territory_id)
    member_ids = {m.user_id for m in members}
    users = sorted(
        (u for u in state.directory.users.values() if u.active),
        key=lambda u: u.full_name.casefold(),
    )
    return {
        "territory": territory,
        "path": [tree.by_id[a] for a in reversed(tree.ancestors(territory_id))],
        "children_count": len(tree.children.get(territory_id, ())),
        "manager": _user_name(v, territory.manager_id),
        "administrator": _user_name(v, administrator),
        "inherited_manager": territory.manager_id is None and administrator is not None,
        "rules": rules,
        "counts": [
            (name, counts[name].own.get(territory_id, 0), counts[name].subtree.get(territory_id, 0))
            for name in COUNT_MODULES
        ],
        "members": [(m, _user_name(v, m.user_id)) for m in members],
        "users": users,
        "candidates": [u for u in users if u.id not in member_ids],
        "permissions": list(Permission),
    }


@router.get("/territories")
def tree_page(request: Request) -> Response:
    with viewer(request) as v:
        tree = v.tx.state.territory.tree if v.tx.state.territory.active else None
        context: dict[str, Any] = {**v.chrome("territories"), "may_manage": _may_manage(v)}
        if tree is None:
            return page(request, "territories/tree_off.html", context)
        module = _count_module(request)
        raw = request.query_params.get("t", "")
        selected = int(raw) if raw.isdigit() and int(raw) in tree else tree.root_id
        expanded = {tree.root_id, *tree.ancestors(selected)}
        if tree.children.get(selected):
            expanded.add(selected)
        return page(
            request,
            "territories/tree.html",
            {
                **context,
                "tree": tree,
                "root": _nodes(v, tree, [tree.root_id], module)[0],
                "branches": _branch(v, tree, expanded, module),
                "expanded": expanded,
                "selected": selected,
                "count_module": module,
                "count_modules": COUNT_MODULES,
                "size": len(tree),
                "message": request.query_params.get("done"),
                **_panel(v, tree, selected),
            },
        )


@router.get("/territories/{territory_id}/children")
def children(request: Request, territory_id: str) -> Response:
    """One level of the tree, loaded when a node is opened."""
    with viewer(request) as v:
        tree = service.require_enabled(v.tx)
        tid = _id(territory_id)
        if tid not in tree:
            raise NotFound()
        module = _count_module(request)
        return _fragment(
            "territories/tree_nodes.html",
            nodes=_nodes(v, tree, _ordered_children(tree, tid), module),
            branches={},
            expanded=set(),
            selected=None,
            count_module=module,
        )


def _matches(tree: Tree, q: str) -> list[tuple[Territory, list[Territory]]]:
    needle = q.strip().casefold()
    if not needle:
        return []
    found = [tree.by_id[i] for i in tree.preorder if needle in tree.by_id[i].name.casefold()]
    return [
        (t, [tree.by_id[a] for a in reversed(tree.ancestors(t.id))]) for t in found[:SEARCH_LIMIT]
    ]


@router.get("/territories/search")
def search(request: Request, q: Annotated[str, Query(max_length=100)] = "") -> Response:
    with viewer(request) as v:
        tree = service.require_enabled(v.tx)
        return _fragment("territories/tree_search.html", matches=_matches(tree, q), q=q)


@router.get("/territories/lookup")
def lookup(request: Request, q: Annotated[str, Query(max_length=100)] = "") -> Response:
    """Territories for pickers (move to…, transfer to…, list filters), by name."""
    with viewer(request) as v:
        tree = service.require_enabled(v.tx)
        matches = _matches(tree, q) if q.strip() else [(tree.root, [])]
        options = [
            (t.id, " › ".join([*(a.name for a in path[-2:]), t.name])) for t, path in matches
        ]
    return _fragment("records/lookup_options.html", options=options)


# --- changes ------------------------------------------------------------------------------


def _back(territory_id: int, message: str) -> RedirectResponse:
    return RedirectResponse(f"/territories?t={territory_id}&done={message}", 303)


def _problem_page(request: Request, v: Viewer, tid: int, exc: ServiceError) -> Response:
    tree = v.tx.state.territory.tree
    assert tree is not None
    module = "Accounts"
    expanded = {tree.root_id, *tree.ancestors(tid)}
    return page(
        request,
        "territories/tree.html",
        {
            **v.chrome("territories"),
            "may_manage": _may_manage(v),
            "tree": tree,
            "root": _nodes(v, tree, [tree.root_id], module)[0],
            "branches": _branch(v, tree, expanded, module),
            "expanded": expanded,
            "selected": tid,
            "count_module": module,
            "count_modules": COUNT_MODULES,
            "size": len(tree),
            "message": None,
            "problem": exc.message[0].upper() + exc.message[1:],
            **_panel(v, tree, tid),
        },
        400,
    )


async def _change(request: Request, territory_id: str, apply: Any, message: str) -> Response:
    """Run `apply(viewer, territory id, form)`; back to the territory, or its page with the
    service's refusal (nothing written: the transaction rolls back)."""
    form = await read_form(request)
    tid = _id(territory_id)

    def run() -> Response:
        try:
            with viewer(request, write=True, form=form) as v:
                service.require_enabled(v.tx)
                target = apply(v, tid, form)
            return _back(target if isinstance(target, int) else tid, message)
        except ServiceError as exc:
            if exc.status in (403, 404):
                raise
            with viewer(request, form=form) as v:
                if v.tx.state.territory.tree is None or tid not in v.tx.state.territory.tree:
                    raise NotFound() from exc
                return _problem_page(request, v, tid, exc)

    return await run_in_threadpool(run)


def _ref(form: Form, name: str) -> dict[str, str] | None:
    value = form.get(name).strip()
    return {"id": value} if value else None


@router.post("/territories/{territory_id}/edit")
async def edit(request: Request, territory_id: str) -> Response:
    def apply(v: Viewer, tid: int, form: Form) -> None:
        item: dict[str, Any] = {
            "name": form.get("name"),
            "description": form.get("description") or None,
            "manager": _ref(form, "manager"),
            "permission_type": form.get("permission_type"),
        }
        service.update_territory(v.tx, v.actor, tid, 0, item)

    return await _change(request, territory_id, apply, "saved")


@router.post("/territories/{territory_id}/children")
async def add_child(request: Request, territory_id: str) -> Response:
    def apply(v: Viewer, tid: int, form: Form) -> int:
        item = {"name": form.get("name"), "reporting_to": {"id": str(tid)}}
        return service.create_territory(v.tx, v.actor, 0, item)

    return await _change(request, territory_id, apply, "created")


@router.post("/territories/{territory_id}/move")
async def move(request: Request, territory_id: str) -> Response:
    def apply(v: Viewer, tid: int, form: Form) -> None:
        parent = form.get("parent").strip()
        if not parent:
            raise ServiceError("MANDATORY_NOT_FOUND", "choose where to move the territory", {})
        service.update_territory(v.tx, v.actor, tid, 0, {"reporting_to": {"id": parent}})

    return await _change(request, territory_id, apply, "moved")


@router.post("/territories/{territory_id}/delete")
async def delete(request: Request, territory_id: str) -> Response:
    def apply(v: Viewer, tid: int, form: Form) -> int:
        tree = service.require_enabled(v.tx)
        parent = tree.by_id[tid].parent_id if tid in tree else None
        raw = form.get("transfer_to").strip()
        transfer = int(raw) if raw.isdigit() else None
        service.delete_territory(v.tx, v.actor, tid, transfer)
        return transfer or parent or tid

    return await _change(request, territory_id, apply, "deleted")


@router.post("/territories/{territory_id}/members")
async def add_member(request: Request, territory_id: str) -> Response:
    def apply(v: Viewer, tid: int, form: Form) -> None:
        raw = form.get("user")
        problems = service.add_members(v.tx, v.actor, tid, [int(raw)] if raw.isdigit() else [-1])
        if problems[0] is not None:
            raise problems[0]

    return await _change(request, territory_id, apply, "member-added")


@router.post("/territories/{territory_id}/members/{user_id}/remove")
async def remove_member(request: Request, territory_id: str, user_id: str) -> Response:
    def apply(v: Viewer, tid: int, form: Form) -> None:
        problems = service.remove_members(v.tx, v.actor, tid, [_id(user_id)])
        if problems[0] is not None:
            raise problems[0]

    return await _change(request, territory_id, apply, "member-removed")


# --- rule editor --------------------------------------------------------------------------


def _rule_module(v: Viewer, name: str) -> Module:
    if name not in RULE_KEYS:
        raise NotFound()
    module = v.tx.state.module(name)
    if module is None:
        raise NotFound()
    return module


def _reach_context(
    v: Viewer, module: Module, tid: int, criteria: dict[str, Any] | None
) -> dict[str, Any]:
    reach = views.rule_reach(v.tx, v.actor, module, tid, criteria)
    title = module.field(module.display_field)
    reader = reader_for(v, module, reach.sample, [title] if title else [])
    return {
        "reach": reach,
        "module": module,
        "sample": [
            (r, reader.show(title, r.values.get(module.display_field)).text if title else "")
            for r in reach.sample
        ],
        "has_rule": criteria is not None,
    }


def _criteria_from(module: Module, form_pairs: list[tuple[str, str]], zone: str) -> Any:
    """The rule being edited: from the JSON editor when used, else from the builder's rows."""
    by_key = dict(form_pairs)
    if by_key.get("mode") == "json":
        text = by_key.get("criteria_json", "").strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise filters.FilterProblem(f"The criteria are not valid JSON: {exc.msg}") from None
    return filters.to_criteria(module, filters.parse(form_pairs), zone)


def _editor(
    request: Request,
    v: Viewer,
    tid: int,
    module: Module,
    *,
    editing: filters.Filter | None = None,
    editing_json: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    """The rule editor: the saved rule, or what was typed when saving it failed."""
    tree = service.require_enabled(v.tx)
    if tid not in tree:
        raise NotFound()
    territory = tree.by_id[tid]
    rule = territory.rule(module.api_name)
    current = to_json(rule) if rule is not None else None
    flt = editing if editing is not None else filters.from_criteria(module, current)
    json_text = (
        editing_json
        if editing_json is not None
        else json.dumps(current, indent=2, ensure_ascii=False)
        if current
        else ""
    )
    return page(
        request,
        "territories/rules.html",
        {
            **v.chrome("territories"),
            "territory": territory,
            "path": [tree.by_id[a] for a in reversed(tree.ancestors(tid))],
            "module": module,
            "current": current,
            "current_json": json_text,
            "sentence": filters.sentence(module, current) if current else None,
            "json_mode": flt is None or editing_json is not None,
            "json_only": flt is None,
            "may_manage": _may_manage(v),
            "rule_modules": [m for m in (v.tx.state.module(n) for n in RULE_KEYS) if m],
            "problem": problem,
            "saved": request.query_params.get("saved") == "1",
            **filter_context(v, module, flt or filters.Filter(())),
            **_reach_context(v, module, tid, current),
        },
        status,
    )


@router.get("/territories/{territory_id}/rules/{module_name}")
def rule_editor(request: Request, territory_id: str, module_name: str) -> Response:
    with viewer(request) as v:
        return _editor(request, v, _id(territory_id), _rule_module(v, module_name))


@router.get("/territories/{territory_id}/rules/{module_name}/reach")
def rule_reach(request: Request, territory_id: str, module_name: str) -> Response:
    """Live figures for the rule being edited: records reaching the territory, matching, sample."""
    with viewer(request) as v:
        tree = service.require_enabled(v.tx)
        tid = _id(territory_id)
        if tid not in tree:
            raise NotFound()
        module = _rule_module(v, module_name)
        try:
            criteria = _criteria_from(module, list(request.query_params.multi_items()), zone_of(v))
            return _fragment(
                "territories/rule_reach.html",
                territory=tree.by_id[tid],
                **_reach_context(v, module, tid, criteria),
            )
        except (filters.FilterProblem, ServiceError) as exc:
            message = str(exc) if isinstance(exc, filters.FilterProblem) else exc.message
            return HTMLResponse(
                f'<p class="notice error" role="alert">{escape(message)}</p>',
                headers=SECURITY_HEADERS,
            )


@router.post("/territories/{territory_id}/rules/{module_name}")
async def save_rule(request: Request, territory_id: str, module_name: str) -> Response:
    form = await read_form(request)
    tid = _id(territory_id)

    def run() -> Response:
        try:
            with viewer(request, write=True, form=form) as v:
                module = _rule_module(v, module_name)
                criteria = (
                    None
                    if form.get("remove") == "1"
                    else _criteria_from(module, list(form.pairs), zone_of(v))
                )
                key = RULE_KEYS[module.api_name]
                service.update_territory(v.tx, v.actor, tid, 0, {key: criteria})
            return RedirectResponse(
                f"/territories/{tid}/rules/{module.api_name}?saved=1", status_code=303
            )
        except (filters.FilterProblem, ServiceError) as exc:
            if isinstance(exc, ServiceError) and exc.status in (403, 404):
                raise
            message = str(exc) if isinstance(exc, filters.FilterProblem) else exc.message
            with viewer(request, form=form) as v:
                module = _rule_module(v, module_name)
                as_json = form.get("mode") == "json"
                return _editor(
                    request,
                    v,
                    tid,
                    module,
                    editing=None if as_json else filters.parse(list(form.pairs)),
                    editing_json=form.get("criteria_json") if as_json else None,
                    problem=message[0].upper() + message[1:],
                    status=400,
                )

    return await run_in_threadpool(run)
