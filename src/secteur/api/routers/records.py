"""Records: `/crm/v8/{module}` — list, get, insert, update, upsert, delete, search, count,
related lists and the recycle bin, with Zoho's envelopes, statuses and error placement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from secteur.api import openapi, responses
from secteur.api.body import envelope_doc, envelope_list, parse_json
from secteur.api.deps import Caller, CallerDep
from secteur.api.wire import Names, etag, parse_if_match, record_json, user_ref, when
from secteur.domain.actor import Actor
from secteur.domain.directory import Operation
from secteur.domain.fields import Field, Kind, Module
from secteur.domain.records import StoredRecord
from secteur.services import record_queries as queries
from secteur.services import records as service
from secteur.services import territories, territory_assignment
from secteur.services.app import Tx
from secteur.services.errors import NotFound, ServiceError

router = APIRouter(tags=["Records"], responses=openapi.ERRORS)

MAX_ID = 2**63 - 1
_RECORD_BODY = envelope_doc(
    "data",
    100,
    trigger={"type": "array", "items": {"type": "string"}},
    duplicate_check_fields={"type": "array", "items": {"type": "string"}},
)

FieldsParam = Annotated[str | None, Query(description="Comma-separated field API names")]
PageParam = Annotated[int, Query(ge=1, le=10_000)]
PerPageParam = Annotated[int, Query(ge=1, le=200)]


def any_case(*words: str) -> str:
    """A pattern for one of `words` in any letter case, spelt without an inline flag: the
    OpenAPI document's patterns are ECMA-262 regular expressions, which have none."""
    spelt = ("".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in w) for w in words)
    return f"^({'|'.join(spelt)})$"


SortOrderParam = Annotated[str, Query(pattern=any_case("asc", "desc"))]
ApprovedParam = Annotated[str, Query(pattern=any_case("true", "false", "both"))]


def _is_id(text: str) -> bool:
    # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
    return text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID


def record_id(value: str) -> int:
    """A record id from the path: digits within 64 bits, else the record does not exist."""
    if not _is_id(value):
        raise NotFound()
    return int(value)


def _ids(text: str | None, name: str = "ids") -> tuple[int, ...]:
    if text is None:
        return ()
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not all(_is_id(p) for p in parts):
        raise ServiceError("INVALID_DATA", f"invalid {name}", {"param_name": name})
    return tuple(int(p) for p in parts)


def _fields(module: Module, text: str | None) -> list[Field]:
    if not text:
        return list(module.fields)
    chosen: list[Field] = []
    for name in (n.strip() for n in text.split(",") if n.strip()):
        if name == "id":
            continue
        f = module.field(name)
        if f is None:
            raise ServiceError(
                "INVALID_DATA",
                "invalid field api_name in fields",
                {"param_name": "fields", "api_name": name},
            )
        chosen.append(f)
    return chosen


