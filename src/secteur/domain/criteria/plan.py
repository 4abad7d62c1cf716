"""Criteria lowered to a few primitive tests: the one meaning both evaluators translate.

`lower` resolves everything that depends on the context (today, the current user, the time
zone) and on the field's type (folding, day ranges, negations), so that the Python and the
SQL evaluators each only translate a handful of primitives whose meaning is obvious:

* every leaf test is False on an empty field (None, "", ()); a boolean field is never empty
  (None counts as False);
* `Not`, `All`, `AnyOf` are plain two-valued logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, TypeAlias

from secteur.domain.criteria.context import EvalContext, day_range
from secteur.domain.criteria.model import (
    CURRENTUSER,
    EMPTY,
    Condition,
    Criteria,
    FieldRef,
    Group,
    Predefined,
    Scalar,
)
from secteur.domain.criteria.rules import (
    BETWEEN,
    CONTAINS,
    EMPTINESS,
    ENDS_WITH,
    EQUAL,
    EXCLUDE_ALL,
    EXCLUDE_ANY,
    GREATER_EQUAL,
    GREATER_THAN,
    IN,
    INCLUDE_ALL,
    INCLUDE_ANY,
    LESS_EQUAL,
    LESS_THAN,
    NOT_BETWEEN,
    NOT_CONTAINS,
    NOT_EQUAL,
    NOT_IN,
    STARTS_WITH,
)
from secteur.domain.fields import Field, Kind, Module
from secteur.domain.text import fold

Op: TypeAlias = Literal["=", "<", "<=", ">", ">="]
Ordered: TypeAlias = int | float | date | datetime
TextMode: TypeAlias = Literal["starts", "ends", "contains"]

ORDER_OPS: dict[str, Op] = {
    EQUAL: "=",
    GREATER_THAN: ">",
    GREATER_EQUAL: ">=",
    LESS_THAN: "<",
    LESS_EQUAL: "<=",
}
TEXT_MODES: dict[str, TextMode] = {
    STARTS_WITH: "starts",
    ENDS_WITH: "ends",
    CONTAINS: "contains",
    NOT_CONTAINS: "contains",
}


@dataclass(frozen=True, slots=True)
class IsEmpty:
    field: Field


@dataclass(frozen=True, slots=True)
class TextIn:
    """The folded value is one of `values` (folded)."""

    field: Field
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TextHas:
    """The folded value starts with / ends with / contains `value` (folded, never empty)."""

    field: Field
    mode: TextMode
    value: str


@dataclass(frozen=True, slots=True)
class MultiHas:
    """The multi-select holds `item` (folded)."""

    field: Field
    item: str


@dataclass(frozen=True, slots=True)
class Compare:
    field: Field
    op: Op
    value: Ordered


@dataclass(frozen=True, slots=True)
class OneOf:
    field: Field
    values: tuple[int | float, ...]


@dataclass(frozen=True, slots=True)
class BoolIs:
    field: Field
    value: bool


@dataclass(frozen=True, slots=True)
class FieldCompare:
    """Two fields of compatible kinds; False when either is empty."""

    left: Field
    op: Op
    right: Field


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


@dataclass(frozen=True, slots=True)
class Not:
    node: Node


@dataclass(frozen=True, slots=True)
class All:
    nodes: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    nodes: tuple[Node, ...]


Node: TypeAlias = (
    IsEmpty
    | TextIn
    | TextHas
    | MultiHas
    | Compare
    | OneOf
    | BoolIs
    | FieldCompare
    | Const
    | Not
    | All
    | AnyOf
)


def lower(criteria: Criteria, module: Module, ctx: EvalContext) -> Node:
    """The primitive tests of a *validated* tree."""
    if isinstance(criteria, Group):
        children = tuple(lower(child, module, ctx) for child in criteria.children)
        return all_of(children) if criteria.operator == "AND" else any_of(children)
    return lower_condition(criteria, module, ctx)


def all_of(nodes: tuple[Node, ...]) -> Node:
    return nodes[0] if len(nodes) == 1 else All(nodes)


def any_of(nodes: tuple[Node, ...]) -> Node:
    if not nodes:
        return Const(False)
    return nodes[0] if len(nodes) == 1 else AnyOf(nodes)


def lower_condition(condition: Condition, module: Module, ctx: EvalContext) -> Node:
    f = _field(module, condition.field)
    comparator, value = condition.comparator, condition.value
    if isinstance(value, FieldRef):
        other = _field(module, value.api_name)
        if comparator == NOT_EQUAL:
            return Not(FieldCompare(f, "=", other))
        return FieldCompare(f, ORDER_OPS[comparator], other)
    if isinstance(value, Predefined) and value.name in EMPTINESS:
        empty = IsEmpty(f)
        return empty if (value.name == EMPTY) == (comparator == EQUAL) else Not(empty)
    values = value if isinstance(value, tuple) else (value,)
    match f.kind:
        case Kind.TEXT | Kind.PICKLIST:
            return _text(f, comparator, values)
        case Kind.MULTISELECT:
            return _multiselect(f, comparator, values)
        case Kind.NUMBER:
            return _number(f, comparator, values)
        case Kind.BOOLEAN:
            wanted = {bool(v) for v in values}
            positive: Node = Const(True) if len(wanted) == 2 else BoolIs(f, wanted.pop())
            return Not(positive) if comparator == NOT_EQUAL else positive
        case Kind.REFERENCE:
            return _reference(f, comparator, values, ctx)
        case Kind.DATE | Kind.DATETIME:
            spans = tuple(_span(f, v, ctx) for v in values)
            return _dates(f, comparator, spans)
        case Kind.TERRITORIES:
            raise ValueError(f"{f.api_name} cannot be used in criteria")


def _field(module: Module, api_name: str) -> Field:
    f = module.field(api_name)
    if f is None:
        raise ValueError(f"{api_name} is not a field of {module.api_name}: validate first")
    return f


def _text(f: Field, comparator: str, values: tuple[Scalar, ...]) -> Node:
    folded = tuple(dict.fromkeys(fold(str(v)) for v in values))
    if comparator in (EQUAL, IN):
        return TextIn(f, folded)
    if comparator in (NOT_EQUAL, NOT_IN):
        return Not(TextIn(f, folded))
    has = TextHas(f, TEXT_MODES[comparator], folded[0])
    if comparator == NOT_CONTAINS:
        return All((Not(IsEmpty(f)), Not(has)))
    return has


def _multiselect(f: Field, comparator: str, values: tuple[Scalar, ...]) -> Node:
    has = tuple(MultiHas(f, item) for item in dict.fromkeys(fold(str(v)) for v in values))
    not_empty = Not(IsEmpty(f))
    if comparator == INCLUDE_ALL:
        return all_of(has)
    if comparator == INCLUDE_ANY:
        return any_of(has)
    if comparator == EXCLUDE_ALL:
        return All((not_empty, Not(any_of(has))))
    if comparator == EXCLUDE_ANY:
        return All((not_empty, Not(all_of(has))))
    raise ValueError(f"{comparator} is not a multi-select comparator")


def _number(f: Field, comparator: str, values: tuple[Scalar, ...]) -> Node:
    numbers = tuple(_as_number(v) for v in values)
    if comparator in (EQUAL, IN):
        return OneOf(f, tuple(dict.fromkeys(numbers)))
    if comparator in (NOT_EQUAL, NOT_IN):
        return Not(OneOf(f, tuple(dict.fromkeys(numbers))))
    if comparator == BETWEEN:
        return All((Compare(f, ">=", numbers[0]), Compare(f, "<=", numbers[1])))
    if comparator == NOT_BETWEEN:
        return AnyOf((Compare(f, "<", numbers[0]), Compare(f, ">", numbers[1])))
    return Compare(f, ORDER_OPS[comparator], numbers[0])


def _as_number(value: Scalar) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number: validate first")
    return value


def _reference(f: Field, comparator: str, values: tuple[Scalar, ...], ctx: EvalContext) -> Node:
    ids: list[int] = []
    for v in values:
        if isinstance(v, Predefined):
            if v.name == CURRENTUSER and ctx.user_id is not None:
                ids.append(ctx.user_id)
        elif isinstance(v, int) and not isinstance(v, bool):
            ids.append(v)
    positive: Node = OneOf(f, tuple(dict.fromkeys(ids))) if ids else Const(False)
    return Not(positive) if comparator in (NOT_EQUAL, NOT_IN) else positive


@dataclass(frozen=True, slots=True)
class Span:
    """Values from `low` (inclusive) to `high` (inclusive, or exclusive when `open`)."""

    low: date | datetime
    high: date | datetime
    open: bool

    @property
    def point(self) -> bool:
        return self.low == self.high and not self.open


def _span(f: Field, value: Scalar, ctx: EvalContext) -> Span:
    if isinstance(value, Predefined):
        first, last = day_range(value, ctx.today)
    elif isinstance(value, datetime):
        return Span(value, value, open=False)
    elif isinstance(value, date):
        first = last = value
    else:
        raise ValueError(f"{value!r} is not a date: validate first")
    if f.kind is Kind.DATE:
        return Span(first, last, open=False)
    return Span(_day_start(ctx, first), _day_start(ctx, last, after=True), open=True)


def _day_start(ctx: EvalContext, day: date, *, after: bool = False) -> datetime:
    """The first instant of `day` (or of the day after it) in the context's time zone."""
    try:
        return ctx.start_of(day + timedelta(days=1) if after else day)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC) if after else datetime.min.replace(tzinfo=UTC)


