"""Bulk reads and writes for run rules: record fields as columns, assignments as arrays.

Reads go through the driver's cursor, not SQLAlchemy rows, and fetch only the columns the
rules read (text fields through their folded shadow, which is what rules compare): on a
million records that is the difference between seconds and tens of seconds (ADR 0009).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.adapters.db.records_schema import RecordTable
from secteur.domain.fields import Field

# Rows fetched per round trip, and ids named per statement.
FETCH = 50_000
CHUNK = 5_000


@dataclass(frozen=True)
class Snapshot:
    ids: np.ndarray  # int64, ascending
    raw: dict[str, list[Any]]  # api name → the column as the database returned it
    versions: np.ndarray  # int64: each record's `version`, bumped by every update


def _source_column(f: Field) -> str:
    return f.fold_column if f.folded else f.column


def read(
    conn: sa.Connection,
    rt: RecordTable,
    fields: Sequence[Field],
    *,
    modified_since: datetime | None = None,
    ids: Sequence[int] | None = None,
) -> Snapshot:
    """Records' ids, versions and the given fields' stored values, in id order: every record,
    those modified since an instant (through the `modified_time` index), or those named."""
    quote = conn.dialect.identifier_preparer.quote
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    columns = ["id", "version", *(_source_column(f) for f in fields)]
    select = f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(rt.table.name)}"
    queries: list[tuple[str, tuple[Any, ...]]]
    if ids is not None:
        wanted = sorted(ids)
        queries = [
            (
                f"{select} WHERE id IN ({', '.join([marker] * len(chunk))}) ORDER BY id",
                tuple(chunk),
            )
            for chunk in (wanted[i : i + CHUNK] for i in range(0, len(wanted), CHUNK))
        ]
    elif modified_since is not None:
        stamp = modified_since.astimezone(UTC)
        param: Any = (
            stamp.strftime("%Y-%m-%d %H:%M:%S.%f") if conn.dialect.name == "sqlite" else stamp
        )
        queries = [(f"{select} WHERE modified_time >= {marker} ORDER BY id", (param,))]
    else:
        queries = [(f"{select} ORDER BY id", ())]
    driver = conn.connection.driver_connection
    assert driver is not None
    chunks: list[list[tuple[Any, ...]]] = []
    cursor = driver.cursor()
    try:
        for sql, params in queries:
            cursor.execute(sql, params)
            while True:
                rows = cursor.fetchmany(FETCH)
                if not rows:
                    break
                chunks.append(rows)
    finally:
        cursor.close()
    transposed: list[list[Any]] = [[] for _ in columns]
    for rows in chunks:
        for position, values in enumerate(zip(*rows, strict=True)):
            transposed[position].extend(values)
    return Snapshot(
        np.array(transposed[0], dtype=np.int64),
        {f.api_name: transposed[i + 2] for i, f in enumerate(fields)},
        np.array(transposed[1], dtype=np.int64),
    )


@dataclass(frozen=True)
class StoredPairs:
    record_ids: np.ndarray
    territory_ids: np.ndarray
    manual: np.ndarray


def read_assignments(conn: sa.Connection, module: str) -> StoredPairs:
    """Every stored (record, territory, manual) of a module, through the driver's cursor."""
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    driver = conn.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        cursor.execute(
            "SELECT record_id, territory_id, manual FROM record_territories "
            f"WHERE module = {marker}",
            (module,),
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    flat = np.fromiter((value for row in rows for value in row), np.int64, 3 * len(rows))
    table = flat.reshape(-1, 3)
    return StoredPairs(table[:, 0].copy(), table[:, 1].copy(), table[:, 2].astype(bool))


def delete_pairs(conn: sa.Connection, record_ids: np.ndarray, territory_ids: np.ndarray) -> None:
    """Remove automatic assignments, pair by pair."""
    if not len(record_ids):
        return
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    false = "0" if conn.dialect.name == "sqlite" else "false"
    conn.exec_driver_sql(
        f"DELETE FROM record_territories WHERE record_id = {marker} "
        f"AND territory_id = {marker} AND manual = {false}",
        list(zip(record_ids.tolist(), territory_ids.tolist(), strict=True)),
    )


def insert_pairs(
    conn: sa.Connection,
    module: str,
    record_ids: np.ndarray,
    territory_ids: np.ndarray,
    now: datetime,
) -> None:
    """Add automatic assignments in bulk (COPY on PostgreSQL)."""
    if not len(record_ids):
        return
    columns = "record_id, territory_id, module, manual, assigned_by, assigned_time"
    pairs = zip(record_ids.tolist(), territory_ids.tolist(), strict=True)
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        assert driver is not None
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY record_territories ({columns}) FROM STDIN") as copy,
        ):
            for record_id, territory_id in pairs:
                copy.write_row((record_id, territory_id, module, False, None, now))
        return
    stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    conn.exec_driver_sql(
        f"INSERT INTO record_territories ({columns}) VALUES (?, ?, ?, 0, NULL, ?)",
        [(record_id, territory_id, module, stamp) for record_id, territory_id in pairs],
    )


def changed_since(conn: sa.Connection, rt: RecordTable, since: datetime) -> list[int]:
    table = rt.table
    return [
        row[0] for row in conn.execute(sa.select(table.c.id).where(table.c.modified_time >= since))
    ]


def deleted_since(conn: sa.Connection, module: str, since: datetime) -> list[int]:
    bin_ = t.deleted_records
    return [
        row[0]
        for row in conn.execute(
            sa.select(bin_.c.id).where(bin_.c.module == module, bin_.c.deleted_time >= since)
        )
    ]


def utc_text(value: Any) -> str:
    """SQLite stores naive UTC text; PostgreSQL hands back aware datetimes."""
    if isinstance(value, str):
        return str(value).replace(" ", "T")
    instant: datetime = value
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat()
