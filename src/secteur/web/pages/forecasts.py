"""The forecast screen (issue 6): the hierarchy as a tree with target, achieved, pipeline and a
bar per node; drill-down to children, members and the deals behind each number; a chart of
achieved against target over the fiscal year; targets edited in place by those allowed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from secteur.domain.directory import Operation
from secteur.domain.forecasts import Category, Hierarchy, Period, SummaryRow
from secteur.domain.forecasts.model import OPEN_CATEGORIES
from secteur.services import forecast_views as views
from secteur.services import forecasts as service
from secteur.services import record_queries as queries
from secteur.services.errors import NotFound, ServiceError
from secteur.web.deps import Form, PageRoute, Viewer, read_form, viewer
from secteur.web.pages.records import reader_for
from secteur.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# What a figure's link lists: the categories behind it.
FIGURES: dict[str, tuple[Category, ...] | None] = {
    "achieved": (Category.CLOSED_WON,),
    "pipeline": tuple(sorted(OPEN_CATEGORIES)),
    "best_case": (Category.BEST_CASE,),
    "commit": (Category.COMMIT,),
    "all": None,
}
DEALS_PER_PAGE = 50
MAX_ID = 2**63 - 1


def _int(text: str | None) -> int | None:
    if text and text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID:
        return int(text)
    return None


def _period(v: Viewer, text: str | None) -> Period:
    if text:
        try:
            return service.parse_period(v.tx, text)
        except ServiceError:
            pass
    return service.current_period(v.tx)


@dataclass(frozen=True)
class Line:
    """One row of the summary table, ready to show."""

    row: SummaryRow
    name: str
    kind: str  # "node" | "child" | "member"
    children: int
    may_set: bool
    bar: dict[str, float]


def _bar(row: SummaryRow, scale: float) -> dict[str, float]:
    """Widths (%) of the achieved and pipeline segments and where the target falls."""
    if scale <= 0:
        return {"achieved": 0.0, "pipeline": 0.0, "target": -1.0}
    achieved = min(100.0, row.metrics.achieved / scale * 100)
    pipeline = min(100.0 - achieved, row.metrics.pipeline / scale * 100)
    target = row.target / scale * 100 if row.target else -1.0
    return {"achieved": round(achieved, 2), "pipeline": round(pipeline, 2), "target": target}


def _lines(
    v: Viewer, forecast: service.Forecast, h: Hierarchy, rows: list[SummaryRow]
) -> list[Line]:
    users = v.tx.state.directory.users
    keys = [(r.node_id, r.user_id) for r in rows]
    allowed = views.settable(v.tx, v.actor, forecast, h, keys)
    scale = max([max(r.target or 0, r.metrics.achieved + r.metrics.pipeline) for r in rows] or [0])
    lines = []
    for i, r in enumerate(rows):
        if r.user_id is not None:
            user = users.get(r.user_id)
            name, kind = (user.full_name if user else f"user {r.user_id}"), "member"
        else:
            name, kind = h.names.get(r.node_id, str(r.node_id)), "node" if i == 0 else "child"
        lines.append(
            Line(
                r,
                name,
                kind,
                len(h.children.get(r.node_id, ())),
                (r.node_id, r.user_id) in allowed,
                _bar(r, scale),
            )
        )
    return lines


def _chart(figures: list[views.PeriodFigures]) -> dict[str, Any]:
    """Bars per period: achieved and pipeline stacked, the target as a mark (SVG units)."""
    top = max([max(f.target or 0, f.achieved + f.pipeline) for f in figures] or [0]) or 1
    height, width, gap = 160.0, 56.0, 28.0
    bars = []
    for i, f in enumerate(figures):
        x = 40 + i * (width + gap)
        achieved_h = f.achieved / top * height
        pipeline_h = f.pipeline / top * height
        bars.append(
            {
                "figures": f,
                "x": x,
                "width": width,
                "achieved_y": 10 + height - achieved_h,
                "achieved_h": achieved_h,
                "pipeline_y": 10 + height - achieved_h - pipeline_h,
                "pipeline_h": pipeline_h,
                "target_y": 10 + height - (f.target or 0) / top * height if f.target else None,
            }
        )
    return {"bars": bars, "top": top, "height": height, "view_width": 40 + len(bars) * 84}


def _path(v: Viewer, h: Hierarchy, node: int) -> list[tuple[int, str, bool]]:
    """The node's ancestors, root first, and whether the viewer may open each."""
    out, current = [], h.parent.get(node)
    while current is not None:
        readable = service.may_read(v.tx, v.actor, h, current)
        out.append((current, h.names.get(current, str(current)), readable))
        current = h.parent.get(current)
    return list(reversed(out))


