"""Criteria bound to a module: every problem found, or a tree with canonical names and values."""

from __future__ import annotations

from typing import Any

from secteur.domain.criteria.coerce import CanonicalScalar, UnfitValueError, coerce
from secteur.domain.criteria.errors import CriteriaError, Problem, ProblemCode
from secteur.domain.criteria.model import (
    PREDEFINED_NAMES,
    Condition,
    Criteria,
    FieldRef,
    Group,
    Predefined,
    Scalar,
    Value,
)
from secteur.domain.criteria.parse import value_type_of
from secteur.domain.criteria.rules import (
    ALWAYS_LIST,
    COMPARATORS,
    EMPTINESS,
    EQUAL,
    FIELD_COMPARATORS,
    LIST_COMPARATORS,
    MAX_DAYS,
    MAX_DEPTH,
    MAX_GROUP,
    MAX_LIST_VALUES,
    MIN_GROUP,
    NOT_EQUAL,
    NOT_IN,
    RANGE_COMPARATORS,
    allowed_predefined,
    field_kind_group,
    takes_emptiness,
)
from secteur.domain.fields import Field, Kind, Module

# Comparators whose picklist values must be values of the picklist (not fragments).
_PICKLIST_EXACT = frozenset({EQUAL, NOT_EQUAL, "in", NOT_IN, *ALWAYS_LIST})


def validate_criteria(criteria: Criteria, module: Module, *, json_path: str = "$") -> Criteria:
    """`criteria` bound to `module`: canonical field names, values of the field's type.

    Raises CriteriaError listing every problem (Zoho codes, `json_path` of each). Validating
    a validated tree gives it back unchanged.
    """
    problems: list[Problem] = []
    bound = _Validator(module, problems).criteria(criteria, json_path, depth=0)
    if problems or bound is None:
        raise CriteriaError(problems)
    return bound


