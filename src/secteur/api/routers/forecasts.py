"""Forecasts (forecasts.md, a Secteur extension in Zoho's style): the org's forecast settings,
forecasts and their targets, live summaries, snapshots and what changed since one.

`/crm/v8/settings/forecast` needs a settings scope, `/crm/v8/forecasts…` `ZohoCRM.modules`
(core.md, Scopes). Registered before the records router, whose `/crm/v8/{module}/{record}`
would otherwise take these paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from secteur.api import openapi, responses
from secteur.api.batch import Outcome, batch_response, per_item
from secteur.api.body import envelope_doc, envelope_list, envelope_object, parse_json
from secteur.api.deps import Caller, CallerDep, require_scope
from secteur.api.wire import user_ref, when
from secteur.domain.actor import Actor
from secteur.domain.forecasts import Hierarchy, SummaryRow, Target
from secteur.domain.records import InvalidValue, reference_id
from secteur.domain.scopes import Access, Category
from secteur.services import forecasts as service
from secteur.services.app import Tx
from secteur.services.errors import NoPermission, NotFound, ServiceError, item_failure

router = APIRouter(tags=["Forecasts"], responses=openapi.ERRORS)

SETTINGS = "/crm/v8/settings/forecast"
FORECASTS = "/crm/v8/forecasts"
ONE = FORECASTS + "/{forecast}"
MAX_PER_CALL = 100
MAX_ID = 2**63 - 1


# --- helpers -------------------------------------------------------------------------------


def _id(text: str, name: str = "id") -> int:
    """An id from the path or the query: digits within 64 bits, else it names nothing."""
    text = text.strip()
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID):
        raise NotFound(f"the {name} given seems to be invalid", {"param_name": name})
    return int(text)


def _zone(tx: Tx, actor: Actor) -> str:
    return actor.user.time_zone or tx.state.org.time_zone


def _scope(actor: Actor, access: Access) -> None:
    require_scope(actor, Category.MODULES, "forecasts", access)


def _settings_scope(actor: Actor, access: Access) -> None:
    require_scope(actor, Category.SETTINGS, "forecast", access)


def _object(index: int, item: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise item_failure(
            "INVALID_DATA",
            "invalid data",
            json_path=f"$.{key}[{index}]",
            expected_data_type="jsonobject",
        )
    return item


def _number(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _node_ref(h: Hierarchy, node_id: int) -> dict[str, Any]:
    return {"id": str(node_id), "name": h.names.get(node_id)}


def forecast_json(tx: Tx, forecast: service.Forecast, zone: str) -> dict[str, Any]:
    directory = tx.state.directory
    first, last = forecast.period.months()
    return {
        "id": str(forecast.id),
        "hierarchy": forecast.hierarchy.value,
        "period": forecast.period.key,
        "period_label": forecast.period.label(),
        "months": {
            "from": f"{first // 100}-{first % 100:02d}",
            "to": f"{last // 100}-{last % 100:02d}",
        },
        "exclusions": forecast.exclusions.to_json(),
        "archived": forecast.archived,
        "created_by": user_ref(directory, forecast.created_by, email=False),
        "created_time": when(forecast.created_time, zone),
        "modified_by": user_ref(directory, forecast.modified_by, email=False),
        "modified_time": when(forecast.modified_time, zone),
    }


def summary_json(tx: Tx, h: Hierarchy, row: SummaryRow) -> dict[str, Any]:
    m = row.metrics
    return {
        "node": _node_ref(h, row.node_id),
        "user": user_ref(tx.state.directory, row.user_id, email=False),
        "target": _number(row.target),
        "achieved": _number(m.achieved),
        "pipeline": _number(m.pipeline),
        "weighted_pipeline": _number(m.weighted_pipeline),
        "best_case": _number(m.best_case),
        "commit": _number(m.commit),
        "achieved_pct": row.achieved_pct,
        "shortage_pct": row.shortage_pct,
        "star": row.star,
        "target_mismatch": row.target_mismatch,
        "target_not_set": row.target_not_set,
    }


def _target_json(tx: Tx, h: Hierarchy, target: Target) -> dict[str, Any]:
    directory = tx.state.directory
    return {
        "node": _node_ref(h, target.node_id),
        "user": user_ref(directory, target.user_id, email=False),
        "target": _number(target.amount),
        "set_by": user_ref(directory, target.set_by, email=False),
    }


def _object_body(key: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "object", "additionalProperties": True}},
    }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# An action without parameters: any body is ignored (the document declares one for every POST).
_NO_BODY = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


# --- settings (FC-1) -----------------------------------------------------------------------


@router.get(
    SETTINGS, responses=openapi.single("forecast", {"type": "object"}), summary="Forecast settings"
)
def get_settings(caller: CallerDep) -> Response:
    with caller.read() as (tx, actor):
        _settings_scope(actor, Access.READ)
        return responses.ok({"forecast": service.settings(tx).to_json()})


def _update_settings(caller: Caller, raw: bytes) -> Response:
    key = "forecast"
    with caller.write() as (tx, actor):
        _settings_scope(actor, Access.UPDATE)
        if not actor.admin:
            raise NoPermission("only administrators can change the forecast settings")
        wanted = envelope_object(parse_json(raw), key)
        try:
            updated = service.update_settings(tx, actor, wanted)
        except ServiceError as exc:
            if exc.status != 400:
                raise
            refused = responses.error_body(exc.code, exc.message, exc.details)
            return responses.ok({key: refused}, 400)
    return responses.ok(
        {key: responses.success_item("Forecast settings updated", updated.to_json())}
    )


@router.put(
    SETTINGS,
    responses=openapi.outcome("forecast"),
    summary="Change the forecast settings (FC-1): period, fiscal year, fields, type, stages",
    openapi_extra=_object_body("forecast"),
)
async def update_settings(caller: CallerDep, request: Request) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_update_settings, caller, raw)


# --- forecasts (FC-2, FC-3, FC-13) ---------------------------------------------------------


@router.get(
    FORECASTS,
    responses=openapi.found("forecasts", may_be_empty=True),
    summary="Forecasts, the current hierarchy's first (FC-2: the others are archived)",
)
def list_forecasts(caller: CallerDep) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, Access.READ)
        found = service.list_forecasts(tx, actor)
        if not found:
            return responses.no_content()
        zone = _zone(tx, actor)
        return responses.ok({"forecasts": [forecast_json(tx, f, zone) for f in found]})


def _create(caller: Caller, raw: bytes) -> Response:
    with caller.write() as (tx, actor):
        _scope(actor, Access.CREATE)
        items = envelope_list(parse_json(raw), "forecasts", MAX_PER_CALL)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            new_id = service.create_forecast(tx, actor, _object(index, item, "forecasts"), index)
            return "Forecast created successfully", {"id": str(new_id)}

        results = per_item(tx, items, handle)
    return batch_response("forecasts", results, 201)


@router.post(
    FORECASTS,
    responses=openapi.batch("forecasts", 201),
    status_code=201,
    summary="Create forecasts: one per hierarchy and period (FC-3)",
    openapi_extra=envelope_doc("forecasts", MAX_PER_CALL),
)
async def create_forecasts(caller: CallerDep, request: Request) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_create, caller, raw)


@router.get(ONE, responses=openapi.found("forecasts"), summary="A forecast")
def get_forecast(caller: CallerDep, forecast: str) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, Access.READ)
        found = service.get_forecast(tx, _id(forecast))
        return responses.ok({"forecasts": [forecast_json(tx, found, _zone(tx, actor))]})


def _update(caller: Caller, raw: bytes, forecast: str) -> Response:
    with caller.write() as (tx, actor):
        _scope(actor, Access.UPDATE)
        target = service.get_forecast(tx, _id(forecast)).id
        items = envelope_list(parse_json(raw), "forecasts", 1)

        def handle(index: int, item: Any) -> tuple[str, dict[str, Any]]:
            service.update_forecast(tx, actor, target, _object(index, item, "forecasts"), index)
            return "Forecast updated successfully", {"id": str(target)}

        results = per_item(tx, items, handle)
    return batch_response("forecasts", results)


@router.put(
    ONE,
    responses=openapi.batch("forecasts"),
    summary="Change a forecast's exclusions (FC-13)",
    openapi_extra=envelope_doc("forecasts", 1),
)
async def update_forecast(caller: CallerDep, request: Request, forecast: str) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_update, caller, raw, forecast)


@router.delete(ONE, responses=openapi.deleted("forecasts"), summary="Delete a forecast")
def delete_forecast(caller: CallerDep, forecast: str) -> Response:
    with caller.write() as (tx, actor):
        _scope(actor, Access.DELETE)
        target = _id(forecast)
        service.delete_forecast(tx, actor, target)
    done = responses.success_item("Forecast deleted successfully", {"id": str(target)})
    return responses.ok({"forecasts": [done]})


# --- targets (FC-4, FC-5) ------------------------------------------------------------------


@router.get(
    ONE + "/targets",
    responses=openapi.found("targets", may_be_empty=True),
    summary="A forecast's targets: per node, and per member within a node (FC-4)",
)
def get_targets(caller: CallerDep, forecast: str) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, Access.READ)
        found = service.get_forecast(tx, _id(forecast))
        h = service.hierarchy(tx, found.hierarchy)
        readable = [
            x for x in service.targets(tx, found.id) if service.may_read(tx, actor, h, x.node_id)
        ]
        if not readable:
            return responses.no_content()
        return responses.ok({"targets": [_target_json(tx, h, x) for x in readable]})


def _target_details(item: Any) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if isinstance(item, Mapping):
        for key in ("node", "user"):
            try:
                found = reference_id(item.get(key))
            except InvalidValue:
                found = None
            details[key] = None if found is None else {"id": str(found)}
    return details


def _set_targets(caller: Caller, raw: bytes, forecast: str) -> Response:
    with caller.write() as (tx, actor):
        _scope(actor, Access.UPDATE)
        target = service.get_forecast(tx, _id(forecast)).id
        items = envelope_list(parse_json(raw), "targets", MAX_PER_CALL)
        problems = service.set_targets(tx, actor, target, items)
    results: list[Outcome] = []
    for item, problem in zip(items, problems, strict=True):
        if problem is None:
            removed = isinstance(item, Mapping) and item.get("target") is None
            message = "Target removed" if removed else "Target set"
            results.append((True, responses.success_item(message, _target_details(item))))
        else:
            body = responses.error_body(problem.code, problem.message, problem.details)
            results.append((False, body))
    return batch_response("targets", results)


@router.put(
    ONE + "/targets",
    responses=openapi.batch("targets"),
    summary='Set targets (`"target": null` removes one); who may set which: FC-5',
    openapi_extra=envelope_doc("targets", MAX_PER_CALL),
)
async def set_targets(caller: CallerDep, request: Request, forecast: str) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_set_targets, caller, raw, forecast)


# --- summary (FC-6 … FC-13) ----------------------------------------------------------------


@router.get(
    ONE + "/summary",
    responses=openapi.found("forecast_summary"),
    summary="The node (default: the root), its child nodes and members with targets",
)
def get_summary(
    caller: CallerDep,
    forecast: str,
    node_id: Annotated[str | None, Query()] = None,
    include_child: Annotated[bool, Query()] = True,
) -> Response:
    node = None if node_id is None or not node_id.strip() else _id(node_id, "node_id")
    with caller.read() as (tx, actor):
        _scope(actor, Access.READ)
        found = service.get_forecast(tx, _id(forecast))
        rows = service.summary(tx, actor, found.id, node, include_child)
        h = service.hierarchy(tx, found.hierarchy)
        return responses.ok({"forecast_summary": [summary_json(tx, h, r) for r in rows]})


# --- snapshots (FC-12 Beyond) --------------------------------------------------------------


@router.post(
    ONE + "/actions/snapshot",
    responses=openapi.batch("snapshots", 201),
    status_code=201,
    summary="Keep the forecast's figures as they are now",
    openapi_extra=_NO_BODY,
)
def take_snapshot(caller: CallerDep, forecast: str) -> Response:
    with caller.write() as (tx, actor):
        _scope(actor, Access.CREATE)
        snapshot_id = service.take_snapshot(tx, actor, _id(forecast))
        taken = when(tx.now, _zone(tx, actor))
    done = responses.success_item("Snapshot taken", {"id": str(snapshot_id), "taken_time": taken})
    return responses.ok({"snapshots": [done]}, 201)


@router.get(
    ONE + "/snapshots",
    responses=openapi.found("snapshots", may_be_empty=True),
    summary="A forecast's snapshots, newest first",
)
def list_snapshots(caller: CallerDep, forecast: str) -> Response:
    with caller.read() as (tx, actor):
        _scope(actor, Access.READ)
        found = service.snapshots(tx, _id(forecast), actor)
        if not found:
            return responses.no_content()
        zone, directory = _zone(tx, actor), tx.state.directory
        return responses.ok(
            {
                "snapshots": [
                    {
                        "id": str(s.id),
                        "taken_time": when(s.taken_time, zone),
                        "taken_by": user_ref(directory, s.taken_by, email=False),
                        "scheduled": s.scheduled,
                    }
                    for s in found
                ]
            }
        )


def _change_json(change: service.Change) -> dict[str, Any]:
    return {
        "node": {"id": str(change.node_id)},
        "user": None if change.user_id is None else {"id": str(change.user_id)},
        "name": change.name,
        "before": dict(change.before),
        "after": dict(change.after),
        "delta": change.delta,
        "changed": change.changed,
    }


@router.get(
    ONE + "/snapshots/{snapshot}/compare",
    responses=openapi.found("forecast_changes"),
    summary="What changed since a snapshot: with another snapshot, or now (`with=now`)",
)
def compare(
    caller: CallerDep,
    forecast: str,
    snapshot: str,
    other: Annotated[str, Query(alias="with")] = "now",
) -> Response:
    against = None if other.strip().lower() == "now" else _id(other, "with")
    with caller.read() as (tx, actor):
        _scope(actor, Access.READ)
        changes = service.compare(tx, _id(forecast), _id(snapshot, "snapshot"), against, actor)
        return responses.ok({"forecast_changes": [_change_json(c) for c in changes]})
