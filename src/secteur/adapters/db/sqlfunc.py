"""Text functions that mean the same on SQLite and PostgreSQL, compiled per dialect.

Substring tests go through position / prefix / suffix functions rather than LIKE, so that
`%`, `_` and the backslash in a user's value are plain characters and no collation or
case rule of the database takes part: callers pass the folded column and a folded needle.
All of them count characters (code points) on both databases, as Python does.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class position(FunctionElement[int]):  # noqa: N801 — read as SQL functions
    """1-based position of `needle` in `haystack`, 0 when absent (NULL when either is NULL)."""

    name = "position"
    type = sa.Integer()
    inherit_cache = True


class prefix(FunctionElement[str]):  # noqa: N801
    """The first `n` characters of a text."""

    name = "prefix"
    type = sa.Text()
    inherit_cache = True


class suffix(FunctionElement[str]):  # noqa: N801
    """The last `n` characters of a text (all of it when shorter)."""

    name = "suffix"
    type = sa.Text()
    inherit_cache = True


@compiles(position, "sqlite")
def _position_sqlite(element: position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(position)
def _position_postgresql(element: position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


@compiles(prefix, "sqlite")
def _prefix_sqlite(element: prefix, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, n = element.clauses.clauses
    return f"substr({compiler.process(haystack, **kw)}, 1, {compiler.process(n, **kw)})"


@compiles(prefix)
def _prefix_postgresql(element: prefix, compiler: SQLCompiler, **kw: Any) -> str:
    return f"left({compiler.process(element.clauses, **kw)})"


@compiles(suffix, "sqlite")
def _suffix_sqlite(element: suffix, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, n = element.clauses.clauses
    return f"substr({compiler.process(haystack, **kw)}, -({compiler.process(n, **kw)}))"


@compiles(suffix)
def _suffix_postgresql(element: suffix, compiler: SQLCompiler, **kw: Any) -> str:
    return f"right({compiler.process(element.clauses, **kw)})"


def _text(needle: str) -> sa.BindParameter[str]:
    return sa.bindparam(None, needle, type_=sa.Text())


def _length(needle: str) -> sa.BindParameter[int]:
    return sa.bindparam(None, len(needle), type_=sa.Integer())


def contains(haystack: sa.ColumnElement[Any], needle: str) -> sa.ColumnElement[bool]:
    """`needle` occurs in `haystack` (NULL when `haystack` is NULL: guard it)."""
    return position(haystack, _text(needle)) > 0


def starts_with(haystack: sa.ColumnElement[Any], needle: str) -> sa.ColumnElement[bool]:
    """`haystack` begins with `needle` (NULL when `haystack` is NULL: guard it)."""
    return prefix(haystack, _length(needle)) == _text(needle)


def ends_with(haystack: sa.ColumnElement[Any], needle: str) -> sa.ColumnElement[bool]:
    """`haystack` ends with `needle` (NULL when `haystack` is NULL: guard it)."""
    return suffix(haystack, _length(needle)) == _text(needle)
