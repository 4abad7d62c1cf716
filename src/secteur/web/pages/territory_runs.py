"""Territory pages for running rules (TER-24 … TER-26) and turning territory management on or
off (TER-1 … TER-3): the run form with recent runs, a job's live progress and its summary of
records gained and lost per territory, and the administrators' settings.

Every action goes through the services the API calls (`territory_runs.schedule`,
`territories.update_settings`), so a page never starts or accepts what the API would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from secteur.adapters.db import records_repo, territory_repo
from secteur.domain.territories import Tree
from secteur.domain.territories.model import RUNNABLE_MODULES
from secteur.services import jobs
from secteur.services import territories as service
from secteur.services import territory_runs as runs
from secteur.services.errors import NoPermission, NotFound, ServiceError
from secteur.services.territory_assignment import active_tree
from secteur.web.deps import Form, PageRoute, Viewer, read_form, viewer
from secteur.web.pages import settings as settings_pages
from secteur.web.pages.records import zone_of
from secteur.web.render import SECURITY_HEADERS, environment, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

KINDS = (runs.RUN_RULES, runs.PREVIEW)
RECENT = 12
# Records listed at a time when a territory's line of a preview is opened.
RECORDS_AT_ONCE = 100
MAX_ID = 2**63 - 1
LIMIT_KEYS = ("Accounts", "Contacts", "Leads", "Deals", "users_per_territory")
Scope = Literal["all", "territories", "criteria"]


def _manager(v: Viewer) -> Viewer:
    service.require_manager(v.actor)
    return v


def _admin(v: Viewer) -> Viewer:
    if not v.actor.admin:
        raise NoPermission("only administrators can turn territory management on or off")
    return v


def _id(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID):
        raise NotFound()
    return int(text)


# --- the run form -------------------------------------------------------------------------


def _scope(text: Any) -> Scope:
    if text == "territories":
        return "territories"
    if text == "criteria":
        return "criteria"
    return "all"


@dataclass(frozen=True)
class RunForm:
    """What the run form holds: the module, which records, and (for criteria) the JSON text."""

    module: str = "Accounts"
    scope: Scope = "all"
    territories: tuple[str, ...] = ()
    include_child: bool = True
    criteria: str = ""

    @classmethod
    def posted(cls, form: Form) -> RunForm:
        return cls(
            module=form.get("module", "Accounts"),
            scope=_scope(form.get("scope")),
            territories=tuple(t for t in form.all("territories") if t),
            include_child=form.get("include_child") == "1",
            criteria=form.get("criteria").strip(),
        )

    @classmethod
    def of_job(cls, payload: Mapping[str, Any]) -> RunForm:
        """The form that schedules the same run again (a preview's "Run these rules now")."""
        criteria = payload.get("criteria")
        return cls(
            module=str(payload.get("module") or "Accounts"),
            scope=_scope(payload.get("based_on")),
            territories=tuple(str(t) for t in payload.get("territories") or ()),
            include_child=bool(payload.get("include_child")),
            criteria=json.dumps(criteria, indent=2, ensure_ascii=False) if criteria else "",
        )

    def body(self, *, preview: bool) -> dict[str, Any]:
        """The API's request body (TER-24); the service checks everything else."""
        spec: dict[str, Any] = {"module": {"api_name": self.module}}
        if self.scope == "territories":
            spec["based_on"] = "territories"
            spec["territories"] = [{"id": t} for t in self.territories]
            spec["include_child"] = self.include_child
        elif self.scope == "criteria":
            spec["based_on"] = "criteria"
            try:
                spec["criteria"] = json.loads(self.criteria) if self.criteria else None
            except json.JSONDecodeError as exc:
                raise ServiceError(
                    "INVALID_DATA",
                    f"the criteria are not valid JSON ({exc.msg} at line {exc.lineno}, "
                    f"column {exc.colno})",
                    {"api_name": "criteria"},
                ) from None
        if preview:
            spec["record_ids"] = True
        return {"run_rules": spec}


@dataclass(frozen=True)
class Option:
    id: int
    name: str
    depth: int


def _options(tree: Tree) -> list[Option]:
    depth = tree.depth
    return [Option(tid, tree.by_id[tid].name, depth[tid]) for tid in tree.preorder]


@dataclass(frozen=True)
class RunLine:
    """One job in the list of recent runs."""

    job: jobs.Job
    preview: bool
    module: str
    scope: str
    by: str
    outcome: str


def _scope_words(payload: Mapping[str, Any], tree: Tree | None) -> str:
    based_on = payload.get("based_on")
    if based_on == "criteria":
        return "Records matching criteria"
    if based_on == "territories":
        ids = [int(t) for t in payload.get("territories") or ()]
        names = [
            tree.by_id[i].name if tree is not None and i in tree.by_id else f"#{i}" for i in ids
        ]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        return f"In {shown}" + (" and below" if payload.get("include_child") else "")
    return "All records"


def _outcome(job: jobs.Job) -> str:
    if job.status is jobs.Status.FAILED:
        return "Failed"
    if job.result is None:
        return ""
    result = job.result
    if "gained" in result:
        return f"{result['gained']:,} gained · {result['lost']:,} lost"
    return f"{result.get('changed_records', 0):,} records changed"


def _user_name(v: Viewer, user_id: int | None) -> str:
    user = v.tx.state.directory.users.get(user_id) if user_id is not None else None
    return user.full_name if user is not None else "System"


def _recent(v: Viewer) -> list[RunLine]:
    tree = v.tx.state.territory.tree
    return [
        RunLine(
            job=job,
            preview=job.kind == runs.PREVIEW,
            module=str(job.payload.get("module", "")),
            scope=_scope_words(job.payload, tree),
            by=_user_name(v, job.created_by),
            outcome=_outcome(job),
        )
        for job in jobs.recent(v.tx, KINDS, RECENT)
    ]


def _run_page(
    request: Request,
    v: Viewer,
    form: RunForm,
    *,
    problem: str | None = None,
    already: int | None = None,
    status: int = 200,
) -> Response:
    tree = active_tree(v.tx)
    return page(
        request,
        "territories/run.html",
        {
            **v.chrome("territories"),
            "enabled": tree is not None,
            "cascade": service.settings(v.tx).cascade,
            "form": form,
            "modules": RUNNABLE_MODULES,
            "options": _options(tree) if tree is not None else [],
            "problem": problem,
            "already": already,
            "recent": _recent(v),
            "zone": zone_of(v),
        },
        status,
    )


@router.get("/territories/run")
def run_form(
    request: Request,
    module: Annotated[str, Query(max_length=40)] = "Accounts",
    territory: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    with viewer(request) as v:
        _manager(v)
        form = RunForm(
            module=module if module in RUNNABLE_MODULES else "Accounts",
            scope="territories" if territory else "all",
            territories=(territory,) if territory else (),
        )
        return _run_page(request, v, form)


@router.post("/territories/run")
async def start_run(request: Request) -> Response:
    form = await read_form(request)

    def start() -> Response:
        with viewer(request, write=True, form=form) as v:
            _manager(v)
            posted = RunForm.posted(form)
            preview = form.get("action") == "preview"
            try:
                job_id = runs.schedule(v.tx, v.actor, posted.body(preview=preview), preview=preview)
            except runs.AlreadyScheduled as exc:
                running = _id(str(exc.details["job_id"]))
                return _run_page(request, v, posted, already=running, status=409)
            except ServiceError as exc:
                if exc.status != 400 or exc.code == "FEATURE_NOT_ENABLED":
                    raise
                return _run_page(request, v, posted, problem=_problem(exc), status=400)
            return RedirectResponse(f"/territories/jobs/{job_id}", 303)

    return await run_in_threadpool(start)


def _problem(exc: ServiceError) -> str:
    where = str(exc.details.get("json_path") or exc.details.get("api_name") or "")
    text = settings_pages.sentence(exc.message)
    if where.startswith("$.run_rules.criteria"):
        return f"Criteria: {text}"
    if where.startswith("$.run_rules.territories"):
        if exc.code == "MANDATORY_NOT_FOUND":
            return "Choose at least one territory."
        return f"Territories: {exc.message}."
    return text


# --- a job: live progress, then the summary --------------------------------------------------


@dataclass(frozen=True)
class Line:
    """A territory's line of a summary: records gained and lost (TER-26)."""

    id: str
    name: str
    path: str  # the ancestors below the root, for a territory shown without its parents
    gained: int
    lost: int
    listed: bool  # the preview kept record ids: the line opens onto them
    truncated: bool


@dataclass(frozen=True)
class JobView:
    job: jobs.Job
    preview: bool
    module: str
    scope: str
    by: str
    pending: bool
    percent: int
    elapsed: str
    lines: list[Line]
    totals: Mapping[str, int]
    form: RunForm


def _elapsed(start: datetime | None, end: datetime) -> str:
    if start is None:
        return ""
    seconds = max(0, int((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _path(tree: Tree | None, territory_id: int) -> str:
    if tree is None or territory_id not in tree:
        return ""
    above = list(reversed(tree.ancestors(territory_id)))[1:]
    return " › ".join(tree.by_id[i].name for i in above)


def _lines(result: Mapping[str, Any] | None, tree: Tree | None) -> list[Line]:
    out = []
    for item in (result or {}).get("preview") or (result or {}).get("territories") or ():
        ids = item.get("record_ids")
        territory_id = str(item["territory"]["id"])
        out.append(
            Line(
                id=territory_id,
                name=str(item["territory"]["name"]),
                path=_path(tree, int(territory_id)),
                gained=int(item["gained"]),
                lost=int(item["lost"]),
                listed=isinstance(ids, Mapping),
                truncated=bool(ids.get("truncated")) if isinstance(ids, Mapping) else False,
            )
        )
    return out


def _job_view(v: Viewer, job: jobs.Job) -> JobView:
    pending = job.status in (jobs.Status.QUEUED, jobs.Status.IN_PROGRESS)
    end = job.finished_time or v.tx.now
    result = job.result or {}
    totals = {
        key: int(result[key])
        for key in ("records", "in_scope", "gained", "lost", "changed_records")
        if key in result
    }
    return JobView(
        job=job,
        preview=job.kind == runs.PREVIEW,
        module=str(job.payload.get("module", "")),
        scope=_scope_words(job.payload, v.tx.state.territory.tree),
        by=_user_name(v, job.created_by),
        pending=pending,
        percent=min(100, job.done * 100 // job.total) if job.total else 0,
        elapsed=_elapsed(job.started_time or job.created_time, end),
        lines=_lines(job.result, v.tx.state.territory.tree),
        totals=totals,
        form=RunForm.of_job(job.payload),
    )


def _job(v: Viewer, job_id: str) -> jobs.Job:
    found = jobs.get(v.tx, _id(job_id))
    if found is None or found.kind not in KINDS:
        raise NotFound()
    return found


@router.get("/territories/jobs/{job_id}")
def job_page(request: Request, job_id: str) -> Response:
    with viewer(request) as v:
        _manager(v)
        view = _job_view(v, _job(v, job_id))
        return page(
            request,
            "territories/run_job.html",
            {**v.chrome("territories"), "view": view, "zone": zone_of(v)},
        )


@router.get("/territories/jobs/{job_id}/progress")
def job_progress(request: Request, job_id: str) -> Response:
    """The job's body, polled every second while it runs; once finished, it stops polling."""
    with viewer(request) as v:
        _manager(v)
        view = _job_view(v, _job(v, job_id))
        html = (
            environment()
            .get_template("territories/run_job_body.html")
            .render(view=view, csrf=v.csrf, zone=zone_of(v))
        )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@dataclass(frozen=True)
class Listed:
    id: int
    name: str
    exists: bool


@router.get("/territories/jobs/{job_id}/records")
def job_records(
    request: Request,
    job_id: str,
    territory: Annotated[str, Query(max_length=20)],
    direction: Annotated[Literal["gained", "lost"], Query()] = "gained",
    offset: Annotated[int, Query(ge=0, le=runs.PREVIEW_IDS)] = 0,
) -> Response:
    """A preview's records for one territory and direction, with their names, a page at a time."""
    with viewer(request) as v:
        _manager(v)
        job = _job(v, job_id)
        preview = (job.result or {}).get("preview") or ()
        item = next((i for i in preview if i["territory"]["id"] == territory), None)
        ids_of = item.get("record_ids") if item is not None else None
        if not isinstance(ids_of, Mapping):
            raise NotFound()
        all_ids: Sequence[str] = ids_of.get(direction) or ()
        chunk = [int(i) for i in all_ids[offset : offset + RECORDS_AT_ONCE]]
        module = v.tx.state.module(str(job.payload.get("module", "")))
        if module is None:
            raise NotFound()
        names = records_repo.display_names(v.tx.conn, v.tx.state.table(module), chunk)
        html = (
            environment()
            .get_template("territories/run_records.html")
            .render(
                job=job,
                module=module,
                territory=territory,
                direction=direction,
                records=[Listed(i, names.get(i) or "", i in names) for i in chunk],
                next_offset=offset + RECORDS_AT_ONCE
                if offset + RECORDS_AT_ONCE < len(all_ids)
                else None,
                remaining=max(0, len(all_ids) - offset - RECORDS_AT_ONCE),
                first=offset == 0,
                truncated=bool(ids_of.get("truncated")),
                cap=runs.PREVIEW_IDS,
            )
        )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


# --- settings (TER-1 … TER-3) ----------------------------------------------------------------


def _settings_page(
    request: Request,
    v: Viewer,
    *,
    problem: str | None = None,
    limit_problems: Mapping[str, str] | None = None,
    limits: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    current = service.settings(v.tx)
    kept = v.tx.state.territory.tree
    members = territory_repo.member_counts(v.tx.conn) if kept is not None else {}
    shown_limits = limits or {k: str(v_) for k, v_ in current.limits.to_json().items()}
    return page(
        request,
        "territories/settings.html",
        {
            **settings_pages.chrome(v, "territories"),
            "current": current,
            "kept": len(kept) if kept is not None else 0,
            "members": sum(members.values()),
            "limits": shown_limits,
            "limit_keys": LIMIT_KEYS,
            "problem": problem,
            "limit_problems": limit_problems or {},
            "saved": request.query_params.get("saved", ""),
        },
        status,
    )


@router.get("/territories/settings")
def settings_page(request: Request) -> Response:
    with viewer(request) as v:
        _admin(v)
        return _settings_page(request, v)


def _limit_value(text: str) -> int | str:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else text


@router.post("/territories/settings")
async def save_settings(request: Request) -> Response:
    form = await read_form(request)

    def save() -> Response:
        with viewer(request, write=True, form=form) as v:
            _admin(v)
            action = form.get("action")
            body: dict[str, Any]
            if action == "enable":
                body = {"enabled": True}
                if v.tx.state.territory.tree is None:  # TER-2: only a first enabling builds
                    body["start_from"] = form.get("start_from", "scratch")
            elif action == "disable":
                body = {"enabled": False}
            elif action == "options":
                body = {
                    "deal_rule": form.get("deal_rule") == "1",
                    "cascade": form.get("cascade") == "1",
                    "limits": {k: _limit_value(form.get(f"limit_{k}")) for k in LIMIT_KEYS},
                }
            else:
                raise NotFound()
            try:
                service.update_settings(v.tx, v.actor, body)
            except ServiceError as exc:
                if exc.status != 400:
                    raise
                key = str(exc.details.get("api_name", "")).removeprefix("limits.")
                posted = {k: form.get(f"limit_{k}") for k in LIMIT_KEYS}
                if key in LIMIT_KEYS:
                    return _settings_page(
                        request,
                        v,
                        limit_problems={key: "A whole number, 1 or more."},
                        limits=posted,
                        status=400,
                    )
                return _settings_page(
                    request, v, problem=settings_pages.sentence(exc.message), status=400
                )
            saved = {"enable": "enabled", "disable": "disabled"}.get(action, "options")
            return RedirectResponse(f"/territories/settings?saved={saved}", 303)

    return await run_in_threadpool(save)
