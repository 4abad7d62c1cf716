"""The list filter builder: rows of (field, operator, value) from a page's query string, turned
into a criteria tree (criteria.md) — the same JSON an API client sends to search or to a rule.

Pure: no database, no request. Operators are named for people ("is", "contains", "is empty");
each maps to one Zoho comparator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from secteur.domain.fields import DataType, Field, Kind, Module

MAX_ROWS = 25


@dataclass(frozen=True)
class Operator:
    key: str
    label: str
    comparator: str
    # How many values the operator takes: 0 (is empty), 1, 2 (between) or "many" (any of).
    arity: int | str = 1
    empty: str | None = None


_TEXT = (
    Operator("contains", "contains", "contains"),
    Operator("not_contains", "does not contain", "not_contains"),
    Operator("is", "is", "equal"),
    Operator("is_not", "is not", "not_equal"),
    Operator("starts_with", "starts with", "starts_with"),
    Operator("ends_with", "ends with", "ends_with"),
)
_NUMBER = (
    Operator("is", "is", "equal"),
    Operator("is_not", "is not", "not_equal"),
    Operator("gt", "is more than", "greater_than"),
    Operator("ge", "is at least", "greater_equal"),
    Operator("lt", "is less than", "less_than"),
    Operator("le", "is at most", "less_equal"),
    Operator("between", "is between", "between", 2),
)
_WHEN = (
    Operator("is", "is", "equal"),
    Operator("is_not", "is not", "not_equal"),
    Operator("gt", "is after", "greater_than"),
    Operator("ge", "is on or after", "greater_equal"),
    Operator("lt", "is before", "less_than"),
    Operator("le", "is on or before", "less_equal"),
    Operator("between", "is between", "between", 2),
)
_CHOICE = (
    Operator("is", "is any of", "equal", "many"),
    Operator("is_not", "is none of", "not_equal", "many"),
)
_MULTI = (
    Operator("include_any", "includes any of", "include_any", "many"),
    Operator("include_all", "includes all of", "include_all", "many"),
    Operator("exclude_any", "excludes any of", "exclude_any", "many"),
    Operator("exclude_all", "excludes all of", "exclude_all", "many"),
)
_EMPTY = (
    Operator("empty", "is empty", "equal", 0, "${EMPTY}"),
    Operator("not_empty", "is not empty", "not_equal", 0, "${EMPTY}"),
)
_BOOLEAN = (Operator("is", "is", "equal"),)


def operators(f: Field) -> tuple[Operator, ...]:
    match f.kind:
        case Kind.TEXT:
            return (*_TEXT, *_EMPTY)
        case Kind.NUMBER:
            return (*_NUMBER, *_EMPTY)
        case Kind.DATE | Kind.DATETIME:
            return (*_WHEN, *_EMPTY)
        case Kind.PICKLIST | Kind.REFERENCE:
            return (*_CHOICE, *_EMPTY)
        case Kind.MULTISELECT:
            return (*_MULTI, *_EMPTY)
        case Kind.BOOLEAN:
            return _BOOLEAN
    return ()


def filterable(module: Module) -> list[Field]:
    return sorted(
        (f for f in module.fields if operators(f)), key=lambda f: (f.label.casefold(), f.api_name)
    )


@dataclass(frozen=True)
class Row:
    field: str
    op: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Filter:
    rows: tuple[Row, ...]
    match: str = "all"  # "all" (AND) or "any" (OR)

    @property
    def empty(self) -> bool:
        return not self.rows

    def params(self) -> dict[str, list[str] | str]:
        """The query parameters that reproduce this filter (for links: sort, page, export)."""
        out: dict[str, list[str] | str] = {}
        for i, row in enumerate(self.rows):
            out[f"f{i}"] = row.field
            out[f"o{i}"] = row.op
            if row.values:
                out[f"v{i}"] = list(row.values)
        if self.rows:
            out["match"] = self.match
        return out


def parse(query: Sequence[tuple[str, str]]) -> Filter:
    """Rows from `f0=Field&o0=op&v0=value[&v0=more]…&match=any`; rows without a field drop."""
    by_key: dict[str, list[str]] = {}
    for key, value in query:
        by_key.setdefault(key, []).append(value)
    rows = []
    for i in range(MAX_ROWS):
        name = (by_key.get(f"f{i}") or [""])[0].strip()
        if not name:
            continue
        op = (by_key.get(f"o{i}") or [""])[0].strip()
        values = tuple(v for v in by_key.get(f"v{i}", []) if v.strip() != "")
        rows.append(Row(name, op, values))
    match = "any" if (by_key.get("match") or ["all"])[0] == "any" else "all"
    return Filter(tuple(rows), match)


class FilterProblem(ValueError):
    """A row the builder cannot turn into a condition; the message names the field."""


def _value(f: Field, text: str, zone: str) -> Any:
    text = text.strip()
    if f.kind is Kind.NUMBER:
        try:
            number = float(text.replace(",", "")) if text else None
        except ValueError:
            raise FilterProblem(f"{f.label}: “{text}” is not a number") from None
        if (
            number is not None
            and number.is_integer()
            and f.data_type
            in (
                DataType.INTEGER,
                DataType.BIGINT,
            )
        ):
            return int(number)
        return number
    if f.kind is Kind.BOOLEAN:
        return text.lower() in ("true", "yes", "1", "on")
    if f.kind is Kind.DATETIME:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise FilterProblem(f"{f.label}: “{text}” is not a date and time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(zone))
        return moment.replace(microsecond=0).isoformat()
    return text


def _condition(module: Module, row: Row, zone: str) -> dict[str, Any]:
    f = module.field(row.field)
    if f is None:
        raise FilterProblem(f"There is no field {row.field} in {module.plural_label}")
    op = next((o for o in operators(f) if o.key == row.op), None)
    if op is None:
        raise FilterProblem(f"{f.label}: choose how to compare")
    ref = {"api_name": f.api_name}
    if op.arity == 0:
        return {"field": ref, "comparator": op.comparator, "value": op.empty}
    if not row.values:
        raise FilterProblem(f"{f.label}: give a value")
    values = [_value(f, v, zone) for v in row.values]
    if op.arity == 2:
        if len(values) != 2:
            raise FilterProblem(f"{f.label}: give two values (from and to)")
        value: Any = values
    elif op.arity == "many":
        value = values if len(values) > 1 or f.kind is Kind.MULTISELECT else values[0]
    else:
        value = values[0]
    return {"field": ref, "comparator": op.comparator, "value": value}


def to_criteria(module: Module, flt: Filter, zone: str) -> dict[str, Any] | None:
    """The criteria tree of the filter; None when there are no rows."""
    if flt.empty:
        return None
    conditions = [_condition(module, row, zone) for row in flt.rows]
    if len(conditions) == 1:
        return conditions[0]
    return {"group_operator": "AND" if flt.match == "all" else "OR", "group": conditions}


def describe(module: Module, flt: Filter, labels: Mapping[str, str] | None = None) -> list[str]:
    """Each row in words, for the summary above a filtered list."""
    words = []
    for row in flt.rows:
        f = module.field(row.field)
        op = next((o for o in operators(f) if o.key == row.op), None) if f else None
        if f is None or op is None:
            continue
        shown = [labels.get(v, v) if labels else v for v in row.values]
        tail = "" if op.arity == 0 else " and ".join(shown) if op.arity == 2 else ", ".join(shown)
        words.append(f"{f.label} {op.label} {tail}".strip())
    return words