@router.get("/forecasts")
def forecast_page(request: Request) -> Response:
    with viewer(request) as v:
        q = request.query_params
        period = _period(v, q.get("period"))
        kind = service.current_kind(v.tx)
        h = service.hierarchy(v.tx, kind)
        forecast = service.find_forecast(v.tx, kind, period.key)
        chrome = v.chrome("forecasts")
        base: dict[str, Any] = {
            **chrome,
            "period": period,
            "previous": _previous(period),
            "next": period.next(),
            "kind": kind,
            "forecast": forecast,
            "archived": [f for f in service.list_forecasts(v.tx, v.actor) if f.archived][:8],
            "settings": service.settings(v.tx),
            "message": q.get("done"),
            "problem": q.get("problem"),
        }
        if forecast is None:
            return page(request, "forecasts/page.html", {**base, "lines": None})
        requested = _int(q.get("node"))
        node = requested if requested in h.parent else views.start_node(v.tx, v.actor, h)
        if node is None:
            return page(request, "forecasts/page.html", {**base, "lines": None, "no_access": True})
        rows = service.summary(v.tx, v.actor, forecast.id, node, True)
        lines = _lines(v, forecast, h, rows)
        return page(
            request,
            "forecasts/page.html",
            {
                **base,
                "node": node,
                "path": _path(v, h, node),
                "lines": lines,
                "head": lines[0],
                "stars": [line for line in lines if line.kind == "member" and line.row.star],
                "chart": _chart(views.year_figures(v.tx, v.actor, kind, node, period)),
                "snapshots": _snapshots(v, forecast, h),
            },
        )


def _snapshots(v: Viewer, forecast: service.Forecast, h: Hierarchy) -> list[Any] | None:
    """The latest snapshots, for those who may read the whole forecast (None: the others)."""
    if not service.may_read(v.tx, v.actor, h, h.root):
        return None
    return service.snapshots(v.tx, forecast.id, v.actor)[:5]


def _previous(period: Period) -> Period:
    if period.index > 1:
        return Period(
            period.kind, period.fiscal_year, period.index - 1, period.start_month, period.naming
        )
    last = 4 if period.kind == "quarterly" else 12
    return Period(period.kind, period.fiscal_year - 1, last, period.start_month, period.naming)


def _back(forecast_period: str, node: str, **extra: str) -> RedirectResponse:
    query = urlencode({"period": forecast_period, "node": node, **extra})
    return RedirectResponse(f"/forecasts?{query}", status_code=303)


@router.post("/forecasts")
async def create(request: Request) -> Response:
    form = await read_form(request)

    def run() -> Response:
        with viewer(request, write=True, form=form) as v:
            service.create_forecast(v.tx, v.actor, {"period": form.get("period")})
        return _back(form.get("period"), "", done="created")

    return await run_in_threadpool(run)


