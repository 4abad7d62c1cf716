"""A module's records as driver-ready INSERT tuples, straight from canonical values.

Bulk writes (imports, API batches) spend most of their Python time turning values into
parameters. The encoder of a module is a function generated once per table layout and
dialect: one expression per column, no intermediate dictionaries, no per-value dispatch
(ADR 0002 has the figures). Field api names enter the generated code only through `repr`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db.engine import dumps
from secteur.domain.fields import Field, Kind, Module
from secteur.domain.text import fold, fold_multiselect

# System columns of every record table, in the order `encode` expects them.
SYSTEM = (
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

# From this many rows PostgreSQL's COPY beats a multi-row INSERT (it costs a round trip more).
COPY_FROM = 50

Encode = Callable[[Mapping[str, Any], int, int, tuple[Any, ...]], tuple[Any, ...]]


def _sqlite_datetime(value: datetime | None) -> str | None:
    # The text SQLAlchemy's SQLite DATETIME stores, so both paths read and compare alike.
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _multiselect_json(value: Any) -> str | None:
    return dumps(list(value)) if value else None


def stored_fields(module: Module) -> list[Field]:
    return [f for f in module.fields if not f.system and f.kind is not Kind.TERRITORIES]


class RowEncoder:
    """INSERT of every column of a record table, fed with canonical values."""

    def __init__(self, module: Module, table: sa.Table, dialect: sa.Dialect) -> None:
        sqlite = dialect.name == "sqlite"
        fields = stored_fields(module)
        columns: list[str] = list(SYSTEM)
        expressions: list[str] = []
        json_columns: set[str] = set()
        for n, f in enumerate(fields):
            columns.append(f.column)
            value = f"v{n}"
            expressions.append(f"{value} := get({f.api_name!r})")
            if f.kind is Kind.MULTISELECT:
                json_columns.add(f.column)
                expressions[-1] = f"multiselect_json({value} := get({f.api_name!r}))"
                columns.append(f.fold_column)
                expressions.append(f"fold_multiselect({value} or ())")
            elif f.folded:
                columns.append(f.fold_column)
                expressions.append(f"None if {value} is None else fold({value})")
            elif sqlite and f.kind is Kind.DATETIME:
                expressions[-1] = f"sqlite_datetime({value} := get({f.api_name!r}))"
            elif sqlite and f.kind is Kind.DATE:
                expressions[-1] = (
                    f"None if ({value} := get({f.api_name!r})) is None else {value}.isoformat()"
                )
            elif sqlite and f.kind is Kind.BOOLEAN:
                expressions[-1] = (
                    f"None if ({value} := get({f.api_name!r})) is None else int({value})"
                )
        source = (
            "def encode(values, record_id, owner, stamps):\n"
            "    get = values.get\n"
            f"    return (record_id, owner, *stamps, {', '.join(expressions)},)\n"
        )
        namespace: dict[str, Any] = {
            "fold": fold,
            "fold_multiselect": fold_multiselect,
            "multiselect_json": _multiselect_json,
            "sqlite_datetime": _sqlite_datetime,
        }
        exec(compile(source, f"<row encoder of {module.api_name}>", "exec"), namespace)
        self.encode: Encode = namespace["encode"]
        self.columns = columns
        missing = {c.name for c in table.columns} - set(columns)
        if missing:
            raise ValueError(f"columns without a field in {table.name}: {sorted(missing)}")
        quote = dialect.identifier_preparer.quote
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        markers = [
            f"{marker}::json" if not sqlite and c in json_columns else marker for c in columns
        ]
        self.sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join(markers)})"
        )
        self.system_datetime = _sqlite_datetime if sqlite else (lambda value: value)
        self.system_bool = int if sqlite else bool
        # PostgreSQL loads batches fastest through COPY (no per-row statement).
        self.copy_sql = (
            None
            if sqlite
            else (f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN")
        )

    def stamps(self, actor: int, now: datetime) -> tuple[Any, ...]:
        """The system columns after id and owner, alike for every record of one insert."""
        at = self.system_datetime(now)
        return (actor, actor, at, at, 1, None, self.system_bool(False))

    def execute(self, conn: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.copy_sql is None or len(rows) < COPY_FROM:
            conn.exec_driver_sql(self.sql, list(rows))
            return
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(self.copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
