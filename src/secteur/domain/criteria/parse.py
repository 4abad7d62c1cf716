"""Zoho criteria JSON → criteria tree. Checks the JSON's shape only; `validate` checks meaning."""

from __future__ import annotations

import math
from collections.abc import Mapping

from secteur.domain.criteria.errors import CriteriaError, Problem
from secteur.domain.criteria.model import (
    PREDEFINED_NAMES,
    PREDEFINED_PATTERN,
    Condition,
    Criteria,
    FieldRef,
    Group,
    Operator,
    Predefined,
    Scalar,
    Value,
    ValueType,
)

VALUE_TYPES: tuple[ValueType, ...] = ("value", "field", "pre_defined")
OPERATORS: tuple[Operator, ...] = ("AND", "OR")


def parse_criteria(obj: object, *, json_path: str = "$") -> Criteria:
    """The tree of a Zoho criteria object; every shape problem is reported, with its path."""
    problems: list[Problem] = []
    tree = _criteria(obj, json_path, problems)
    if problems or tree is None:
        raise CriteriaError(problems or [_invalid("criteria are invalid", json_path)])
    return tree


def parse_value(raw: object, path: str, problems: list[Problem]) -> Value | None:
    """A condition value: a scalar, or a list of scalars (a tuple in the tree)."""
    if isinstance(raw, list):
        items: list[Scalar] = []
        for i, item in enumerate(raw):
            scalar = _scalar(item, f"{path}[{i}]", problems)
            if scalar is not None:
                items.append(scalar)
        return tuple(items) if len(items) == len(raw) else None
    return _scalar(raw, path, problems)


def predefined(text: str) -> Predefined | Problem | None:
    """`${NAME}` / `${NAME:n}` as a Predefined; None when `text` is not one; a Problem if bad."""
    match = PREDEFINED_PATTERN.match(text)
    if match is None or match.group(1) not in PREDEFINED_NAMES:
        return None
    name, argument = match.group(1), match.group(2)
    takes_days = PREDEFINED_NAMES[name]
    if not takes_days:
        if argument is not None:
            return Problem("INVALID_DATA", f"${{{name}}} takes no argument", {})
        return Predefined(name)
    if argument is None or not argument.isascii() or not argument.isdigit():
        return Problem(
            "INVALID_DATA",
            f"${{{name}:n}} needs a number of days",
            {"expected_data_type": "integer"},
        )
    return Predefined(name, int(argument))


def _criteria(obj: object, path: str, problems: list[Problem]) -> Criteria | None:
    if not isinstance(obj, Mapping):
        problems.append(_invalid("criteria must be a JSON object", path, "jsonobject"))
        return None
    if obj.get("group") is not None or obj.get("group_operator") is not None:
        return _group(obj, path, problems)
    return _condition(obj, path, problems)


def _group(obj: Mapping[str, object], path: str, problems: list[Problem]) -> Group | None:
    operator = _operator(obj.get("group_operator"), f"{path}.group_operator", problems)
    raw = obj.get("group")
    if not isinstance(raw, list):
        problems.append(_invalid("group must be a list of criteria", f"{path}.group", "jsonarray"))
        return None
    children = [_criteria(child, f"{path}.group[{i}]", problems) for i, child in enumerate(raw)]
    if operator is None or any(child is None for child in children):
        return None
    return Group(operator, tuple(c for c in children if c is not None))


def _operator(raw: object, path: str, problems: list[Problem]) -> Operator | None:
    if raw is None:
        problems.append(_missing("group_operator is missing", path))
        return None
    if isinstance(raw, str):
        for operator in OPERATORS:
            if raw.strip().upper() == operator:
                return operator
    problems.append(
        Problem(
            "INVALID_DATA",
            "group_operator must be AND or OR",
            {"json_path": path, "supported_values": list(OPERATORS)},
        )
    )
    return None


