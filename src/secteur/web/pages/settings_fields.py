"""Settings › Fields: a module's fields, a form to add a custom field, and a field's page where
its label and picklist values (rename, add, remove, reorder) are edited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from secteur.domain.fields import CUSTOM_FIELD_TYPES, DEFAULT_LENGTH, DataType, Field, Kind, Module
from secteur.services import fields as service
from secteur.services.errors import ItemFailure, NotFound, ServiceError
from secteur.web.deps import Form, PageRoute, Viewer, read_form, viewer
from secteur.web.pages.settings import Problems, admin_only, chrome, id_of, problems_of
from secteur.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MODULES = ("Leads", "Accounts", "Contacts", "Deals")
TYPE_NAMES: dict[DataType, str] = {
    DataType.TEXT: "Single line",
    DataType.TEXTAREA: "Multi-line",
    DataType.EMAIL: "E-mail",
    DataType.PHONE: "Phone",
    DataType.WEBSITE: "URL",
    DataType.INTEGER: "Number",
    DataType.BIGINT: "Long number",
    DataType.DOUBLE: "Decimal",
    DataType.CURRENCY: "Currency",
    DataType.PERCENT: "Percent",
    DataType.BOOLEAN: "Checkbox",
    DataType.DATE: "Date",
    DataType.DATETIME: "Date/time",
    DataType.PICKLIST: "Pick list",
    DataType.MULTISELECTPICKLIST: "Multi-select pick list",
    DataType.LOOKUP: "Lookup (another record)",
    DataType.USERLOOKUP: "User",
    DataType.OWNERLOOKUP: "Owner",
    DataType.TERRITORIES: "Territories",
}
# In the order a person looks for a type, not the enum's.
CUSTOM_TYPES = [t for t in TYPE_NAMES if t in CUSTOM_FIELD_TYPES]
# Which extra inputs a type uses (the form shows them for these types only).
WITH_LENGTH = (DataType.TEXT, DataType.TEXTAREA)
WITH_DECIMALS = (DataType.DOUBLE, DataType.CURRENCY, DataType.PERCENT)
WITH_VALUES = (DataType.PICKLIST, DataType.MULTISELECTPICKLIST)
NEW_INPUTS = ("field_label", "data_type", "length", "decimal_place", "pick_list_values", "lookup")
BLANK_ROWS = 3


def _module(v: Viewer, name: str) -> Module:
    module = v.tx.state.module(name)
    if module is None or module.api_name not in MODULES:
        raise NotFound()
    return module


def _tabs(v: Viewer) -> list[Module]:
    return [m for m in (v.tx.state.module(n) for n in MODULES) if m is not None]


def _editable(f: Field) -> bool:
    return not f.system and f.kind is not Kind.TERRITORIES


@router.get("/settings/fields")
def fields_home(request: Request) -> Response:
    with viewer(request) as v:
        admin_only(v)
    return RedirectResponse(f"/settings/fields/{MODULES[0]}", 303)


@router.get("/settings/fields/{module_name}")
def fields_page(request: Request, module_name: str) -> Response:
    with viewer(request) as v:
        admin_only(v)
        module = _module(v, module_name)
        fields = sorted(
            (f for f in module.fields if f.kind is not Kind.TERRITORIES),
            key=lambda f: (f.system, f.custom, f.sequence),
        )
        return page(
            request,
            "settings/fields.html",
            {
                **chrome(v, "fields"),
                "module": module,
                "tabs": _tabs(v),
                "fields": fields,
                "type_names": TYPE_NAMES,
                "custom_count": sum(1 for f in fields if f.custom),
                "editable": {f.id for f in fields if _editable(f)},
                "saved": request.query_params.get("saved"),
                "field_name": request.query_params.get("field", ""),
            },
        )


# --- a new custom field ---------------------------------------------------------------------


def _new_page(
    request: Request,
    v: Viewer,
    module: Module,
    values: dict[str, str],
    problems: Problems,
    status: int = 200,
) -> Response:
    return page(
        request,
        "settings/field_new.html",
        {
            **chrome(v, "fields"),
            "module": module,
            "values": values,
            "problems": problems,
            "types": [(t.value, TYPE_NAMES[t]) for t in CUSTOM_TYPES],
            "with_length": " ".join(t.value for t in WITH_LENGTH),
            "with_decimals": " ".join(t.value for t in WITH_DECIMALS),
            "with_values": " ".join(t.value for t in WITH_VALUES),
            "max_length": {t.value: DEFAULT_LENGTH[t] for t in WITH_LENGTH},
            "lookup_modules": _tabs(v),
        },
        status,
    )


@router.get("/settings/fields/{module_name}/new")
def new_field_form(request: Request, module_name: str) -> Response:
    with viewer(request) as v:
        admin_only(v)
        module = _module(v, module_name)
        values = {name: "" for name in NEW_INPUTS}
        values["data_type"] = DataType.TEXT.value
        return _new_page(request, v, module, values, Problems())


def _number(text: str) -> int | str | None:
    """A whole number typed in a form; other text goes to the service, which refuses it."""
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else text


def field_item(form: Form) -> dict[str, Any]:
    """The field item an API client would send, from the new-field form."""
    data_type = form.get("data_type")
    item: dict[str, Any] = {"field_label": form.get("field_label").strip(), "data_type": data_type}
    if data_type in WITH_LENGTH:
        length = _number(form.get("length"))
        if length is not None:
            item["length"] = length
    if data_type in WITH_DECIMALS:
        places = _number(form.get("decimal_place"))
        if places is not None:
            item["decimal_place"] = places
    if data_type in WITH_VALUES:
        lines = [line.strip() for line in form.get("pick_list_values").splitlines()]
        item["pick_list_values"] = [{"display_value": line} for line in lines if line]
    if data_type == DataType.LOOKUP:
        item["lookup"] = {"module": {"api_name": form.get("lookup")}}
    return item


@router.post("/settings/fields/{module_name}/new")
async def create_field(request: Request, module_name: str) -> Response:
    form = await read_form(request)

    def save() -> Response:
        with viewer(request, write=True, form=form) as v:
            admin_only(v)
            module = _module(v, module_name)
            try:
                with v.tx.conn.begin_nested():
                    created = service.create_field(v.tx, v.actor, module, 0, field_item(form))
            except ItemFailure as exc:
                values = {name: form.get(name) for name in NEW_INPUTS}
                problems = problems_of(exc, NEW_INPUTS, {"api_name": "field_label"})
                return _new_page(request, v, module, values, problems, 400)
            return RedirectResponse(
                f"/settings/fields/{module.api_name}?saved=created&field={created.api_name}", 303
            )

    return await run_in_threadpool(save)


# --- one field: label and picklist values ---------------------------------------------------


@dataclass(frozen=True)
class ValueRow:
    """One line of the picklist editor: an existing value (with its id) or a new one."""

    id: str
    value: str
    removed: bool = False


def _field(module: Module, text: str) -> Field:
    f = service.get_field(module, id_of(text))
    if not _editable(f):
        raise NotFound()
    return f


def _field_page(
    request: Request,
    v: Viewer,
    module: Module,
    f: Field,
    *,
    label: str,
    rows: list[ValueRow],
    problems: Problems,
    status: int = 200,
) -> Response:
    return page(
        request,
        "settings/field_edit.html",
        {
            **chrome(v, "fields"),
            "module": module,
            "field": f,
            "type_name": TYPE_NAMES[f.data_type],
            "label": label,
            "rows": rows,
            "has_values": f.kind in (Kind.PICKLIST, Kind.MULTISELECT),
            "problems": problems,
            "saved": request.query_params.get("saved"),
        },
        status,
    )


@router.get("/settings/fields/{module_name}/{field_id}")
def field_page(request: Request, module_name: str, field_id: str) -> Response:
    with viewer(request) as v:
        admin_only(v)
        module = _module(v, module_name)
        f = _field(module, field_id)
        rows = [ValueRow(str(pv.id), pv.display_value) for pv in f.picklist]
        rows += [ValueRow("", "")] * BLANK_ROWS
        return _field_page(request, v, module, f, label=f.label, rows=rows, problems=Problems())


def _posted_rows(form: Form) -> list[ValueRow]:
    """The editor's rows in the order they were posted (the order the person arranged)."""
    ids, values = form.all("value_id"), form.all("value")
    removed = set(form.all("remove"))
    rows = []
    for index, value in enumerate(values):
        value_id = ids[index] if index < len(ids) else ""
        rows.append(ValueRow(value_id, value, bool(value_id) and value_id in removed))
    return rows


