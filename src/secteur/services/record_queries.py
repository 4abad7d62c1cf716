"""Reading records: lists, search, counts, related lists and the recycle bin.

The visibility condition is part of every query (TER-28): a page is never filtered after it
is fetched, so paging, counts and `more_records` are right for every user.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import audit_repo, records_repo
from secteur.adapters.db import tables as t
from secteur.adapters.db.criteria_sql import compile_sql
from secteur.adapters.db.records_schema import RecordTable
from secteur.adapters.db.sqlfunc import contains
from secteur.domain.actor import Actor
from secteur.domain.audit import AuditEvent
from secteur.domain.criteria import (
    CriteriaError,
    EvalContext,
    parse_criteria,
    parse_search_string,
    validate_criteria,
)
from secteur.domain.directory import Operation
from secteur.domain.fields import DataType, Field, Kind, Module
from secteur.domain.records import StoredRecord
from secteur.domain.text import fold
from secteur.services import access
from secteur.services.app import Tx
from secteur.services.errors import NotFound, ServiceError

MAX_PER_PAGE = 200
# Zoho: page/per_page reach the first 2,000 records; beyond, a page token is needed.
DISCRETE_LIMIT = 2000
PAGE_TOKEN_TTL = timedelta(hours=24)
SYSTEM_SORTS = {"id": "id", "Created_Time": "created_time", "Modified_Time": "modified_time"}


@dataclass(frozen=True)
class ListQuery:
    """What a client asks of a record list (Zoho list parameters)."""

    page: int = 1
    per_page: int = MAX_PER_PAGE
    sort_by: str = "id"
    sort_order: str = "asc"
    ids: tuple[int, ...] = ()
    modified_since: datetime | None = None
    approved: str = "true"
    page_token: str | None = None
    conditions: tuple[sa.ColumnElement[bool], ...] = field(default=())
    # A stable description of `conditions`, bound into page tokens.
    fingerprint: str = ""


@dataclass(frozen=True)
class Page:
    records: list[StoredRecord]
    page: int
    per_page: int
    more_records: bool
    sort_by: str
    sort_order: str
    next_page_token: str | None
    previous_page_token: str | None
    page_token_expiry: datetime | None


def check_paging(page: int, per_page: int) -> None:
    if per_page < 1 or per_page > MAX_PER_PAGE:
        raise ServiceError(
            "INVALID_DATA",
            f"per_page must be between 1 and {MAX_PER_PAGE}",
            {"param_name": "per_page", "maximum_length": MAX_PER_PAGE},
        )
    if page < 1:
        raise ServiceError("INVALID_DATA", "page must be 1 or more", {"param_name": "page"})
    if page * per_page > DISCRETE_LIMIT:
        raise ServiceError(
            "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
            f"cannot fetch more than {DISCRETE_LIMIT} records with page; use page_token",
            {"limit": DISCRETE_LIMIT},
        )


def _sort_column(rt: RecordTable, sort_by: str) -> tuple[sa.ColumnElement[Any], str]:
    """The column a list sorts by, and the field's api name as answers spell it."""
    if sort_by in SYSTEM_SORTS:
        return rt.table.c[SYSTEM_SORTS[sort_by]], sort_by
    f = rt.module.field(sort_by)
    if f is None or f.kind in (Kind.MULTISELECT, Kind.TERRITORIES):
        raise ServiceError(
            "INVALID_DATA",
            "the field given for sort_by cannot be sorted",
            {"param_name": "sort_by", "api_name": sort_by},
        )
    return (rt.fold_column(f) if f.folded else rt.column(f)), f.api_name