def _since(header: str | None) -> datetime | None:
    if header is None or not header.strip():
        return None
    text = header.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise ServiceError(
                "INVALID_DATA",
                "invalid If-Modified-Since header",
                {"param_name": "If-Modified-Since"},
            ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _territories(
    tx: Tx, records: Sequence[StoredRecord], fields: list[Field], zone: str
) -> dict[int, dict[str, Any]]:
    """TER-23: each record's `Territories` (present while territory management is on)."""
    if not any(f.kind is Kind.TERRITORIES for f in fields):
        return {}
    held = territory_assignment.record_territories(tx, [r.id for r in records])
    directory = tx.state.directory
    return {
        r.id: {
            "Territories": [
                {
                    "id": str(t.territory_id),
                    "Name": t.name,
                    "$assigned": "manually" if t.manual else "automatically",
                    "$assigned_by": user_ref(directory, t.assigned_by, email=False),
                    "$assigned_time": when(t.assigned_time, zone),
                }
                for t in held.get(r.id, [])
            ]
        }
        for r in records
    }


def _render(
    tx: Tx, actor: Actor, module: Module, records: Sequence[StoredRecord], fields: list[Field]
) -> list[dict[str, Any]]:
    names = Names.resolve(tx.conn, tx.state.tables, module, records, fields)
    editable = actor.may(module.api_name, Operation.EDIT)
    zone = actor.user.time_zone or tx.state.org.time_zone
    extra = _territories(tx, records, fields, zone)
    return [
        record_json(
            module,
            r,
            names=names,
            directory=tx.state.directory,
            time_zone=zone,
            fields=fields,
            editable=editable,
            extra=extra.get(r.id),
        )
        for r in records
    ]


def _page_response(
    tx: Tx, actor: Actor, module: Module, page: queries.Page, fields: list[Field]
) -> Response:
    if not page.records:
        return responses.no_content()
    zone = actor.user.time_zone or tx.state.org.time_zone
    return responses.ok(
        {
            "data": _render(tx, actor, module, page.records, fields),
            "info": {
                "per_page": page.per_page,
                "count": len(page.records),
                "page": page.page,
                "sort_by": page.sort_by,
                "sort_order": page.sort_order,
                "more_records": page.more_records,
                "next_page_token": page.next_page_token,
                "previous_page_token": page.previous_page_token,
                "page_token_expiry": when(page.page_token_expiry, zone),
            },
        }
    )


@router.get(
    "/crm/v8/{module}", responses=openapi.listing("data", not_modified=True), summary="List records"
)
def list_records(
    caller: CallerDep,
    module: str,
    fields: FieldsParam = None,
    ids: Annotated[str | None, Query()] = None,
    sort_by: Annotated[str, Query()] = "id",
    sort_order: SortOrderParam = "asc",
    page: PageParam = 1,
    per_page: PerPageParam = 200,
    page_token: Annotated[str | None, Query(max_length=2000)] = None,
    approved: ApprovedParam = "true",
    territory_id: Annotated[str | None, Query()] = None,
    include_child: Annotated[bool, Query()] = False,
    if_modified_since: Annotated[str | None, Header()] = None,
) -> Response:
    since = _since(if_modified_since)
    in_territory = _ids(territory_id, "territory_id") if territory_id is not None else None
    with caller.read() as (tx, actor):
        found = service.module_or_error(tx, module)
        chosen = _fields(found, fields)
        conditions: tuple[Any, ...] = ()
        if in_territory is not None:  # TER-30: the territory's records (and its children's)
            tree = territories.require_enabled(tx)
            if len(in_territory) != 1 or in_territory[0] not in tree:
                raise ServiceError(
                    "INVALID_DATA", "invalid territory_id", {"param_name": "territory_id"}
                )
            conditions = (
                territory_assignment.in_territory(tx, found, in_territory[0], include_child),
            )
        query = queries.ListQuery(
            page=page,
            per_page=per_page,
            sort_by=sort_by,
            sort_order=sort_order,
            ids=_ids(ids),
            modified_since=since,
            approved=approved.lower(),
            page_token=page_token,
            conditions=conditions,
            fingerprint=f"territory:{in_territory}:{include_child}" if conditions else "",
        )
        result = queries.list_records(tx, actor, found, query)
        if since is not None and not result.records and page == 1 and not page_token:
            return Response(status_code=304)
        return _page_response(tx, actor, found, result, chosen)


def _trigger(body: Any) -> list[str] | None:
    trigger = body.get("trigger") if isinstance(body, dict) else None
    if trigger is None:
        return None
    if not isinstance(trigger, list) or not all(isinstance(t, str) for t in trigger):
        raise ServiceError(
            "INVALID_DATA",
            "trigger must be an array of strings",
            {"api_name": "trigger", "json_path": "$.trigger", "expected_data_type": "jsonarray"},
        )
    return trigger


def _item_json(
    tx: Tx, result: service.ItemResult, zone: str, upsert: bool, users: dict[int, Any]
) -> dict[str, Any]:
    if not result.ok:
        return responses.error_body(result.code, result.message, result.details)
    record = result.record
    assert record is not None
    directory = tx.state.directory
    for user_id in (record.modified_by, record.created_by):
        if user_id not in users:
            users[user_id] = user_ref(directory, user_id, email=False)
    details = {
        "Modified_Time": when(record.modified_time, zone),
        "Modified_By": users[record.modified_by],
        "Created_Time": when(record.created_time, zone),
        "id": str(record.id),
        "Created_By": users[record.created_by],
        "$approval_state": record.approval_state or "approved",
    }
    extra: dict[str, Any] = {}
    if upsert:
        extra = {"action": result.action, "duplicate_field": result.duplicate_field}
    return responses.success_item(result.message, details, **extra)


def _write_response(
    tx: Tx, actor: Actor, results: list[service.ItemResult], success: int, upsert: bool = False
) -> Response:
    zone = actor.user.time_zone or tx.state.org.time_zone
    status = responses.batch_status([r.ok for r in results], success)
    users: dict[int, Any] = {}  # the few authors of a batch, rendered once
    items = [_item_json(tx, r, zone, upsert, users) for r in results]
    return responses.ok({"data": items}, status=status)


async def _write(
    caller: CallerDep, request: Request, module: str, mode: service.Mode, success: int
) -> Response:
    raw = await request.body()
    # The database work runs in a worker thread: a writer waiting for a row lock must not
    # hold up every other request of this process.
    return await run_in_threadpool(_write_in_tx, caller, raw, module, mode, success)


def _write_in_tx(
    caller: Caller, raw: bytes, module: str, mode: service.Mode, success: int
) -> Response:
    # Authenticate first, then the URL, then the body: a caller without a valid token
    # learns nothing about what the server would make of its request.
    with caller.write() as (tx, actor):
        found = service.module_or_error(tx, module)
        body = parse_json(raw)
        items = envelope_list(body, "data", service.MAX_BATCH)
        trigger = _trigger(body)
        duplicate_fields = _duplicate_fields(body) if mode is service.Mode.UPSERT else None
        results = service.write_records(
            tx,
            actor,
            found,
            items,
            mode=mode,
            trigger=trigger,
            duplicate_check_fields=duplicate_fields,
        )
        return _write_response(tx, actor, results, success, mode is service.Mode.UPSERT)


def _duplicate_fields(body: dict[str, Any]) -> list[str] | None:
    fields = body.get("duplicate_check_fields")
    if fields is not None and (
        not isinstance(fields, list) or not all(isinstance(d, str) for d in fields)
    ):
        raise ServiceError(
            "INVALID_DATA",
            "duplicate_check_fields must be an array of strings",
            {"api_name": "duplicate_check_fields", "json_path": "$.duplicate_check_fields"},
        )
    return fields


@router.post(
    "/crm/v8/{module}",
    responses=openapi.batch("data", 201),
    status_code=201,
    summary="Insert records (≤ 100)",
    openapi_extra=_RECORD_BODY,
)
async def insert_records(caller: CallerDep, request: Request, module: str) -> Response:
    return await _write(caller, request, module, service.Mode.INSERT, 201)


@router.put(
    "/crm/v8/{module}",
    responses=openapi.batch("data"),
    summary="Update records (≤ 100, each with its id)",
    openapi_extra=_RECORD_BODY,
)
async def update_records(caller: CallerDep, request: Request, module: str) -> Response:
    return await _write(caller, request, module, service.Mode.UPDATE, 200)


@router.post(
    "/crm/v8/{module}/upsert",
    responses=openapi.batch("data", 201),
    status_code=201,
    summary="Insert or update records by duplicate check",
    openapi_extra=_RECORD_BODY,
)
async def upsert_records(caller: CallerDep, request: Request, module: str) -> Response:
    return await _write(caller, request, module, service.Mode.UPSERT, 201)


@router.delete(
    "/crm/v8/{module}", responses=openapi.batch("data"), summary="Delete records (≤ 100 ids)"
)
def delete_records(
    caller: CallerDep, module: str, ids: Annotated[str | None, Query()] = None
) -> Response:
    wanted = _ids(ids)
    if not wanted:
        raise ServiceError(
            "REQUIRED_PARAM_MISSING", "the ids parameter is missing", {"param_name": "ids"}
        )
    with caller.write() as (tx, actor):
        found = service.module_or_error(tx, module)
        results = service.delete_records(tx, actor, found, wanted)
        status = responses.batch_status([r.ok for r in results], 200)
        return responses.ok(
            {
                "data": [
                    responses.success_item(r.message, r.details)
                    if r.ok
                    else responses.error_body(r.code, r.message, r.details)
                    for r in results
                ]
            },
            status=status,
        )


@router.get(
    "/crm/v8/{module}/search",
    responses=openapi.listing("data"),
    summary="Search records by criteria, email, phone or word",
)
def search_records(
    caller: CallerDep,
    module: str,
    criteria: Annotated[str | None, Query(max_length=10_000)] = None,
    email: Annotated[str | None, Query(max_length=200)] = None,
    phone: Annotated[str | None, Query(max_length=100)] = None,
    word: Annotated[str | None, Query(max_length=200)] = None,
    fields: FieldsParam = None,
    page: PageParam = 1,
    per_page: PerPageParam = 200,
    approved: ApprovedParam = "true",
) -> Response:
    with caller.read() as (tx, actor):
        found = service.module_or_error(tx, module)
        chosen = _fields(found, fields)
        condition, fingerprint = queries.search_condition(
            tx, actor, found, criteria=criteria, email=email, phone=phone, word=word
        )
        query = queries.ListQuery(
            page=page,
            per_page=per_page,
            approved=approved.lower(),
            conditions=(condition,),
            fingerprint=fingerprint,
        )
        return _page_response(
            tx, actor, found, queries.list_records(tx, actor, found, query), chosen
        )


@router.get(
    "/crm/v8/{module}/actions/count",
    responses=openapi.single("count", {"type": "integer"}),
    summary="Count records (optionally matching)",
)
def count_records(
    caller: CallerDep,
    module: str,
    criteria: Annotated[str | None, Query(max_length=10_000)] = None,
    email: Annotated[str | None, Query(max_length=200)] = None,
    phone: Annotated[str | None, Query(max_length=100)] = None,
    word: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    with caller.read() as (tx, actor):
        found = service.module_or_error(tx, module)
        condition = None
        if any(v is not None for v in (criteria, email, phone, word)):
            condition, _ = queries.search_condition(
                tx, actor, found, criteria=criteria, email=email, phone=phone, word=word
            )
        return responses.ok({"count": queries.count_records(tx, actor, found, condition)})


@router.get(
    "/crm/v8/{module}/deleted",
    responses=openapi.listing("data"),
    summary="Deleted records (recycle bin)",
)
def deleted_records(
    caller: CallerDep,
    module: str,
    type: Annotated[str, Query(pattern=any_case("all", "recycle", "permanent"))] = "all",
    page: PageParam = 1,
    per_page: PerPageParam = 200,
) -> Response:
    with caller.read() as (tx, actor):
        found = service.module_or_error(tx, module)
        if type.lower() == "permanent":
            return responses.no_content()
        items, more = queries.deleted_records(tx, actor, found, page, per_page)
        if not items:
            return responses.no_content()
        zone = actor.user.time_zone or tx.state.org.time_zone
        directory = tx.state.directory
        return responses.ok(
            {
                "data": [
                    {
                        "id": str(d.id),
                        "display_name": d.display_name,
                        "type": "recycle",
                        "deleted_by": user_ref(directory, d.deleted_by, email=False),
                        "created_by": user_ref(directory, d.created_by, email=False),
                        "deleted_time": when(d.deleted_time, zone),
                    }
                    for d in items
                ],
                "info": {
                    "per_page": per_page,
                    "count": len(items),
                    "page": page,
                    "more_records": more,
                },
            }
        )


@router.get("/crm/v8/{module}/{record}", responses=openapi.found("data"), summary="Get a record")
def get_record(caller: CallerDep, module: str, record: str, fields: FieldsParam = None) -> Response:
    with caller.read() as (tx, actor):
        found = service.module_or_error(tx, module)
        chosen = _fields(found, fields)
        stored = service.get_record(tx, actor, found, record_id(record))
        return responses.ok(
            {"data": _render(tx, actor, found, [stored], chosen)},
            headers={"ETag": etag(stored.version)},
        )


@router.put(
    "/crm/v8/{module}/{record}",
    responses=openapi.batch("data"),
    summary="Update a record",
    openapi_extra=_RECORD_BODY,
)
async def update_record(
    caller: CallerDep,
    request: Request,
    module: str,
    record: str,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_update_one_in_tx, caller, raw, module, record, if_match)


def _update_one_in_tx(
    caller: Caller, raw: bytes, module: str, record: str, if_match: str | None
) -> Response:
    with caller.write() as (tx, actor):
        found = service.module_or_error(tx, module)
        target = record_id(record)
        service.get_record(tx, actor, found, target)
        body = parse_json(raw)
        items = envelope_list(body, "data", 1)
        trigger = _trigger(body)
        item = items[0]
        if isinstance(item, dict):
            item = {**item, "id": str(target)}
        results = service.write_records(
            tx,
            actor,
            found,
            [item],
            mode=service.Mode.UPDATE,
            trigger=trigger,
            expected_version=parse_if_match(if_match),
        )
        return _write_response(tx, actor, results, 200)


@router.delete(
    "/crm/v8/{module}/{record}", responses=openapi.deleted("data"), summary="Delete a record"
)
def delete_record(
    caller: CallerDep, module: str, record: str, if_match: Annotated[str | None, Header()] = None
) -> Response:
    target = record_id(record)
    with caller.write() as (tx, actor):
        found = service.module_or_error(tx, module)
        service.get_record(tx, actor, found, target)
        results = service.delete_records(
            tx, actor, found, [target], expected_version=parse_if_match(if_match)
        )
        result = results[0]
        if not result.ok:
            raise ServiceError(result.code, result.message, result.details)
        return responses.ok({"data": [responses.success_item(result.message, result.details)]})


@router.get(
    "/crm/v8/{module}/{record}/{related}",
    responses=openapi.listing("data"),
    summary="Related records (Accounts → Contacts…)",
)
def related_records(
    caller: CallerDep,
    module: str,
    record: str,
    related: str,
    fields: FieldsParam = None,
    page: PageParam = 1,
    per_page: PerPageParam = 200,
) -> Response:
    with caller.read() as (tx, actor):
        parent = service.module_or_error(tx, module)
        rl, condition = queries.related_condition(tx, actor, parent, record_id(record), related)
        chosen = _fields(rl.child, fields)
        query = queries.ListQuery(
            page=page,
            per_page=per_page,
            approved="both",
            conditions=(condition,),
            fingerprint=f"related:{module}:{record}:{related}",
        )
        return _page_response(
            tx, actor, rl.child, queries.list_records(tx, actor, rl.child, query), chosen
        )
