"""Many-row inserts as one DB-API `executemany` of plain tuples.

SQLAlchemy's Core insert converts every parameter of every row through its type system; for
batches (imports, bulk API writes, audit rows) that conversion dominated the cost. This writer
converts each column once per value with a function chosen for the column type and dialect,
and hands the driver ready tuples (ADR 0002 has the figures).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db.engine import dumps
from secteur.adapters.db.types import UTCDateTime

Converter = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _sqlite_datetime() -> Converter:
    """The text SQLAlchemy's SQLite DATETIME stores, so both paths read and compare alike.

    A batch mostly repeats one timestamp (its transaction's `now`): the last one is remembered.
    """
    last: list[Any] = [None, None]

    def convert(value: datetime | None) -> str | None:
        if value is None:
            return None
        if value is not last[0]:
            last[0], last[1] = value, value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return str(last[1])

    return convert


def _iso(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _int_bool(value: Any) -> Any:
    return None if value is None else int(value)


def _json(value: Any) -> Any:
    return None if value is None else dumps(value)


def _converter(column: sa.Column[Any], dialect: str) -> Converter:
    kind = column.type
    if isinstance(kind, sa.JSON):
        return _json
    if dialect != "sqlite":
        return _identity
    if isinstance(kind, UTCDateTime):
        return _sqlite_datetime()
    if isinstance(kind, sa.Date):
        return _iso
    if isinstance(kind, sa.Boolean):
        return _int_bool
    return _identity


class BulkInsert:
    """An INSERT of the columns of `table` (but `database_assigned`), fed with mappings of
    column name → value."""

    def __init__(
        self, table: sa.Table, dialect: sa.Dialect, database_assigned: Collection[str] = ()
    ) -> None:
        quote = dialect.identifier_preparer.quote
        columns = [c for c in table.columns if c.name not in database_assigned]
        self.columns = [c.name for c in columns]
        converters = [_converter(c, dialect.name) for c in columns]
        # Most columns pass through: only the others are converted, by position.
        self._conversions = [(i, f) for i, f in enumerate(converters) if f is not _identity]
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        # PostgreSQL takes JSON columns' text through a cast.
        markers = [
            f"{marker}::json"
            if dialect.name == "postgresql" and isinstance(c.type, sa.JSON)
            else marker
            for c in columns
        ]
        self.sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in self.columns)}) "
            f"VALUES ({', '.join(markers)})"
        )

    def tuples(self, rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        columns, conversions = self.columns, self._conversions
        out = []
        for row in rows:
            values = list(map(row.get, columns))
            for position, convert in conversions:
                values[position] = convert(values[position])
            out.append(tuple(values))
        return out

    def execute(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            conn.exec_driver_sql(self.sql, self.tuples(rows))
