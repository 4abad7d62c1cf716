"""The fields territory rules read, kept in memory column by column and refreshed from what
changed (ADR 0009).

Reading a million records costs seconds on SQLite whatever columns are asked for (every page of
the table is read), and factorising their text costs as much again. A worker keeps the columns
between runs instead: a run first reads the records modified since the previous refresh
(through the `modified_time` index) and those deleted since, patches the columns, and checks
the record count; a count that does not match (a restore, a missed change) reloads everything.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from secteur.adapters.db.records_schema import RecordTable
from secteur.adapters.db.territory_snapshot import Snapshot, deleted_since, read, utc_text
from secteur.domain.criteria.evaluate import FLOAT_TYPES
from secteur.domain.fields import Field, Kind
from secteur.domain.territories.bulk import BoolColumn, Column, Columns, NumberColumn, TextColumn

# Rows modified this long before the last refresh are read again: a transaction that
# committed after the refresh with an earlier `modified_time` is not missed.
OVERLAP = timedelta(minutes=5)


class _Text:
    """A factorised text column that grows: codes per row, each distinct folded value once.

    `index` maps each distinct value to its code, in the order first seen; it starts with
    None → -1 so that one `setdefault` per value both finds and assigns codes.
    """

    def __init__(self) -> None:
        self.codes = np.empty(0, dtype=np.int32)
        self.index: dict[str | None, int] = {None: -1}
        # The evaluator's column, kept until the next change: it caches derived forms
        # (an array of the distinct values for vectorised text tests) between runs.
        self._column: TextColumn | None = None

    @property
    def categories(self) -> list[str]:
        return [value for value in self.index if value is not None]

    def encode(self, values: list[Any]) -> np.ndarray:
        index = self.index
        return np.fromiter(
            (index.setdefault(v, len(index) - 1) for v in values), np.int32, len(values)
        )

    def column(self) -> Column:
        if self._column is None:
            blank = self.index.get("")
            codes = self.codes
            empty = codes == -1 if blank is None else (codes == -1) | (codes == blank)
            self._column = TextColumn(codes, tuple(self.categories), empty)
        return self._column

    def take(self, keep: np.ndarray) -> None:
        self.codes = self.codes[keep]
        self._column = None

    def put(self, rows: np.ndarray, values: list[Any]) -> None:
        self.codes = self.codes.copy()  # the cached column keeps the codes it was built on
        self.codes[rows] = self.encode(values)
        self._column = None

    def extend(self, values: list[Any]) -> None:
        self.codes = np.concatenate([self.codes, self.encode(values)])
        self._column = None


class _Values:
    """A number, date, date-time or boolean column: values and an empty mask."""

    def __init__(self, f: Field) -> None:
        self.field = f
        self.values: np.ndarray = np.empty(0, dtype=_dtype(f))
        self.empty = np.empty(0, dtype=np.bool_)

    def convert(self, raw: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        f = self.field
        empty = np.fromiter((v is None for v in raw), np.bool_, len(raw))
        if f.kind is Kind.BOOLEAN:
            return np.fromiter((bool(v) for v in raw), np.bool_, len(raw)), empty
        if f.kind is Kind.DATE:
            days = [
                None if v is None else (v if isinstance(v, str) else v.isoformat()) for v in raw
            ]
            return np.array(days, dtype="datetime64[D]"), empty
        if f.kind is Kind.DATETIME:
            instants = [None if v is None else utc_text(v) for v in raw]
            return np.array(instants, dtype="datetime64[us]"), empty
        zero = 0.0 if f.data_type in FLOAT_TYPES else 0
        dtype = np.float64 if f.data_type in FLOAT_TYPES else np.int64
        return np.fromiter((zero if v is None else v for v in raw), dtype, len(raw)), empty

    def column(self) -> Column:
        if self.field.kind is Kind.BOOLEAN:
            return BoolColumn(self.values, self.empty)
        return NumberColumn(self.values, self.empty)

    def take(self, keep: np.ndarray) -> None:
        self.values, self.empty = self.values[keep], self.empty[keep]

    def put(self, rows: np.ndarray, raw: list[Any]) -> None:
        values, empty = self.convert(raw)
        # Copied, not changed in place: a run may still be evaluating the previous columns.
        self.values, self.empty = self.values.copy(), self.empty.copy()
        self.values[rows], self.empty[rows] = values, empty

    def extend(self, raw: list[Any]) -> None:
        values, empty = self.convert(raw)
        self.values = np.concatenate([self.values, values])
        self.empty = np.concatenate([self.empty, empty])


def _dtype(f: Field) -> Any:
    if f.kind is Kind.BOOLEAN:
        return np.bool_
    if f.kind is Kind.DATE:
        return "datetime64[D]"
    if f.kind is Kind.DATETIME:
        return "datetime64[us]"
    return np.float64 if f.data_type in FLOAT_TYPES else np.int64


def _holder(f: Field) -> _Text | _Values:
    return _Text() if f.folded else _Values(f)


@dataclass
class ModuleColumns:
    """One module's resident columns, as of `refreshed` (the database's view then)."""

    table: str
    ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    versions: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    holders: dict[str, _Text | _Values] = field(default_factory=dict)
    # Field api name → (column name, data type): a field recreated differently is reloaded.
    shapes: dict[str, tuple[str, str]] = field(default_factory=dict)
    refreshed: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bytes_per_record(self) -> float:
        n = max(len(self.ids), 1)
        total = self.ids.nbytes
        for holder in self.holders.values():
            if isinstance(holder, _Text):
                total += holder.codes.nbytes + sum(len(c) + 49 for c in holder.categories)
            else:
                total += holder.values.nbytes + holder.empty.nbytes
        return total / n

    def columns(self, fields: list[Field]) -> Columns:
        return Columns(
            len(self.ids), {f.api_name: self.holders[f.api_name].column() for f in fields}
        )


class ResidentColumns:
    """The resident columns of every module, for one app (one process)."""

    def __init__(self) -> None:
        self._modules: dict[str, ModuleColumns] = {}
        self._lock = threading.Lock()

    def current(
        self, conn: sa.Connection, rt: RecordTable, fields: list[Field], now: datetime
    ) -> tuple[np.ndarray, Columns]:
        """The module's ids and columns as of `conn`'s transaction, refreshed first."""
        with self._lock:
            module = self._modules.setdefault(rt.module.api_name, ModuleColumns(rt.table.name))
        with module.lock:
            _refresh(conn, rt, module, fields, now)
            return module.ids, module.columns(fields)


def _refresh(
    conn: sa.Connection, rt: RecordTable, module: ModuleColumns, fields: list[Field], now: datetime
) -> None:
    shapes = {f.api_name: (f.column, f.data_type.value) for f in fields}
    stale = [
        f
        for f in fields
        if f.api_name not in module.holders or module.shapes[f.api_name] != shapes[f.api_name]
    ]
    if module.refreshed is None or module.table != rt.table.name:
        _reload(conn, rt, module, fields, now)
        return
    if stale:
        _load_fields(conn, rt, module, stale)
    since = module.refreshed - OVERLAP
    gone = np.array(deleted_since(conn, rt.module.api_name, since), dtype=np.int64)
    if len(gone):
        keep = ~np.isin(module.ids, gone)
        module.ids, module.versions = module.ids[keep], module.versions[keep]
        for holder in module.holders.values():
            holder.take(keep)
    # Which records changed: their versions first (a narrow read), then only those records'
    # fields — after a mass import, runs in the overlap window do not re-read everything.
    recent = read(conn, rt, [], modified_since=since)
    at = np.searchsorted(module.ids, recent.ids)
    inside = at < len(module.ids)
    same = np.zeros(len(recent.ids), dtype=bool)
    same[inside] = (module.ids[at[inside]] == recent.ids[inside]) & (
        module.versions[at[inside]] == recent.versions[inside]
    )
    stale_ids = recent.ids[~same]
    if len(stale_ids):
        names = [_field_of(rt, name) for name in module.holders]
        _apply(module, read(conn, rt, names, ids=stale_ids.tolist()))
    count = conn.execute(sa.select(sa.func.count()).select_from(rt.table)).scalar_one()
    if count != len(module.ids):
        _reload(conn, rt, module, fields, now)
        return
    module.refreshed = now


def _field_of(rt: RecordTable, api_name: str) -> Field:
    found = rt.module.field(api_name)
    assert found is not None
    return found


def _reload(
    conn: sa.Connection, rt: RecordTable, module: ModuleColumns, fields: list[Field], now: datetime
) -> None:
    snapshot = read(conn, rt, fields)
    module.table = rt.table.name
    module.ids = snapshot.ids
    module.versions = snapshot.versions
    module.holders = {}
    module.shapes = {}
    _fill(module, fields, snapshot)
    module.refreshed = now


def _load_fields(
    conn: sa.Connection, rt: RecordTable, module: ModuleColumns, fields: list[Field]
) -> None:
    """Columns for fields the rules started to read: one read of those fields."""
    snapshot = read(conn, rt, fields)
    if len(snapshot.ids) != len(module.ids) or not np.array_equal(snapshot.ids, module.ids):
        module.refreshed = None  # records changed meanwhile: the caller reloads next time
    _fill(module, fields, snapshot)


def _fill(module: ModuleColumns, fields: list[Field], snapshot: Snapshot) -> None:
    for f in fields:
        holder = _holder(f)
        holder.extend(snapshot.raw[f.api_name])
        module.holders[f.api_name] = holder
        module.shapes[f.api_name] = (f.column, f.data_type.value)


def _apply(module: ModuleColumns, changed: Snapshot) -> None:
    at = np.searchsorted(module.ids, changed.ids)
    inside = at < len(module.ids)
    known = np.zeros(len(changed.ids), dtype=bool)
    known[inside] = module.ids[at[inside]] == changed.ids[inside]
    rows = at[known]
    known_positions = np.nonzero(known)[0].tolist()
    fresh = np.nonzero(~known)[0]
    if len(rows):
        module.versions = module.versions.copy()
        module.versions[rows] = changed.versions[known]
    for name, holder in module.holders.items():
        raw = changed.raw[name]
        if len(rows):
            holder.put(rows, [raw[i] for i in known_positions])
        if len(fresh):
            holder.extend([raw[i] for i in fresh.tolist()])
    if len(fresh):
        ids = np.concatenate([module.ids, changed.ids[fresh]])
        versions = np.concatenate([module.versions, changed.versions[fresh]])
        order = np.argsort(ids, kind="stable")
        module.ids, module.versions = ids[order], versions[order]
        if not np.array_equal(order, np.arange(len(ids))):
            for holder in module.holders.values():
                holder.take(order)