def _dates(f: Field, comparator: str, spans: tuple[Span, ...]) -> Node:
    if comparator in (EQUAL, NOT_EQUAL):
        within = any_of(tuple(_within(f, s) for s in dict.fromkeys(spans)))
        return within if comparator == EQUAL else Not(within)
    if comparator == BETWEEN:
        return All((Compare(f, ">=", spans[0].low), _up_to(f, spans[1])))
    if comparator == NOT_BETWEEN:
        return AnyOf((Compare(f, "<", spans[0].low), _after(f, spans[1])))
    span = spans[0]
    if comparator == GREATER_THAN:
        return _after(f, span)
    if comparator == GREATER_EQUAL:
        return Compare(f, ">=", span.low)
    if comparator == LESS_THAN:
        return Compare(f, "<", span.low)
    if comparator == LESS_EQUAL:
        return _up_to(f, span)
    raise ValueError(f"{comparator} is not a date comparator")


def _within(f: Field, span: Span) -> Node:
    if span.point:
        return Compare(f, "=", span.low)
    return All((Compare(f, ">=", span.low), _up_to(f, span)))


def _up_to(f: Field, span: Span) -> Node:
    return Compare(f, "<" if span.open else "<=", span.high)


def _after(f: Field, span: Span) -> Node:
    return Compare(f, ">=" if span.open else ">", span.high)
