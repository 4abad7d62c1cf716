"""Column types that behave identically on SQLite and PostgreSQL."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

# Ids look like Zoho's (19 digits) so that clients exercise their 64-bit handling from day one,
# and, like Zoho's, are unique across the org: each table draws from its own block of ten
# billion ids, so a user, a role and an account never share an id (ADR 0006).
ID_START = 3652397000001000001
ID_BLOCK = 10_000_000_000
_BLOCKS = {
    "org": 0,
    "roles": 1,
    "profiles": 2,
    "users": 3,
    "modules": 4,
    "fields": 5,
    "layouts": 6,
    "oauth_clients": 7,
    "oauth_grants": 8,
    "oauth_refresh_tokens": 9,
    "oauth_access_tokens": 10,
    "audit_events": 11,
    "outbox": 12,
    "territories": 13,
    "jobs": 14,
    "leads": 20,
    "accounts": 21,
    "contacts": 22,
    "deals": 23,
}


def id_start(table: str) -> int:
    """The first id of `table`. Tables without a fixed block get one from their name."""
    block = _BLOCKS.get(table)
    if block is None:
        block = 100 + zlib.crc32(table.encode()) % 800
    return ID_START + block * ID_BLOCK


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


def id_column(table: str) -> sa.Column[int]:
    return sa.Column("id", IdType, sa.Identity(start=id_start(table)), primary_key=True)


def ref(
    name: str,
    target: str | None = None,
    *,
    nullable: bool = True,
    index: bool = False,
    ondelete: str | None = None,
) -> sa.Column[int]:
    """A 64-bit reference column, with a foreign key when `target` ("table.column") is given."""
    args: list[Any] = [sa.ForeignKey(target, ondelete=ondelete)] if target else []
    return sa.Column(name, sa.BigInteger, *args, nullable=nullable, index=index)
