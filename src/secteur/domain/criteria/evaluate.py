"""The in-process evaluator: a criteria tree compiled once into a fast record predicate."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from secteur.domain.criteria.context import EvalContext
from secteur.domain.criteria.model import Criteria
from secteur.domain.criteria.plan import (
    All,
    AnyOf,
    BoolIs,
    Compare,
    Const,
    FieldCompare,
    IsEmpty,
    MultiHas,
    Node,
    Not,
    OneOf,
    Op,
    TextHas,
    TextIn,
    lower,
)
from secteur.domain.criteria.validate import validate_criteria
from secteur.domain.fields import DataType, Field, Kind, Module
from secteur.domain.text import MULTISELECT_SEPARATOR, fold, fold_multiselect

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]

OPERATORS: dict[Op, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
# Stored as DOUBLE PRECISION: compared as floats, as the database compares them.
FLOAT_TYPES = frozenset({DataType.DOUBLE, DataType.CURRENCY, DataType.PERCENT})


def compile_predicate(criteria: Criteria, module: Module, ctx: EvalContext) -> Predicate:
    """A predicate over records (canonical values by api_name) deciding what `criteria` say.

    Validates `criteria` first (CriteriaError); the clock, the user and the time zone are
    taken from `ctx` now, once.
    """
    return compile_node(lower(validate_criteria(criteria, module), module, ctx))


def is_empty(value: object) -> bool:
    """The emptiness every comparator agrees on: missing, None, "" or ()."""
    return value is None or value == "" or value == ()


def compile_node(node: Node) -> Predicate:
    match node:
        case Const(value=value):
            return lambda _: value
        case Not(node=inner):
            positive = compile_node(inner)
            return lambda r: not positive(r)
        case All(nodes=nodes):
            return _all(tuple(compile_node(n) for n in nodes))
        case AnyOf(nodes=nodes):
            return _any(tuple(compile_node(n) for n in nodes))
        case FieldCompare():
            return _field_compare(node)
        case _:
            return _leaf(node)


def _all(predicates: tuple[Predicate, ...]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda r: first(r) and second(r)

    def every(record: Record) -> bool:
        # A loop, not all(…): a generator per record costs more than the tests themselves.
        for predicate in predicates:  # noqa: SIM110
            if not predicate(record):
                return False
        return True

    return every


def _any(predicates: tuple[Predicate, ...]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda r: first(r) or second(r)

    def some(record: Record) -> bool:
        for predicate in predicates:  # noqa: SIM110
            if predicate(record):
                return True
        return False

    return some


def _leaf(node: Node) -> Predicate:
    match node:
        case IsEmpty(field=f):
            name = f.api_name
            return lambda r: is_empty(r.get(name))
        case TextIn(field=f, values=values):
            return _text_in(f.api_name, frozenset(values))
        case TextHas(field=f, mode=mode, value=needle):
            return _text_has(f.api_name, mode, needle)
        case MultiHas(field=f, item=item):
            return _multi_has(f.api_name, MULTISELECT_SEPARATOR + item + MULTISELECT_SEPARATOR)
        case Compare(field=f, op=op, value=literal):
            return _compare(f, OPERATORS[op], literal)
        case OneOf(field=f, values=values):
            return _one_of(f, frozenset(values))
        case BoolIs(field=f, value=wanted):
            name = f.api_name
            return lambda r: bool(r.get(name)) is wanted
    raise TypeError(f"not a leaf: {node!r}")


def _text_in(name: str, values: frozenset[str]) -> Predicate:
    def test(record: Record) -> bool:
        v = record.get(name)
        return isinstance(v, str) and fold(v) in values

    return test


def _text_has(name: str, mode: str, needle: str) -> Predicate:
    def starts(record: Record) -> bool:
        v = record.get(name)
        return isinstance(v, str) and fold(v).startswith(needle)

    def ends(record: Record) -> bool:
        v = record.get(name)
        return isinstance(v, str) and fold(v).endswith(needle)

    def contains(record: Record) -> bool:
        v = record.get(name)
        return isinstance(v, str) and needle in fold(v)

    return {"starts": starts, "ends": ends}.get(mode, contains)


def _multi_has(name: str, needle: str) -> Predicate:
    # The very test SQL makes on the folded column: the item between separators.
    def test(record: Record) -> bool:
        v = record.get(name)
        if not v:
            return False
        folded = fold_multiselect(v)
        return folded is not None and needle in folded

    return test


def _compare(f: Field, compare: Callable[[Any, Any], bool], literal: Any) -> Predicate:
    name = f.api_name
    if f.data_type in FLOAT_TYPES:
        return lambda r: (v := r.get(name)) is not None and v != "" and compare(float(v), literal)
    return lambda r: (v := r.get(name)) is not None and v != "" and compare(v, literal)


def _one_of(f: Field, values: frozenset[int | float]) -> Predicate:
    name = f.api_name
    if f.data_type in FLOAT_TYPES:
        return lambda r: (v := r.get(name)) is not None and v != "" and float(v) in values
    return lambda r: (v := r.get(name)) is not None and v != "" and v in values


def _field_compare(node: FieldCompare) -> Predicate:
    left, right = node.left.api_name, node.right.api_name
    compare = OPERATORS[node.op]
    kind = node.left.kind
    if kind is Kind.BOOLEAN:
        return lambda r: compare(bool(r.get(left)), bool(r.get(right)))
    if kind in (Kind.TEXT, Kind.PICKLIST):

        def texts(record: Record) -> bool:
            a, b = record.get(left), record.get(right)
            return (
                isinstance(a, str)
                and isinstance(b, str)
                and a != ""
                and b != ""
                and compare(fold(a), fold(b))
            )

        return texts
    as_float = node.left.data_type in FLOAT_TYPES or node.right.data_type in FLOAT_TYPES

    def values(record: Record) -> bool:
        a, b = record.get(left), record.get(right)
        if a is None or b is None or is_empty(a) or is_empty(b):
            return False
        return compare(float(a), float(b)) if as_float else compare(a, b)

    return values