def _condition(obj: Mapping[str, object], path: str, problems: list[Problem]) -> Condition | None:
    before = len(problems)
    field_name, field_id = _field(obj.get("field"), f"{path}.field", problems)
    comparator = _comparator(obj.get("comparator"), f"{path}.comparator", problems)
    declared = _value_type(obj.get("type"), f"{path}.type", problems)
    value_path = f"{path}.value"
    value: Value | None = None
    raw = obj.get("value")
    if raw is None:
        problems.append(_missing("value is missing", value_path))
    elif declared == "field":
        value = _field_ref(raw, value_path, problems)
    else:
        value = parse_value(raw, value_path, problems)
        if declared == "pre_defined" and value is not None and not _has_predefined(value):
            problems.append(_invalid("a pre_defined value looks like ${TODAY}", value_path))
    if len(problems) > before or field_name is None or comparator is None or value is None:
        return None
    return Condition(field_name, comparator, value, value_type_of(value), field_id)


def value_type_of(value: Value) -> ValueType:
    """The `type` of a condition, from its value (so JSON and search strings agree)."""
    if isinstance(value, FieldRef):
        return "field"
    if isinstance(value, Predefined):
        return "pre_defined"
    return "value"


def _has_predefined(value: Value) -> bool:
    if isinstance(value, tuple):
        return any(isinstance(item, Predefined) for item in value)
    return isinstance(value, Predefined)


def _field(raw: object, path: str, problems: list[Problem]) -> tuple[str | None, str | None]:
    if raw is None:
        problems.append(_missing("field is missing", path))
        return None, None
    if isinstance(raw, str):
        raw = {"api_name": raw}
    if not isinstance(raw, Mapping):
        problems.append(_invalid("field must be an object with an api_name", path, "jsonobject"))
        return None, None
    api_name = raw.get("api_name")
    if not isinstance(api_name, str) or not api_name.strip():
        problems.append(_missing("field.api_name is missing", f"{path}.api_name"))
        return None, None
    raw_id = raw.get("id")
    field_id = None if raw_id is None or isinstance(raw_id, bool) else str(raw_id)
    return api_name.strip(), field_id


def _comparator(raw: object, path: str, problems: list[Problem]) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        problems.append(_missing("comparator is missing", path))
        return None
    if not isinstance(raw, str):
        problems.append(_invalid("comparator must be a string", path, "string"))
        return None
    return raw.strip().lower()


def _value_type(raw: object, path: str, problems: list[Problem]) -> ValueType | None:
    if raw is None:
        return "value"
    for value_type in VALUE_TYPES:
        if raw == value_type:
            return value_type
    problems.append(
        Problem(
            "INVALID_DATA",
            "type must be value, field or pre_defined",
            {"json_path": path, "supported_values": list(VALUE_TYPES)},
        )
    )
    return None


def _field_ref(raw: object, path: str, problems: list[Problem]) -> FieldRef | None:
    api_name = raw.get("api_name") if isinstance(raw, Mapping) else None
    if isinstance(api_name, str) and api_name.strip():
        return FieldRef(api_name.strip())
    problems.append(
        _invalid('a field value is {"api_name": …} naming another field', path, "jsonobject")
    )
    return None


def _scalar(raw: object, path: str, problems: list[Problem]) -> Scalar | None:
    if isinstance(raw, Mapping) and raw.get("id") is not None:
        raw = raw["id"]  # a lookup given as {"id": …, "name": …}
    if isinstance(raw, str):
        found = predefined(raw)
        if isinstance(found, Problem):
            problems.append(
                Problem(found.code, found.message, {**found.details, "json_path": path})
            )
            return None
        return raw if found is None else found
    if isinstance(raw, bool | int):
        return raw
    if isinstance(raw, float):
        if math.isfinite(raw):
            return raw
        problems.append(_invalid("numbers must be finite", path, "double"))
        return None
    problems.append(_invalid("a value must be a string, a number or a boolean", path))
    return None


def _invalid(message: str, path: str, expected: str | None = None) -> Problem:
    details: dict[str, object] = {"json_path": path}
    if expected is not None:
        details["expected_data_type"] = expected
    return Problem("INVALID_DATA", message, details)


def _missing(message: str, path: str) -> Problem:
    return Problem("DEPENDENT_FIELD_MISSING", message, {"json_path": path})
