"""Column types that behave identically on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

# Ids look like Zoho's (19 digits) so that clients exercise their 64-bit handling from day one.
ID_START = 3652397000001000001

# On SQLite only INTEGER PRIMARY KEY is the rowid (auto-assigned); BIGINT would not be.
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An aware datetime, stored in UTC.

    SQLite keeps the naive UTC text in a fixed format, so that comparisons of stored values
    with bound parameters are correct as text; PostgreSQL keeps `timestamptz`.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def id_column(name: str = "id") -> sa.Column[int]:
    return sa.Column(name, IdType, sa.Identity(start=ID_START), primary_key=True)


def ref(name: str, target: str | None = None, *, nullable: bool = True, index: bool = False,
        ondelete: str | None = None) -> sa.Column[int]:
    """A 64-bit reference column, with a foreign key when `target` ("table.column") is given."""
    args: list[Any] = [sa.ForeignKey(target, ondelete=ondelete)] if target else []
    return sa.Column(name, sa.BigInteger, *args, nullable=nullable, index=index)