def values_item(rows: list[ValueRow]) -> list[dict[str, Any]]:
    """`pick_list_values` as the API takes them: kept values by id (renamed or not), new ones
    by their text; a removed or emptied value is left out."""
    out: list[dict[str, Any]] = []
    for row in rows:
        text = row.value.strip()
        if row.removed or not text:
            continue
        out.append({"id": row.id, "display_value": text} if row.id else {"display_value": text})
    return out


@router.post("/settings/fields/{module_name}/{field_id}")
async def update_field(request: Request, module_name: str, field_id: str) -> Response:
    form = await read_form(request)

    def save() -> Response:
        with viewer(request, write=True, form=form) as v:
            admin_only(v)
            module = _module(v, module_name)
            f = _field(module, field_id)
            rows = _posted_rows(form)
            item: dict[str, Any] = {"field_label": form.get("field_label").strip()}
            if f.kind in (Kind.PICKLIST, Kind.MULTISELECT):
                item["pick_list_values"] = values_item(rows)
            version = form.get("version")
            try:
                with v.tx.conn.begin_nested():
                    service.update_field(
                        v.tx,
                        v.actor,
                        module,
                        f.id,
                        item,
                        int(version) if version.isdigit() else None,
                    )
            except ServiceError as exc:
                if not isinstance(exc, ItemFailure) and exc.code != "CONFLICT":
                    raise
                if exc.code == "CONFLICT":
                    problems = Problems(
                        general=[
                            "Someone else changed this field since you opened the page. "
                            "Reload it to see their changes, then edit again."
                        ]
                    )
                elif "value" in exc.details:
                    problems = Problems(
                        general=[
                            f"“{exc.details['value']}” is used by records: it cannot be removed "
                            "or renamed while records hold it. Nothing was changed."
                        ]
                    )
                else:
                    problems = problems_of(exc, ("field_label",))
                return _field_page(
                    request,
                    v,
                    module,
                    f,
                    label=form.get("field_label"),
                    rows=rows,
                    problems=problems,
                    status=409 if exc.code == "CONFLICT" else 400,
                )
            return RedirectResponse(f"/settings/fields/{module.api_name}/{f.id}?saved=1", 303)

    return await run_in_threadpool(save)