class _Validator:
    def __init__(self, module: Module, problems: list[Problem]) -> None:
        self.module = module
        self.problems = problems

    def report(self, code: ProblemCode, message: str, path: str, **details: Any) -> None:
        self.problems.append(Problem(code, message, {**details, "json_path": path}))

    def criteria(self, criteria: Criteria, path: str, depth: int) -> Criteria | None:
        if isinstance(criteria, Group):
            return self.group(criteria, path, depth + 1)
        return self.condition(criteria, path)

    def group(self, group: Group, path: str, depth: int) -> Group | None:
        if depth > MAX_DEPTH:
            self.report("INVALID_DATA", f"criteria nest at most {MAX_DEPTH} groups deep", path)
            return None
        operator = str(group.operator).strip().upper()
        ok = True
        if operator not in ("AND", "OR"):
            self.report(
                "INVALID_DATA",
                "group_operator must be AND or OR",
                f"{path}.group_operator",
                supported_values=["AND", "OR"],
            )
            ok = False
        if not MIN_GROUP <= len(group.children) <= MAX_GROUP:
            self.report(
                "INVALID_DATA",
                f"a group holds {MIN_GROUP} to {MAX_GROUP} criteria",
                f"{path}.group",
            )
            ok = False
        children = [
            self.criteria(child, f"{path}.group[{i}]", depth)
            for i, child in enumerate(group.children)
        ]
        if not ok or any(child is None for child in children):
            return None
        return Group("AND" if operator == "AND" else "OR", tuple(c for c in children if c))

    def condition(self, condition: Condition, path: str) -> Condition | None:
        f = self.module.field(condition.field)
        api_name = condition.field
        if f is None:
            self.report(
                "INVALID_DATA",
                f"{api_name} is not a field of {self.module.api_name}",
                f"{path}.field",
                api_name=api_name,
            )
            return None
        if f.kind is Kind.TERRITORIES:
            self.report(
                "NOT_SUPPORTED",
                f"{f.api_name} cannot be used in criteria",
                f"{path}.field",
                api_name=f.api_name,
            )
            return None
        comparator = condition.comparator.strip().lower()
        if not comparator:
            self.report(
                "DEPENDENT_FIELD_MISSING",
                "comparator is missing",
                f"{path}.comparator",
                api_name=f.api_name,
            )
            return None
        value: Value | None
        if condition.value_type == "field" or isinstance(condition.value, FieldRef):
            value = self.field_value(f, comparator, condition.value, path)
        else:
            value = self.value(f, comparator, condition.value, path)
        if value is None:
            return None
        field_id = str(f.id) if f.id else condition.field_id
        return Condition(f.api_name, comparator, value, value_type_of(value), field_id)

    def field_value(self, f: Field, comparator: str, value: Value, path: str) -> FieldRef | None:
        value_path = f"{path}.value"
        if not isinstance(value, FieldRef):
            self.report(
                "INVALID_DATA",
                'a field value is {"api_name": …}',
                value_path,
                api_name=f.api_name,
                expected_data_type="jsonobject",
            )
            return None
        allowed = FIELD_COMPARATORS.get(f.kind)
        if allowed is None:
            self.report(
                "NOT_SUPPORTED",
                f"{f.api_name} cannot be compared with another field",
                f"{path}.type",
                api_name=f.api_name,
            )
            return None
        if comparator not in allowed:
            self.mismatch(f, comparator, allowed, path)
            return None
        other = self.module.field(value.api_name)
        if other is None or other.kind is Kind.TERRITORIES:
            self.report(
                "INVALID_DATA",
                f"{value.api_name} is not a field that criteria can compare with",
                f"{value_path}.api_name",
                api_name=f.api_name,
            )
            return None
        if field_kind_group(other.kind) != field_kind_group(f.kind):
            self.report(
                "DEPENDENT_MISMATCH",
                f"{other.api_name} cannot be compared with {f.api_name}",
                value_path,
                api_name=f.api_name,
                expected_data_type=f.data_type.value,
            )
            return None
        return FieldRef(other.api_name)

    def mismatch(self, f: Field, comparator: str, allowed: tuple[str, ...], path: str) -> None:
        self.report(
            "DEPENDENT_MISMATCH",
            f"{comparator!r} is not a comparator for the {f.data_type.value} field {f.api_name}",
            f"{path}.comparator",
            api_name=f.api_name,
            supported_values=list(allowed),
        )

    def value(self, f: Field, comparator: str, value: Value, path: str) -> Value | None:
        allowed = COMPARATORS[f.kind]
        if comparator not in allowed:
            self.mismatch(f, comparator, allowed, path)
            return None
        value_path = f"{path}.value"
        if isinstance(value, Predefined) and value.name in EMPTINESS:
            return self.emptiness(f, comparator, value, value_path)
        if f.kind is Kind.MULTISELECT and comparator in (EQUAL, NOT_EQUAL):
            self.report(
                "DEPENDENT_MISMATCH",
                f"{comparator} on a multi-select takes ${{EMPTY}} or ${{NOTEMPTY}}",
                value_path,
                api_name=f.api_name,
                supported_values=["${EMPTY}", "${NOTEMPTY}"],
            )
            return None
        if comparator in RANGE_COMPARATORS:
            if not isinstance(value, tuple) or len(value) != 2:
                self.report(
                    "DEPENDENT_MISMATCH",
                    f"{comparator} takes exactly two values",
                    value_path,
                    api_name=f.api_name,
                    expected_data_type="jsonarray",
                )
                return None
            return self.items(f, comparator, value, value_path)
        if comparator in LIST_COMPARATORS:
            if isinstance(value, tuple):
                if not 1 <= len(value) <= MAX_LIST_VALUES:
                    self.report(
                        "INVALID_DATA",
                        f"a list of values holds 1 to {MAX_LIST_VALUES} values",
                        value_path,
                        api_name=f.api_name,
                    )
                    return None
                return self.items(f, comparator, value, value_path)
            if comparator in ALWAYS_LIST:
                return self.items(f, comparator, (value,), value_path, single=True)
            return self.scalar(f, comparator, value, value_path)
        if isinstance(value, tuple):
            self.report(
                "DEPENDENT_MISMATCH",
                f"{comparator} takes a single value",
                value_path,
                api_name=f.api_name,
                expected_data_type=f.data_type.value,
            )
            return None
        return self.scalar(f, comparator, value, value_path)

    def emptiness(self, f: Field, comparator: str, value: Predefined, path: str) -> Value | None:
        if takes_emptiness(f) and comparator in (EQUAL, NOT_EQUAL):
            return value
        self.report(
            "DEPENDENT_MISMATCH",
            f"{value} applies with equal / not_equal, and not to boolean fields",
            path,
            api_name=f.api_name,
            supported_values=[EQUAL, NOT_EQUAL] if takes_emptiness(f) else [],
        )
        return None

    def items(
        self,
        f: Field,
        comparator: str,
        values: tuple[Value, ...],
        path: str,
        *,
        single: bool = False,
    ) -> tuple[Scalar, ...] | None:
        out: list[Scalar] = []
        for i, item in enumerate(values):
            item_path = path if single else f"{path}[{i}]"
            if isinstance(item, Predefined) and item.name in EMPTINESS:
                self.report(
                    "INVALID_DATA",
                    f"{item} stands alone, not in a list",
                    item_path,
                    api_name=f.api_name,
                )
                continue
            scalar = self.scalar(f, comparator, item, item_path)
            if scalar is not None:
                out.append(scalar)
        return tuple(out) if len(out) == len(values) else None

    def scalar(self, f: Field, comparator: str, value: Value, path: str) -> Scalar | None:
        if isinstance(value, Predefined):
            return self.predefined(f, value, path)
        if isinstance(value, FieldRef | tuple):
            self.report(
                "INVALID_DATA",
                "expected a single value",
                path,
                api_name=f.api_name,
                expected_data_type=f.data_type.value,
            )
            return None
        raw: CanonicalScalar = value
        try:
            return coerce(f, raw, in_picklist=comparator in _PICKLIST_EXACT)
        except UnfitValueError as refused:
            self.report(
                "INVALID_DATA",
                str(refused),
                path,
                api_name=f.api_name,
                expected_data_type=f.data_type.value,
            )
            return None

    def predefined(self, f: Field, value: Predefined, path: str) -> Predefined | None:
        allowed = allowed_predefined(f)
        if value.name not in allowed:
            self.report(
                "DEPENDENT_MISMATCH",
                f"{value} does not apply to the {f.data_type.value} field {f.api_name}",
                path,
                api_name=f.api_name,
                supported_values=[
                    f"${{{name}:n}}" if PREDEFINED_NAMES[name] else f"${{{name}}}"
                    for name in allowed
                ],
            )
            return None
        takes_days = PREDEFINED_NAMES[value.name]
        days = value.days
        if takes_days != (days is not None) or (days is not None and not 1 <= days <= MAX_DAYS):
            self.report(
                "INVALID_DATA",
                f"{value.name} takes a number of days from 1 to {MAX_DAYS}"
                if takes_days
                else f"{value.name} takes no number of days",
                path,
                api_name=f.api_name,
                expected_data_type="integer",
            )
            return None
        return value
