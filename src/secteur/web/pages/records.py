"""Module pages: the list (columns, sorting, paging, filter builder), a record with its related
lists and timeline, create/edit forms and delete — all through the services the API uses, so a
page never shows or accepts what the API would not."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from markupsafe import escape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from secteur.adapters.db import records_repo
from secteur.api.wire import Names
from secteur.domain.audit import AuditEvent
from secteur.domain.directory import Operation
from secteur.domain.fields import DataType, Field, Kind, Module
from secteur.domain.records import StoredRecord
from secteur.domain.territories.model import COVERED_MODULES
from secteur.services import access, territory_assignment
from secteur.services import record_queries as queries
from secteur.services import records as service
from secteur.services.errors import NotFound, ServiceError
from secteur.web import filters
from secteur.web.deps import PageRoute, Viewer, read_form, viewer
from secteur.web.display import Reader, input_value
from secteur.web.forms import Problems, form_fields, item_from, problems_of
from secteur.web.pages import record_territories
from secteur.web.render import SECURITY_HEADERS, environment, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_COLUMNS = {
    "Leads": ("Last_Name", "First_Name", "Company", "Email", "Lead_Status", "Owner"),
    "Accounts": ("Account_Name", "Billing_City", "Billing_Country", "Industry", "Phone", "Owner"),
    "Contacts": ("Last_Name", "First_Name", "Account_Name", "Email", "Phone", "Owner"),
    "Deals": ("Deal_Name", "Account_Name", "Stage", "Amount", "Closing_Date", "Owner"),
}
MAX_ID = 2**63 - 1


def _module(v: Viewer, name: str, operation: Operation = Operation.VIEW) -> Module:
    module = v.tx.state.module(name)
    if module is None:
        raise NotFound()
    access.require_module(v.actor, module, operation)
    return module


def _record_id(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID):
        raise NotFound()
    return int(text)


def zone_of(v: Viewer) -> str:
    return v.actor.user.time_zone or v.tx.state.org.time_zone


def reader_for(
    v: Viewer, module: Module, records: Sequence[StoredRecord], fields: Sequence[Field]
) -> Reader:
    names = Names.resolve(v.tx.conn, v.tx.state.tables, module, records, fields)
    state = v.tx.state
    return Reader(names, state.directory, zone_of(v), state.org.currency)


def _columns(module: Module, chosen: str | None) -> list[Field]:
    names = [n for n in (chosen or "").split(",") if n] or list(
        DEFAULT_COLUMNS.get(module.api_name, (module.display_field,))
    )
    fields = [f for f in (module.field(n) for n in names) if f is not None]
    fields = [f for f in fields if f.kind is not Kind.TERRITORIES]
    return fields or [f for f in module.fields if f.api_name == module.display_field]


def _sortable(f: Field) -> bool:
    return f.kind not in (Kind.MULTISELECT, Kind.TERRITORIES)


@dataclass(frozen=True)
class Listing:
    """A list page's query: what it filters, shows, sorts and which page."""

    module: Module
    flt: filters.Filter
    columns: list[Field]
    sort_by: str
    order: str
    page: int
    per_page: int
    territory: int | None
    with_children: bool

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.flt.params())
        out["cols"] = ",".join(f.api_name for f in self.columns)
        out["sort"] = self.sort_by
        out["order"] = self.order
        out["per_page"] = self.per_page
        if self.territory is not None:
            out["territory"] = self.territory
            if self.with_children:
                out["children"] = "1"
        return out


def _listing(request: Request, module: Module) -> Listing:
    q = request.query_params
    per_page = int(q.get("per_page", "25")) if q.get("per_page", "25").isdigit() else 25
    page_no = int(q.get("page", "1")) if q.get("page", "1").isdigit() else 1
    sort_by = q.get("sort") or module.display_field
    sort_field = module.field(sort_by)
    if sort_by not in queries.SYSTEM_SORTS and (sort_field is None or not _sortable(sort_field)):
        sort_by = module.display_field
    territory = q.get("territory", "")
    return Listing(
        module=module,
        flt=filters.parse(list(q.multi_items())),
        columns=_columns(module, q.get("cols")),
        sort_by=sort_by,
        order="desc" if q.get("order") == "desc" else "asc",
        page=max(1, page_no),
        per_page=per_page if per_page in PER_PAGE_CHOICES else 25,
        territory=int(territory) if territory.isdigit() and len(territory) < 20 else None,
        with_children=q.get("children") == "1",
    )


