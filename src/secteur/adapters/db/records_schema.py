"""Record tables built from module metadata: one typed column per field (ADR 0002).

Text-like fields get a second, case-folded column (`<column>__ci`) written by the server on
every save. Case-insensitive comparisons in SQL read that column, and the Python evaluator
folds with the very same function, so the two evaluators agree on every character — which
neither SQLite's ASCII-only `lower()` nor PostgreSQL's locale-dependent one could promise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from secteur.adapters.db.row_encoder import RowEncoder
from secteur.adapters.db.tables import seed_id_sequence
from secteur.adapters.db.types import UTCDateTime, id_column
from secteur.domain.fields import KIND_OF, DataType, Field, Kind, Module
from secteur.domain.text import fold, fold_multiselect

# System columns every record table has, besides those of the system fields.
SYSTEM_COLUMNS = ("id", "version", "approval_state", "process_flow")

# Fields indexed at creation: what list views sort and filter by most, and lookup joins.
INDEXED_FIELDS: dict[str, tuple[str, ...]] = {
    "Accounts": ("Account_Name", "Billing_Country", "Billing_State", "Industry"),
    "Contacts": ("Last_Name", "Email", "Account_Name"),
    "Deals": ("Deal_Name", "Stage", "Closing_Date", "Account_Name", "Contact_Name"),
    "Leads": ("Last_Name", "Company", "Email", "Lead_Status"),
}


def column_type(data_type: DataType) -> sa.types.TypeEngine[Any]:
    match KIND_OF[data_type]:
        case Kind.TEXT | Kind.PICKLIST:
            return sa.Text()
        case Kind.NUMBER:
            if data_type in (DataType.INTEGER, DataType.BIGINT):
                return sa.BigInteger()
            return sa.Double()
        case Kind.BOOLEAN:
            return sa.Boolean(create_constraint=False)
        case Kind.DATE:
            return sa.Date()
        case Kind.DATETIME:
            return UTCDateTime()
        case Kind.MULTISELECT:
            return sa.JSON()
        case Kind.REFERENCE:
            return sa.BigInteger()
        case Kind.TERRITORIES:
            raise ValueError("territories are stored in their own table, not in a column")


def field_columns(f: Field) -> list[sa.Column[Any]]:
    """The columns that store one field (the value, and its folded shadow when it has one)."""
    if f.system or f.kind is Kind.TERRITORIES:
        return []
    columns: list[sa.Column[Any]] = [sa.Column(f.column, column_type(f.data_type), nullable=True)]
    if f.folded:
        columns.append(sa.Column(f.fold_column, sa.Text(), nullable=True))
    return columns


def build_table(module: Module, metadata: sa.MetaData) -> sa.Table:
    columns: list[Any] = [
        id_column(module.table),
        sa.Column("owner_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("created_by", sa.BigInteger, nullable=False),
        sa.Column("modified_by", sa.BigInteger, nullable=False),
        sa.Column("created_time", UTCDateTime, nullable=False),
        sa.Column("modified_time", UTCDateTime, nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("approval_state", sa.String(16), nullable=True),
        sa.Column("process_flow", sa.Boolean, nullable=False, server_default=sa.false()),
    ]
    for f in module.fields:
        columns.extend(field_columns(f))
    table = sa.Table(module.table, metadata, *columns, sqlite_autoincrement=True)
    for api_name in INDEXED_FIELDS.get(module.api_name, ()):
        indexed = module.field(api_name)
        if indexed is not None and not indexed.system:
            sa.Index(f"ix_{module.table}_{indexed.column}", table.c[_index_column(indexed)])
    return table


def _index_column(f: Field) -> str:
    return f.fold_column if f.folded else f.column


@dataclass(frozen=True)
class RecordTable:
    """A module's table with the way from fields to columns."""

    module: Module
    table: sa.Table
    _encoders: dict[str, RowEncoder] = field(default_factory=dict, compare=False, repr=False)

    def row_encoder(self, dialect: sa.Dialect) -> RowEncoder:
        """The table's many-row insert for `dialect`, built once."""
        encoder = self._encoders.get(dialect.name)
        if encoder is None:
            encoder = self._encoders[dialect.name] = RowEncoder(self.module, self.table, dialect)
        return encoder

    def column(self, f: Field) -> sa.ColumnElement[Any]:
        return self.table.c[f.column]

    def fold_column(self, f: Field) -> sa.ColumnElement[Any]:
        if not f.folded:
            raise ValueError(f"{f.api_name} has no folded column")
        return self.table.c[f.fold_column]


def create_module_table(connection: sa.Connection, module: Module) -> None:
    table = build_table(module, sa.MetaData())
    table.create(connection)
    seed_id_sequence(connection, table.name)


def add_field_columns(connection: sa.Connection, module: Module, f: Field) -> None:
    """Add a new field's columns to its module's table, inside the caller's transaction."""
    operations = Operations(MigrationContext.configure(connection))
    for column in field_columns(f):
        operations.add_column(module.table, column)


def index_field(connection: sa.Connection, module: Module, f: Field) -> None:
    operations = Operations(MigrationContext.configure(connection))
    operations.create_index(f"ix_{module.table}_{f.column}", module.table, [_index_column(f)])


def tables_for(modules: Iterable[Module]) -> dict[str, RecordTable]:
    metadata = sa.MetaData()
    return {m.api_name: RecordTable(m, build_table(m, metadata)) for m in modules}


def to_row(module: Module, values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for canonical field values (api_name → value), folded shadows included.

    Canonical values: str for text and picklists, int/float for numbers, bool, date, aware
    datetime, a tuple of str for multi-selects, an int id for lookups. Empty is None.
    """
    row: dict[str, Any] = {}
    for api_name, value in values.items():
        f = module.field(api_name)
        if f is None or f.kind is Kind.TERRITORIES:
            continue
        if f.kind is Kind.MULTISELECT:
            items = list(value or ())
            row[f.column] = items or None
            row[f.fold_column] = fold_multiselect(items)
        elif f.folded:
            row[f.column] = value
            row[f.fold_column] = None if value is None else fold(value)
        else:
            row[f.column] = value
    return row


def from_row(module: Module, row: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical field values (api_name → value) of a stored row; absent columns are skipped."""
    values: dict[str, Any] = {}
    for f in module.fields:
        if f.kind is Kind.TERRITORIES or f.column not in row:
            continue
        value = row[f.column]
        if f.kind is Kind.MULTISELECT:
            value = tuple(value) if value else ()
        values[f.api_name] = value
    return values
