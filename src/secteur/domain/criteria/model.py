"""The criteria tree: conditions and groups, as the Zoho criteria JSON describes them.

A tree is a value. `parse_criteria` and `parse_search_string` build one from the wire,
`validate_criteria` binds it to a module (canonical field names, typed values), and the
evaluators compile a bound tree. `to_json` gives the Zoho JSON back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from typing import Any, Literal, TypeAlias

ValueType: TypeAlias = Literal["value", "field", "pre_defined"]
Operator: TypeAlias = Literal["AND", "OR"]

# Integers beyond this do not survive a JSON number in JavaScript: they go out as strings.
JSON_SAFE_INTEGER = 2**53

EMPTY = "EMPTY"
NOTEMPTY = "NOTEMPTY"
CURRENTUSER = "CURRENTUSER"
TODAY = "TODAY"
LAST_N_DAYS = "LAST_N_DAYS"
NEXT_N_DAYS = "NEXT_N_DAYS"
THISMONTH = "THISMONTH"
THISQUARTER = "THISQUARTER"

# Predefined names, and whether each takes a day count (`${LAST_N_DAYS:7}`).
PREDEFINED_NAMES: dict[str, bool] = {
    EMPTY: False,
    NOTEMPTY: False,
    CURRENTUSER: False,
    TODAY: False,
    LAST_N_DAYS: True,
    NEXT_N_DAYS: True,
    THISMONTH: False,
    THISQUARTER: False,
}
DATE_PREDEFINED = frozenset({TODAY, LAST_N_DAYS, NEXT_N_DAYS, THISMONTH, THISQUARTER})

PREDEFINED_PATTERN = re.compile(r"^\$\{([A-Z_]+)(?::([^}]*))?\}$")


@dataclass(frozen=True, slots=True)
class Predefined:
    """A value resolved at evaluation time: `${TODAY}`, `${LAST_N_DAYS:7}`, `${EMPTY}`…"""

    name: str
    days: int | None = None

    def __str__(self) -> str:
        return f"${{{self.name}}}" if self.days is None else f"${{{self.name}:{self.days}}}"


@dataclass(frozen=True, slots=True)
class FieldRef:
    """The other field of a `type: "field"` condition."""

    api_name: str


Scalar: TypeAlias = str | int | float | bool | date | datetime | Predefined
Value: TypeAlias = Scalar | FieldRef | tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    comparator: str
    value: Value
    value_type: ValueType = "value"
    # The field's id as the client sent it (or as validation bound it); not part of identity.
    field_id: str | None = dataclass_field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Group:
    operator: Operator
    children: tuple[Criteria, ...]


Criteria: TypeAlias = Condition | Group


def to_json(criteria: Criteria) -> dict[str, Any]:
    """The Zoho criteria JSON of a tree (`type` is written only when it is not `value`)."""
    if isinstance(criteria, Group):
        return {
            "group_operator": criteria.operator,
            "group": [to_json(child) for child in criteria.children],
        }
    field_json: dict[str, Any] = {"api_name": criteria.field}
    if criteria.field_id is not None:
        field_json["id"] = criteria.field_id
    out: dict[str, Any] = {
        "field": field_json,
        "comparator": criteria.comparator,
        "value": value_to_json(criteria.value),
    }
    if criteria.value_type != "value":
        out["type"] = criteria.value_type
    return out


def value_to_json(value: object) -> Any:
    """A value as JSON: dates in ISO-8601, predefined values as `${…}`, big integers as text."""
    match value:
        case tuple():
            return [value_to_json(item) for item in value]
        case FieldRef(api_name=api_name):
            return {"api_name": api_name}
        case Predefined():
            return str(value)
        case bool() | None:
            return value
        case int() if abs(value) > JSON_SAFE_INTEGER:
            return str(value)
        case datetime() | date():
            return value.isoformat()
        case _:
            return value