def _conditions(v: Viewer, listing: Listing) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
    """SQL conditions of the filter (and territory), and the criteria tree shown to people."""
    criteria = filters.to_criteria(listing.module, listing.flt, zone_of(v))
    conditions: list[Any] = []
    if criteria is not None:
        conditions.append(queries.criteria_condition(v.tx, v.actor, listing.module, criteria))
    if listing.territory is not None:
        condition = territory_assignment.in_territory(
            v.tx, listing.module, listing.territory, listing.with_children
        )
        conditions.append(condition)
    return tuple(conditions), criteria


def filter_context(v: Viewer, module: Module, flt: filters.Filter) -> dict[str, Any]:
    """What the filter builder's rows need (lists and territory rules use the same rows)."""
    fields = filters.filterable(module)
    users = sorted(v.tx.state.directory.users.values(), key=lambda u: u.full_name.casefold())
    return {
        "filter_fields": fields,
        "operators": {f.api_name: filters.operators(f) for f in fields},
        "users": [u for u in users if u.active],
        "filter_rows": list(flt.rows) or [filters.Row("", "")],
        "match": flt.match,
    }


@router.get("/m/{module_name}")
def list_page(request: Request, module_name: str) -> Response:
    with viewer(request) as v:
        module = _module(v, module_name)
        listing = _listing(request, module)
        problem: str | None = None
        criteria: dict[str, Any] | None = None
        try:
            conditions, criteria = _conditions(v, listing)
            total = queries.count_records(v.tx, v.actor, module, _all(conditions))
            last_page = max(1, min(-(-total // listing.per_page), 2000 // listing.per_page))
            page_no = min(listing.page, last_page)
            page_data = queries.list_records(
                v.tx,
                v.actor,
                module,
                queries.ListQuery(
                    page=page_no,
                    per_page=listing.per_page,
                    sort_by=listing.sort_by,
                    sort_order=listing.order,
                    approved="both",
                    conditions=conditions,
                ),
            )
            records = page_data.records
        except (filters.FilterProblem, ServiceError) as exc:
            if isinstance(exc, ServiceError) and exc.status != 400:
                raise
            problem = str(exc) if isinstance(exc, filters.FilterProblem) else exc.message
            total, page_no, last_page, records = 0, 1, 1, []
        reader = reader_for(v, module, records, listing.columns)
        rows = [(r, [reader.show(f, _value(r, f)) for f in listing.columns]) for r in records]
        return page(
            request,
            "records/list.html",
            {
                **v.chrome(module.api_name),
                "module": module,
                "listing": listing,
                "params": listing.params(),
                "rows": rows,
                "total": total,
                "page_no": page_no,
                "last_page": last_page,
                "per_page_choices": PER_PAGE_CHOICES,
                "all_columns": [f for f in module.fields if f.kind is not Kind.TERRITORIES],
                "sortable": {f.api_name for f in module.fields if _sortable(f)},
                "problem": problem,
                "criteria_json": json.dumps(criteria, indent=2, ensure_ascii=False)
                if criteria
                else None,
                "summary": filters.describe(module, listing.flt, _user_labels(v)),
                "may_create": v.actor.may(module.api_name, Operation.CREATE),
                "territory_filter": _territory_filter(v, module, listing),
                **filter_context(v, module, listing.flt),
            },
        )


def _territory_filter(v: Viewer, module: Module, listing: Listing) -> dict[str, str] | None:
    """TER-30 on the list page: the chosen territory, while territories cover the module."""
    tree = v.tx.state.territory.tree if v.tx.state.territory.active else None
    if tree is None or module.api_name not in COVERED_MODULES:
        return None
    chosen = tree.get(listing.territory) if listing.territory is not None else None
    return {"name": chosen.name if chosen else ""}


def _all(conditions: tuple[Any, ...]) -> Any:
    return sa.and_(*conditions) if conditions else None


def _user_labels(v: Viewer) -> dict[str, str]:
    return {str(u.id): u.full_name for u in v.tx.state.directory.users.values()}


def _value(record: StoredRecord, f: Field) -> Any:
    return record.field_values().get(f.api_name)


@router.get("/m/{module_name}/count")
def count_fragment(request: Request, module_name: str) -> Response:
    """How many records the filter being built matches (the builder asks as rows change)."""
    with viewer(request) as v:
        module = _module(v, module_name)
        listing = _listing(request, module)
        try:
            conditions, _ = _conditions(v, listing)
            total = queries.count_records(v.tx, v.actor, module, _all(conditions))
            noun = module.plural_label if total != 1 else module.singular_label
            text = f"{total:,} {noun.lower()}"
            html = f'<span class="count" data-count="{total}">{_escape(text)} match</span>'
        except (filters.FilterProblem, ServiceError) as exc:
            message = str(exc) if isinstance(exc, filters.FilterProblem) else exc.message
            html = f'<span class="count problem">{_escape(message)}</span>'
    return HTMLResponse(html, headers=SECURITY_HEADERS)


def _escape(text: str) -> str:
    return str(escape(text))


@router.get("/m/{module_name}/filter-row")
def filter_row(
    request: Request, module_name: str, i: Annotated[int, Query(ge=0, lt=filters.MAX_ROWS)] = 0
) -> Response:
    """One row of the filter builder, redrawn when its field or operator changes."""
    with viewer(request) as v:
        module = _module(v, module_name)
        q = request.query_params
        f = module.field(q.get(f"f{i}", ""))
        row = filters.Row(
            f.api_name if f else "",
            q.get(f"o{i}", ""),
            tuple(x for x in q.getlist(f"v{i}") if x),
        )
        listing = _listing(request, module)
        html = (
            environment()
            .get_template("records/filter_row.html")
            .render(i=i, row=row, module=module, **filter_context(v, module, listing.flt))
        )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get("/m/{module_name}/lookup")
def lookup_options(
    request: Request, module_name: str, q: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    """Records of a module whose name contains `q`, for lookup pickers (visible ones only)."""
    with viewer(request) as v:
        module = _module(v, module_name)
        conditions: tuple[Any, ...] = ()
        if len(q.strip()) >= 1:
            criteria = {
                "field": {"api_name": module.display_field},
                "comparator": "contains",
                "value": q.strip(),
            }
            conditions = (queries.criteria_condition(v.tx, v.actor, module, criteria),)
        found = queries.list_records(
            v.tx,
            v.actor,
            module,
            queries.ListQuery(
                per_page=10, sort_by=module.display_field, approved="both", conditions=conditions
            ),
        )
        options = [(r.id, str(r.values.get(module.display_field) or r.id)) for r in found.records]
    html = environment().get_template("records/lookup_options.html").render(options=options)
    return HTMLResponse(html, headers=SECURITY_HEADERS)


# --- one record ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class Entry:
    event: AuditEvent
    who: str
    changes: list[Change]


def _timeline(v: Viewer, module: Module, record_id: int) -> list[Entry]:
    events = queries.timeline(v.tx, v.actor, module, record_id)
    directory = v.tx.state.directory
    entries = []
    for e in events:
        before, after = dict(e.before or {}), dict(e.after or {})
        changes = []
        for name in sorted(set(before) | set(after), key=lambda n: _sequence(module, n)):
            f = module.field(name)
            label = f.label if f else name
            old, new = _plain(v, f, before.get(name)), _plain(v, f, after.get(name))
            if old != new:
                changes.append(Change(label, old, new))
        actor = directory.users.get(e.actor_id) if e.actor_id else None
        entries.append(Entry(e, actor.full_name if actor else "System", changes))
    return entries


def _sequence(module: Module, name: str) -> int:
    f = module.field(name)
    return f.sequence if f else 1_000_000


def _plain(v: Viewer, f: Field | None, value: Any) -> str:
    """An audit value (JSON form) in words."""
    if value is None or value == [] or value == "":
        return ""
    if f is not None and f.kind is Kind.REFERENCE:
        if f.data_type is DataType.LOOKUP and f.lookup_module:
            target = v.tx.state.module(f.lookup_module)
            if target is not None:
                names = records_repo.display_names(v.tx.conn, v.tx.state.table(target), [value])
                return names.get(int(value), f"#{value}")
        user = v.tx.state.directory.users.get(int(value))
        return user.full_name if user else f"user {value}"
    if isinstance(value, list):
        return ", ".join(str(x) for x in value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _sections(module: Module) -> list[tuple[str, list[Field]]]:
    fields = [f for f in module.fields if f.kind is not Kind.TERRITORIES]
    own = [f for f in fields if not f.system and not f.custom]
    custom = [f for f in fields if f.custom]
    system = [f for f in fields if f.system]
    sections = [(f"{module.singular_label} information", own)]
    if custom:
        sections.append(("Custom fields", custom))
    sections.append(("System", system))
    return sections


# --- forms --------------------------------------------------------------------------------


def _form_page(
    request: Request,
    v: Viewer,
    module: Module,
    *,
    record: StoredRecord | None,
    values: dict[str, Any],
    problems: Problems,
    status: int = 200,
) -> Response:
    fields = form_fields(module)
    lookups = {}
    for f in fields:
        if f.data_type is DataType.LOOKUP and f.lookup_module and values.get(f.api_name):
            target = v.tx.state.module(f.lookup_module)
            if target is not None:
                ref = values[f.api_name]
                names = records_repo.display_names(
                    v.tx.conn, v.tx.state.table(target), [int(ref)] if str(ref).isdigit() else []
                )
                lookups[f.api_name] = names.get(int(ref), "") if str(ref).isdigit() else ""
    users = sorted(
        (u for u in v.tx.state.directory.users.values() if u.active),
        key=lambda u: u.full_name.casefold(),
    )
    return page(
        request,
        "records/form.html",
        {
            **v.chrome(module.api_name),
            "module": module,
            "record": record,
            "fields": fields,
            "values": values,
            "lookup_names": lookups,
            "problems": problems,
            "users": users,
            "currency": v.tx.state.org.currency,
        },
        status,
    )


def _values_of(module: Module, record: StoredRecord, zone: str) -> dict[str, Any]:
    values = record.field_values()
    return {f.api_name: input_value(f, values.get(f.api_name), zone) for f in form_fields(module)}


def _posted_values(module: Module, form: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in form_fields(module):
        out[f.api_name] = (
            form.all(f.api_name) if f.kind is Kind.MULTISELECT else form.get(f.api_name)
        )
    return out


@router.get("/m/{module_name}/new")
def new_form(request: Request, module_name: str) -> Response:
    with viewer(request) as v:
        module = _module(v, module_name, Operation.CREATE)
        values: dict[str, Any] = {f.api_name: "" for f in form_fields(module)}
        values["Owner"] = str(v.actor.id)
        for key, value in request.query_params.items():
            f = module.field(key)
            if f is not None and key in values:  # prefilled from a related list ("new contact")
                values[f.api_name] = value
        return _form_page(request, v, module, record=None, values=values, problems=Problems({}, ()))


@router.post("/m/{module_name}/new")
async def create(request: Request, module_name: str) -> Response:
    form = await read_form(request)

    def save() -> Response:
        with viewer(request, write=True, form=form) as v:
            module = _module(v, module_name, Operation.CREATE)
            item = item_from(module, form, zone_of(v))
            (result,) = service.write_records(
                v.tx, v.actor, module, [item], mode=service.Mode.INSERT
            )
            if result.ok:
                assert result.record is not None
                return RedirectResponse(
                    f"/m/{module.api_name}/{result.record.id}?saved=created", 303
                )
            return _form_page(
                request,
                v,
                module,
                record=None,
                values=_posted_values(module, form),
                problems=problems_of(module, result),
                status=400,
            )

    return await run_in_threadpool(save)


@router.get("/m/{module_name}/{record}/edit")
def edit_form(request: Request, module_name: str, record: str) -> Response:
    with viewer(request) as v:
        module = _module(v, module_name, Operation.EDIT)
        found = service.get_record(v.tx, v.actor, module, _record_id(record))
        return _form_page(
            request,
            v,
            module,
            record=found,
            values=_values_of(module, found, zone_of(v)),
            problems=Problems({}, ()),
        )


@router.post("/m/{module_name}/{record}/edit")
async def update(request: Request, module_name: str, record: str) -> Response:
    form = await read_form(request)

    def save() -> Response:
        with viewer(request, write=True, form=form) as v:
            module = _module(v, module_name, Operation.EDIT)
            record_id = _record_id(record)
            version = form.get("version")
            item = {**item_from(module, form, zone_of(v)), "id": str(record_id)}
            try:
                (result,) = service.write_records(
                    v.tx,
                    v.actor,
                    module,
                    [item],
                    mode=service.Mode.UPDATE,
                    expected_version=int(version) if version.isdigit() else None,
                )
            except ServiceError as exc:
                if exc.code != "CONFLICT":
                    raise
                result = service.ItemResult(
                    exc.code,
                    "someone else changed this record since you opened it; reload it to see "
                    "their changes, then edit again",
                )
            if result.ok:
                return RedirectResponse(f"/m/{module.api_name}/{record_id}?saved=updated", 303)
            current = service.get_record(v.tx, v.actor, module, record_id)
            return _form_page(
                request,
                v,
                module,
                record=current,
                values=_posted_values(module, form),
                problems=problems_of(module, result),
                status=409 if result.code == "CONFLICT" else 400,
            )

    return await run_in_threadpool(save)


@router.get("/m/{module_name}/{record}/delete")
def delete_confirm(request: Request, module_name: str, record: str) -> Response:
    with viewer(request) as v:
        module = _module(v, module_name, Operation.DELETE)
        found = service.get_record(v.tx, v.actor, module, _record_id(record))
        return page(
            request,
            "records/delete.html",
            {
                **v.chrome(module.api_name),
                "module": module,
                "record": found,
                "title": str(found.values.get(module.display_field) or f"#{found.id}"),
                "related": [
                    (rl, queries.count_records(v.tx, v.actor, rl.child, cond))
                    for rl, cond in (
                        queries.related_condition(v.tx, v.actor, module, found.id, rl.api_name)
                        for rl in queries.related_lists(v.tx, module)
                        if v.actor.may(rl.child.api_name, Operation.VIEW)
                    )
                ],
            },
        )


@router.post("/m/{module_name}/{record}/delete")
async def delete(request: Request, module_name: str, record: str) -> Response:
    form = await read_form(request)

    def remove() -> Response:
        with viewer(request, write=True, form=form) as v:
            module = _module(v, module_name, Operation.DELETE)
            record_id = _record_id(record)
            version = form.get("version")
            (result,) = service.delete_records(
                v.tx,
                v.actor,
                module,
                [record_id],
                expected_version=int(version) if version.isdigit() else None,
            )
            if not result.ok:
                raise ServiceError(result.code, result.message, dict(result.details))
            return RedirectResponse(f"/m/{module.api_name}?deleted=1", 303)

    return await run_in_threadpool(remove)


@router.get("/m/{module_name}/{record}")
def record_page(request: Request, module_name: str, record: str) -> Response:
    with viewer(request) as v:
        module = _module(v, module_name)
        found = service.get_record(v.tx, v.actor, module, _record_id(record))
        reader = reader_for(v, module, [found], module.fields)
        sections = [
            (title, [(f, reader.show(f, _value(found, f))) for f in fields])
            for title, fields in _sections(module)
        ]
        related = []
        for rl in queries.related_lists(v.tx, module):
            if not v.actor.may(rl.child.api_name, Operation.VIEW):
                continue
            _, condition = queries.related_condition(v.tx, v.actor, module, found.id, rl.api_name)
            # The lookup back to this record would repeat its name on every row.
            shown = [f for f in _columns(rl.child, None) if f.api_name != rl.lookup.api_name]
            children = queries.list_records(
                v.tx,
                v.actor,
                rl.child,
                queries.ListQuery(
                    per_page=10,
                    sort_by="Modified_Time",
                    sort_order="desc",
                    approved="both",
                    conditions=(condition,),
                ),
            )
            count = queries.count_records(v.tx, v.actor, rl.child, condition)
            child_reader = reader_for(v, rl.child, children.records, shown)
            related.append(
                {
                    "list": rl,
                    "columns": shown,
                    "rows": [
                        (c, [child_reader.show(f, _value(c, f)) for f in shown])
                        for c in children.records
                    ],
                    "count": count,
                    "filter": {"f0": rl.lookup.api_name, "o0": "is", "v0": str(found.id)},
                    "may_create": v.actor.may(rl.child.api_name, Operation.CREATE),
                }
            )
        rt = v.tx.state.table(module)
        editable = bool(
            records_repo.fetch(v.tx.conn, rt, [found.id], access.editable(v.tx, v.actor, rt))
        )
        return page(
            request,
            "records/detail.html",
            {
                **v.chrome(module.api_name),
                "module": module,
                "record": found,
                "title": reader.show(
                    module.field(module.display_field) or module.fields[0],
                    found.values.get(module.display_field),
                ).text
                or f"#{found.id}",
                "sections": sections,
                "related": related,
                "timeline": _timeline(v, module, found.id),
                "territory_panel": record_territories.panel(v, module, found),
                "territory_problem": request.query_params.get("territory_problem"),
                "may_edit": editable and v.actor.may(module.api_name, Operation.EDIT),
                "may_delete": editable and v.actor.may(module.api_name, Operation.DELETE),
                "saved": request.query_params.get("saved"),
            },
        )