async def _forecast_action(request: Request, forecast_id: str, action: Any, done: str) -> Response:
    form = await read_form(request)
    fid = _int(forecast_id)
    if fid is None:
        raise NotFound()

    def run() -> Response:
        try:
            with viewer(request, write=True, form=form) as v:
                forecast = service.get_forecast(v.tx, fid)
                action(v, forecast, form)
                period = forecast.period.key
            return _back(period, form.get("node"), done=done)
        except ServiceError as exc:
            if exc.status in (403, 404):
                raise
            with viewer(request, form=form) as v:
                period = service.get_forecast(v.tx, fid).period.key
            return _back(period, form.get("node"), problem=exc.message)

    return await run_in_threadpool(run)


@router.post("/forecasts/{forecast_id}/targets")
async def set_target(request: Request, forecast_id: str) -> Response:
    """A target set in place; an empty box removes it."""

    def apply(v: Viewer, forecast: service.Forecast, form: Form) -> None:
        raw = form.get("target").strip().replace(",", "").replace(" ", "")
        target_node, user = form.get("target_node"), form.get("user")
        item: dict[str, Any] = {"node": {"id": target_node}, "target": None}
        if user:
            item["user"] = {"id": user}
        if raw:
            try:
                item["target"] = float(raw)
            except ValueError:
                raise ServiceError("INVALID_DATA", f"“{raw}” is not an amount", {}) from None
        (problem,) = service.set_targets(v.tx, v.actor, forecast.id, [item])
        if problem is not None:
            raise problem

    return await _forecast_action(request, forecast_id, apply, "target-saved")


@router.post("/forecasts/{forecast_id}/snapshot")
async def snapshot(request: Request, forecast_id: str) -> Response:
    def apply(v: Viewer, forecast: service.Forecast, form: Form) -> None:
        service.take_snapshot(v.tx, v.actor, forecast.id)

    return await _forecast_action(request, forecast_id, apply, "snapshot")


@router.get("/forecasts/{forecast_id}/deals")
def deals(request: Request, forecast_id: str) -> Response:
    """The deals behind one figure of one row (drill-down)."""
    with viewer(request) as v:
        fid = _int(forecast_id)
        if fid is None:
            raise NotFound()
        forecast = service.get_forecast(v.tx, fid)
        q = request.query_params
        figure = q.get("figure", "all")
        if figure not in FIGURES:
            figure = "all"
        node, user = _int(q.get("node")), _int(q.get("user"))
        condition = service.deals_condition(v.tx, v.actor, fid, node, user, FIGURES[figure])
        deals_module = v.tx.state.module("Deals")
        if deals_module is None or not v.actor.may("Deals", Operation.VIEW):
            raise NotFound()
        page_no = _int(q.get("page")) or 1
        total = queries.count_records(v.tx, v.actor, deals_module, condition)
        found = queries.list_records(
            v.tx,
            v.actor,
            deals_module,
            queries.ListQuery(
                page=min(page_no, max(1, 2000 // DEALS_PER_PAGE)),
                per_page=DEALS_PER_PAGE,
                sort_by="Amount",
                sort_order="desc",
                approved="both",
                conditions=(condition,),
            ),
        )
        columns = [
            f
            for f in (
                deals_module.field(n)
                for n in ("Deal_Name", "Account_Name", "Stage", "Amount", "Closing_Date", "Owner")
            )
            if f is not None
        ]
        reader = reader_for(v, deals_module, found.records, columns)
        h = service.hierarchy(v.tx, forecast.hierarchy)
        users = v.tx.state.directory.users
        return page(
            request,
            "forecasts/deals.html",
            {
                **v.chrome("forecasts"),
                "forecast": forecast,
                "figure": figure,
                "node_name": h.names.get(node or h.root, ""),
                "node": node or h.root,
                "user_name": users[user].full_name if user is not None and user in users else None,
                "columns": columns,
                "rows": [
                    (r, [reader.show(f, r.field_values().get(f.api_name)) for f in columns])
                    for r in found.records
                ],
                "total": total,
                "page_no": found.page,
                "more": found.more_records,
                "query": dict(q),
            },
        )
