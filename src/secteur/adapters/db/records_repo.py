"""Records in their module tables: set-based reads and batched writes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.adapters.db.records_schema import RecordTable, from_row, to_row
from secteur.adapters.db.types import id_start
from secteur.domain.audit import jsonable
from secteur.domain.fields import Module
from secteur.domain.records import StoredRecord

SYSTEM_KEYS = (
    "id",
    "owner_id",
    "created_by",
    "modified_by",
    "created_time",
    "modified_time",
    "version",
    "approval_state",
    "process_flow",
)


def dict_rows(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    """Rows as plain dicts: much cheaper to read field by field than SQLAlchemy's mappings."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def stored(module: Module, row: Mapping[str, Any]) -> StoredRecord:
    return StoredRecord(
        id=row["id"],
        owner_id=row["owner_id"],
        created_by=row["created_by"],
        modified_by=row["modified_by"],
        created_time=row["created_time"],
        modified_time=row["modified_time"],
        version=row["version"],
        values=from_row(module, row),
        approval_state=row["approval_state"],
        process_flow=bool(row["process_flow"]),
    )


def data_columns(rt: RecordTable) -> list[sa.ColumnElement[Any]]:
    """Every column but the folded shadows (which only queries need)."""
    return [c for c in rt.table.c if not c.name.endswith("__ci")]


def select_records(rt: RecordTable) -> sa.Select[Any]:
    return sa.select(*data_columns(rt))


def fetch(
    conn: sa.Connection,
    rt: RecordTable,
    ids: Iterable[int],
    where: sa.ColumnElement[bool] | None = None,
) -> dict[int, StoredRecord]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    query = select_records(rt).where(rt.table.c.id.in_(wanted))
    if where is not None:
        query = query.where(where)
    return {r["id"]: stored(rt.module, r) for r in dict_rows(conn.execute(query))}


def fetch_page(conn: sa.Connection, rt: RecordTable, query: sa.Select[Any]) -> list[StoredRecord]:
    return [stored(rt.module, r) for r in dict_rows(conn.execute(query))]


def allocate_ids(conn: sa.Connection, table: sa.Table, count: int) -> list[int]:
    """Reserve `count` new ids of `table`, in increasing order, inside the caller's transaction.

    Ids are taken before the insert so that a batch is one plain executemany (no RETURNING,
    which SQLite would run row by row to keep the order).
    """
    if count == 0:
        return []
    if conn.dialect.name == "sqlite":
        # The write transaction holds SQLite's only write lock: nobody else can take these.
        row = conn.exec_driver_sql(
            "SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,)
        ).first()
        start = (int(row[0]) if row is not None else id_start(table.name) - 1) + 1
        if row is None:
            conn.exec_driver_sql(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                (table.name, start + count - 1),
            )
        else:
            conn.exec_driver_sql(
                "UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (start + count - 1, table.name)
            )
        return list(range(start, start + count))
    result = conn.execute(
        sa.text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
        ),
        {"table": table.name, "count": count},
    )
    return sorted(int(r[0]) for r in result)


def insert(
    conn: sa.Connection,
    rt: RecordTable,
    records: Sequence[Mapping[str, Any]],
    owners: Sequence[int],
    actor: int,
    now: datetime,
) -> list[int]:
    """Insert new records (canonical values) created by `actor` at `now`; their ids, in order."""
    if not records:
        return []
    ids = allocate_ids(conn, rt.table, len(records))
    encoder = rt.row_encoder(conn.dialect)
    encode, stamps = encoder.encode, encoder.stamps(actor, now)
    encoder.execute(
        conn,
        [
            encode(values, new_id, owner, stamps)
            for values, owner, new_id in zip(records, owners, ids, strict=True)
        ],
    )
    return ids


def update(
    conn: sa.Connection,
    rt: RecordTable,
    record_id: int,
    version: int,
    changes: Mapping[str, Any],
    system: Mapping[str, Any],
) -> bool:
    """Write changed values if the record is still at `version`; bumps the version."""
    table = rt.table
    result = conn.execute(
        table.update()
        .where(table.c.id == record_id, table.c.version == version)
        .values(**to_row(rt.module, changes), **system, version=table.c.version + 1)
    )
    return result.rowcount == 1


def move_to_recycle_bin(
    conn: sa.Connection, rt: RecordTable, records: Sequence[StoredRecord], now: datetime, actor: int
) -> None:
    if not records:
        return
    display = rt.module.display_field
    conn.execute(
        t.deleted_records.insert(),
        [
            {
                "module": rt.module.api_name,
                "id": r.id,
                "display_name": _display(r.values.get(display)),
                "data": {
                    "values": jsonable(dict(r.values)),
                    **{k: jsonable(getattr(r, k)) for k in SYSTEM_KEYS if k != "id"},
                },
                "owner_id": r.owner_id,
                "created_by": r.created_by,
                "deleted_by": actor,
                "deleted_time": now,
            }
            for r in records
        ],
    )
    conn.execute(rt.table.delete().where(rt.table.c.id.in_([r.id for r in records])))


def _display(value: Any) -> str | None:
    return None if value is None else str(value)[:255]


def display_names(conn: sa.Connection, rt: RecordTable, ids: Iterable[int]) -> dict[int, str]:
    """The display name (e.g. Account_Name) of each existing record among `ids`."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    f = rt.module.field(rt.module.display_field)
    assert f is not None
    names: dict[int, str] = {}
    for chunk_start in range(0, len(wanted), 500):
        chunk = wanted[chunk_start : chunk_start + 500]
        query = sa.select(rt.table.c.id, rt.column(f)).where(rt.table.c.id.in_(chunk))
        names.update({row[0]: row[1] for row in conn.execute(query)})
    return names


def existing_ids(conn: sa.Connection, rt: RecordTable, ids: Iterable[int]) -> set[int]:
    wanted = list(set(ids))
    if not wanted:
        return set()
    query = sa.select(rt.table.c.id).where(rt.table.c.id.in_(wanted))
    return {int(row[0]) for row in conn.execute(query)}