class _Tokens:
    """Signed, expiring keyset positions: a token is only valid for the query it came from."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(("page-token:" + secret).encode()).digest()

    def encode(self, payload: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
        sig = hmac.new(self._key, body, hashlib.sha256).hexdigest()[:32]
        return body.decode().rstrip("=") + "." + sig

    def decode(self, token: str) -> dict[str, Any]:
        try:
            body, sig = token.rsplit(".", 1)
            padded = body + "=" * (-len(body) % 4)
            expected = hmac.new(self._key, padded.encode(), hashlib.sha256).hexdigest()[:32]
            # Bytes: compare_digest refuses str with non-ASCII characters.
            if not hmac.compare_digest(sig.encode(), expected.encode()):
                raise ValueError("bad signature")
            payload = json.loads(base64.urlsafe_b64decode(padded))
            if not isinstance(payload, dict):
                raise ValueError("bad payload")
            return payload
        except (ValueError, UnicodeError) as exc:
            raise ServiceError(
                "INVALID_DATA", "invalid page_token", {"param_name": "page_token"}
            ) from exc


def _jsonable_key(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if hasattr(value, "isoformat"):
        return {"d": value.isoformat()}
    return value


def _key_value(raw: Any) -> Any:
    if isinstance(raw, dict) and "dt" in raw:
        return datetime.fromisoformat(raw["dt"])
    if isinstance(raw, dict) and "d" in raw:
        return date.fromisoformat(raw["d"])
    return raw


def list_records(tx: Tx, actor: Actor, module: Module, query: ListQuery) -> Page:
    access.require_module(actor, module, Operation.VIEW)
    rt = tx.state.table(module)
    table = rt.table
    tokens = _Tokens(tx.app.signing_key)
    sort_col, sort_by = _sort_column(rt, query.sort_by)
    descending = query.sort_order.lower() == "desc"
    where: list[sa.ColumnElement[bool]] = list(query.conditions)
    visible = access.visible(tx, actor, rt)
    if visible is not None:
        where.append(visible)
    if query.ids:
        where.append(table.c.id.in_(query.ids))
    if query.modified_since is not None:
        where.append(table.c.modified_time > query.modified_since)
    approval = table.c.approval_state
    if query.approved == "true":
        where.append(sa.or_(approval.is_(None), approval == "approved"))
    elif query.approved == "false":
        where.append(approval.in_(("pending", "rejected")))
    fingerprint = hashlib.sha256(
        json.dumps(
            [
                module.api_name,
                query.sort_by,
                query.sort_order.lower(),
                list(query.ids),
                query.modified_since.isoformat() if query.modified_since else None,
                query.approved,
                query.fingerprint,
                actor.id,
            ]
        ).encode()
    ).hexdigest()[:16]

    order_nulls = sort_col.desc().nulls_first() if descending else sort_col.asc().nulls_last()
    order_id = table.c.id.desc() if descending else table.c.id.asc()
    select = records_repo.select_records(rt).add_columns(sort_col.label("_sort_key"))
    page, offset = query.page, (query.page - 1) * query.per_page
    if query.page_token:
        payload = tokens.decode(query.page_token)
        if payload.get("f") != fingerprint:
            raise ServiceError(
                "INVALID_DATA",
                "the page_token does not belong to this query",
                {"param_name": "page_token"},
            )
        if datetime.fromisoformat(payload["e"]) < tx.now:
            raise ServiceError(
                "INVALID_DATA", "the page_token has expired", {"param_name": "page_token"}
            )
        where.append(
            _after(sort_col, table.c.id, _key_value(payload["k"]), int(payload["i"]), descending)
        )
        page, offset = int(payload["p"]), 0
    else:
        check_paging(query.page, query.per_page)
    rows = records_repo.dict_rows(
        tx.conn.execute(
            select.where(*where)
            .order_by(order_nulls, order_id)
            .offset(offset)
            .limit(query.per_page + 1)
        )
    )
    more = len(rows) > query.per_page
    rows = rows[: query.per_page]
    records = [records_repo.stored(module, r) for r in rows]
    next_token, expiry = None, None
    if more and rows:
        expiry = tx.now + PAGE_TOKEN_TTL
        last = rows[-1]
        position = {
            "f": fingerprint,
            "k": _jsonable_key(last["_sort_key"]),
            "i": last["id"],
            "p": page + 1,
            "e": expiry.isoformat(),
        }
        next_token = tokens.encode(position)
    return Page(
        records,
        page,
        query.per_page,
        more,
        sort_by,
        query.sort_order.lower(),
        next_token,
        None,
        expiry,
    )


def _after(
    sort_col: sa.ColumnElement[Any],
    id_col: sa.ColumnElement[Any],
    key: Any,
    last_id: int,
    descending: bool,
) -> sa.ColumnElement[bool]:
    """Rows after (key, last_id) in the order (sort_col NULLS LAST|FIRST, id)."""
    if descending:
        # Order: NULLs first, then values descending; ties by id descending.
        if key is None:
            return sa.or_(sa.and_(sort_col.is_(None), id_col < last_id), sort_col.is_not(None))
        return sa.or_(sort_col < key, sa.and_(sort_col == key, id_col < last_id))
    if key is None:
        return sa.and_(sort_col.is_(None), id_col > last_id)
    return sa.or_(sort_col > key, sa.and_(sort_col == key, id_col > last_id), sort_col.is_(None))


# --- search -------------------------------------------------------------------------------


def eval_context(tx: Tx, actor: Actor) -> EvalContext:
    return EvalContext(
        now=tx.now, user_id=actor.id, time_zone=actor.user.time_zone or tx.state.org.time_zone
    )


def search_condition(
    tx: Tx,
    actor: Actor,
    module: Module,
    *,
    criteria: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    word: str | None = None,
) -> tuple[sa.ColumnElement[bool], str]:
    """The SQL condition of a records search, and a fingerprint of it for page tokens."""
    rt = tx.state.table(module)
    given = [
        (k, v)
        for k, v in (("criteria", criteria), ("email", email), ("phone", phone), ("word", word))
        if v is not None
    ]
    if not given:
        raise ServiceError(
            "REQUIRED_PARAM_MISSING",
            "one of the parameters is missing",
            {"param_name": "criteria/email/phone/word"},
        )
    if len(given) > 1:
        raise ServiceError(
            "INVALID_QUERY",
            "give only one of criteria, email, phone and word",
            {"param_name": given[1][0]},
        )
    kind, value = given[0]
    fingerprint = f"{kind}:{value}"
    if "\x00" in value:
        # No stored text holds NUL, and PostgreSQL refuses it as a parameter.
        raise ServiceError(
            "INVALID_QUERY", f"the {kind} given contains a NUL character", {"param_name": kind}
        )
    if kind == "criteria":
        try:
            tree = validate_criteria(parse_search_string(value), module)
        except CriteriaError as exc:
            first = exc.problems[0]
            raise ServiceError(
                "INVALID_QUERY", first.message, {"reason": first.message, **first.details}
            ) from exc
        except RecursionError:
            # The parser recurses per parenthesis; nesting this deep is never a valid tree.
            raise ServiceError(
                "INVALID_QUERY", "the criteria are nested too deeply", {"param_name": "criteria"}
            ) from None
        return compile_sql(tree, rt, eval_context(tx, actor)), fingerprint
    if not value.strip():
        raise ServiceError("INVALID_QUERY", f"the {kind} given is empty", {"param_name": kind})
    if kind == "word" and len(value.strip()) < 2:
        raise ServiceError(
            "INVALID_QUERY", "the word must have at least two characters", {"param_name": "word"}
        )
    wanted = {
        "email": (DataType.EMAIL,),
        "phone": (DataType.PHONE,),
        "word": (
            DataType.TEXT,
            DataType.EMAIL,
            DataType.PHONE,
            DataType.WEBSITE,
            DataType.PICKLIST,
            DataType.TEXTAREA,
        ),
    }[kind]
    fields = [f for f in module.fields if f.data_type in wanted]
    needle = fold(value.strip())
    if kind == "email":
        parts = [rt.fold_column(f) == needle for f in fields]
    else:
        parts = [_contains(rt.fold_column(f), needle) for f in fields]
    return (sa.or_(*parts) if parts else sa.false()), fingerprint


def criteria_condition(
    tx: Tx, actor: Actor, module: Module, criteria: object
) -> sa.ColumnElement[bool]:
    """The SQL condition of a criteria tree (JSON form), validated against the module."""
    try:
        tree = validate_criteria(parse_criteria(criteria, json_path="$.criteria"), module)
    except CriteriaError as exc:
        first = exc.problems[0]
        raise ServiceError(
            "INVALID_QUERY", first.message, {"reason": first.message, **first.details}
        ) from exc
    return compile_sql(tree, tx.state.table(module), eval_context(tx, actor))


def _contains(column: sa.ColumnElement[Any], needle: str) -> sa.ColumnElement[bool]:
    return sa.and_(column.is_not(None), contains(column, needle))


def count_records(
    tx: Tx, actor: Actor, module: Module, condition: sa.ColumnElement[bool] | None
) -> int:
    access.require_module(actor, module, Operation.VIEW)
    rt = tx.state.table(module)
    query = sa.select(sa.func.count()).select_from(rt.table)
    visible = access.visible(tx, actor, rt)
    if visible is not None:
        query = query.where(visible)
    if condition is not None:
        query = query.where(condition)
    return int(tx.conn.execute(query).scalar_one())


# --- related lists ------------------------------------------------------------------------


@dataclass(frozen=True)
class RelatedList:
    api_name: str
    parent: Module
    child: Module
    lookup: Field


def related_lists(tx: Tx, parent: Module) -> list[RelatedList]:
    """Related lists of a module: one per lookup field of another module that points to it."""
    found: list[RelatedList] = []
    for child in tx.state.modules:
        if child.api_name == parent.api_name:
            continue
        first = True
        for f in child.fields:
            if f.data_type is DataType.LOOKUP and f.lookup_module == parent.api_name:
                name = child.api_name if first else f"{child.api_name}_{f.api_name}"
                found.append(RelatedList(name, parent, child, f))
                first = False
    return found


def related_condition(
    tx: Tx, actor: Actor, parent: Module, parent_id: int, related: str
) -> tuple[RelatedList, sa.ColumnElement[bool]]:
    """The related list named `related` of a visible parent record, as a condition on children."""
    rl = next((r for r in related_lists(tx, parent) if r.api_name.lower() == related.lower()), None)
    if rl is None:
        raise ServiceError(
            "INVALID_URL_PATTERN",
            "Please check if the URL trying to access is a correct one",
            {},
            status=404,
        )
    parent_rt = tx.state.table(parent)
    access.require_module(actor, parent, Operation.VIEW)
    visible = access.visible(tx, actor, parent_rt)
    if not records_repo.fetch(tx.conn, parent_rt, [parent_id], visible):
        raise NotFound()
    child_rt = tx.state.table(rl.child)
    return rl, child_rt.column(rl.lookup) == parent_id


# --- recycle bin --------------------------------------------------------------------------


@dataclass(frozen=True)
class DeletedRecord:
    id: int
    display_name: str | None
    deleted_by: int | None
    created_by: int | None
    deleted_time: datetime


def deleted_records(
    tx: Tx, actor: Actor, module: Module, page: int, per_page: int
) -> tuple[list[DeletedRecord], bool]:
    access.require_module(actor, module, Operation.VIEW)
    check_paging(page, per_page)
    bin_ = t.deleted_records
    query = sa.select(bin_).where(bin_.c.module == module.api_name)
    owners = tx.state.directory.visible_owners(actor.user)
    if owners is not None:
        query = query.where(
            sa.or_(bin_.c.owner_id.in_(sorted(owners)), bin_.c.deleted_by == actor.id)
        )
    rows = tx.conn.execute(
        query.order_by(bin_.c.deleted_time.desc(), bin_.c.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    items = [
        DeletedRecord(r.id, r.display_name, r.deleted_by, r.created_by, r.deleted_time)
        for r in rows[:per_page]
    ]
    return items, len(rows) > per_page


def records_by_ids(tx: Tx, module: Module, ids: Sequence[int]) -> dict[int, StoredRecord]:
    return records_repo.fetch(tx.conn, tx.state.table(module), ids)


# --- audit timeline -----------------------------------------------------------------------


def timeline(tx: Tx, actor: Actor, module: Module, record_id: int) -> list[AuditEvent]:
    """The changes of a record the actor may see, newest first."""
    access.require_module(actor, module, Operation.VIEW)
    rt = tx.state.table(module)
    if not records_repo.fetch(tx.conn, rt, [record_id], access.visible(tx, actor, rt)):
        raise NotFound()
    return audit_repo.timeline(tx.conn, "record", record_id, module.api_name)


def recent_activity(tx: Tx, actor: Actor, limit: int = 12) -> list[AuditEvent]:
    """The latest record changes the actor may see, across the modules they can view.

    Reads a bounded window of recent events and keeps those on visible records, so a
    busy org costs the same as a quiet one.
    """
    events = audit_repo.recent(tx.conn, "record", limit * 8)
    by_module: dict[str, set[int]] = {}
    for e in events:
        if e.module:
            by_module.setdefault(e.module, set()).add(e.entity_id)
    seen: set[tuple[str, int]] = set()
    for name, ids in by_module.items():
        module = tx.state.module(name)
        if module is None or not actor.may(module.api_name, Operation.VIEW):
            continue
        rt = tx.state.table(module)
        visible = records_repo.fetch(tx.conn, rt, sorted(ids), access.visible(tx, actor, rt))
        seen.update((name, i) for i in visible)
    return [e for e in events if (e.module or "", e.entity_id) in seen][:limit]
