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


def number_text(value: Any) -> str:
    """Numbers as people read them (1,250,000 or 12.5); anything else as text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{int(value):,}"


def _text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping):  # a lookup or user given as {"id": …}
        return str(value.get("id", ""))
    return str(value)


def _row_of(module: Module, condition: Mapping[str, Any]) -> Row | None:
    ref = condition.get("field")
    name = ref.get("api_name") if isinstance(ref, Mapping) else None
    f = module.field(str(name)) if name else None
    comparator, value = condition.get("comparator"), condition.get("value")
    # `in` / `not_in` are `equal` / `not_equal` with several values (criteria.md).
    comparator = {"in": "equal", "not_in": "not_equal"}.get(str(comparator), comparator)
    if f is None or condition.get("type", "value") != "value":
        return None
    if value == "${EMPTY}":
        op = next((o for o in operators(f) if o.arity == 0 and o.comparator == comparator), None)
        return None if op is None else Row(f.api_name, op.key)
    if isinstance(value, str) and value.startswith("${"):
        return None  # other predefined values (today, current user…) need the JSON editor
    op = next((o for o in operators(f) if o.arity != 0 and o.comparator == comparator), None)
    if op is None:
        return None
    values = value if isinstance(value, list) else [value]
    if op.arity == 1 and len(values) != 1:
        return None
    return Row(f.api_name, op.key, tuple(_text_of(v) for v in values))


def from_criteria(module: Module, criteria: Mapping[str, Any] | None) -> Filter | None:
    """The builder's rows for a criteria tree, when it is flat enough for rows (one condition,
    or one group of conditions); None when it needs the JSON editor."""
    if not criteria:
        return Filter(())
    if "group" in criteria:
        group = criteria.get("group")
        if not isinstance(group, list):
            return None
        rows = [_row_of(module, c) if isinstance(c, Mapping) else None for c in group]
        if any(r is None for r in rows) or len(rows) > MAX_ROWS:
            return None
        match = "any" if str(criteria.get("group_operator", "")).upper() == "OR" else "all"
        return Filter(tuple(r for r in rows if r is not None), match)
    row = _row_of(module, criteria)
    return None if row is None else Filter((row,))


COMPARATOR_WORDS = {
    "equal": "is",
    "not_equal": "is not",
    "in": "is any of",
    "not_in": "is none of",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "greater_than": "is more than",
    "greater_equal": "is at least",
    "less_than": "is less than",
    "less_equal": "is at most",
    "between": "is between",
    "not_between": "is not between",
    "include_all": "includes all of",
    "include_any": "includes any of",
    "exclude_all": "excludes all of",
    "exclude_any": "excludes any of",
}


def condition_words(
    module: Module, field: str, comparator: str, value: Any, names: Mapping[str, str] | None = None
) -> str:
    """One condition as people say it: "Billing Country is France"."""
    f = module.field(field)
    label = f.label if f else field
    if value == "${EMPTY}":
        return f"{label} {'is empty' if comparator == 'equal' else 'is not empty'}"
    values = value if isinstance(value, list) else [value]
    shown = [names.get(_text_of(v), number_text(v)) if names else number_text(v) for v in values]
    joiner = " and " if comparator in ("between", "not_between") else ", "
    words = COMPARATOR_WORDS.get(comparator, comparator.replace("_", " "))
    if comparator in ("equal", "not_equal") and len(values) > 1:
        words = "is any of" if comparator == "equal" else "is none of"
    return f"{label} {words} {joiner.join(shown)}"


def sentence(module: Module, criteria: Mapping[str, Any] | None) -> str:
    """A criteria tree in words, groups in parentheses: "(A or B) and C"."""
    if not criteria:
        return ""
    if "group" in criteria:
        operator = " and " if str(criteria.get("group_operator", "")).upper() == "AND" else " or "
        parts = []
        for child in criteria.get("group") or []:
            text = sentence(module, child)
            parts.append(f"({text})" if "group" in child else text)
        return operator.join(parts)
    ref = criteria.get("field") or {}
    return condition_words(
        module,
        str(ref.get("api_name", "")),
        str(criteria.get("comparator", "")),
        criteria.get("value"),
    )
