"""Criteria → a SQL condition (SQLAlchemy Core) that answers as the in-process predicate does.

Both evaluators translate the same lowered plan (`secteur.domain.criteria.plan`). Here every
primitive is guarded so that it is TRUE or FALSE, never NULL — an empty column makes a leaf
FALSE — and NOT / OR then compose as in Python. Text is compared on the folded shadow
columns against needles folded by `secteur.domain.text.fold`, never with the database's own
case rules, and substring tests use position functions (sqlfunc), never LIKE.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db.records_schema import RecordTable
from secteur.adapters.db.sqlfunc import contains, ends_with, starts_with
from secteur.domain.criteria import Criteria, EvalContext, validate_criteria
from secteur.domain.criteria.evaluate import FLOAT_TYPES
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
from secteur.domain.fields import Field, Kind
from secteur.domain.text import MULTISELECT_SEPARATOR

Column = sa.ColumnElement[Any]
Condition = sa.ColumnElement[bool]

OPERATORS: dict[Op, Callable[[Any, Any], Condition]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
TEXT_TESTS: dict[str, Callable[[Column, str], Condition]] = {
    "starts": starts_with,
    "ends": ends_with,
    "contains": contains,
}


def compile_sql(criteria: Criteria, table: RecordTable, ctx: EvalContext) -> Condition:
    """The WHERE condition selecting the rows of `table` that `criteria` match.

    Validates `criteria` against the table's module first (CriteriaError).
    """
    module = table.module
    return _Compiler(table).node(lower(validate_criteria(criteria, module), module, ctx))


class _Compiler:
    def __init__(self, table: RecordTable) -> None:
        self.table = table

    def node(self, node: Node) -> Condition:
        match node:
            case Const(value=value):
                return sa.true() if value else sa.false()
            case Not(node=inner):
                return sa.not_(self.node(inner))
            case All(nodes=nodes):
                return sa.and_(*(self.node(n) for n in nodes))
            case AnyOf(nodes=nodes):
                return sa.or_(*(self.node(n) for n in nodes))
            case IsEmpty(field=f):
                return self.is_empty(f)
            case TextIn(field=f, values=values):
                folded = self.table.fold_column(f)
                return sa.and_(folded.is_not(None), _one_of(folded, values))
            case TextHas(field=f, mode=mode, value=needle):
                folded = self.table.fold_column(f)
                return sa.and_(folded.is_not(None), TEXT_TESTS[mode](folded, needle))
            case MultiHas(field=f, item=item):
                folded = self.table.fold_column(f)
                needle = MULTISELECT_SEPARATOR + item + MULTISELECT_SEPARATOR
                return sa.and_(folded.is_not(None), contains(folded, needle))
            case Compare(field=f, op=op, value=value):
                column = self.table.column(f)
                return sa.and_(column.is_not(None), OPERATORS[op](column, value))
            case OneOf(field=f, values=values):
                column = self.table.column(f)
                return sa.and_(column.is_not(None), _one_of(column, values))
            case BoolIs(field=f, value=value):
                return _boolean(self.table.column(f)) == (sa.true() if value else sa.false())
            case FieldCompare():
                return self.field_compare(node)
        raise TypeError(f"unknown plan node {node!r}")

    def is_empty(self, f: Field) -> Condition:
        if f.kind is Kind.BOOLEAN:
            return sa.false()  # never empty: a missing boolean is false
        if f.folded:
            folded = self.table.fold_column(f)
            return sa.or_(folded.is_(None), folded == "")
        return self.table.column(f).is_(None)

    def field_compare(self, node: FieldCompare) -> Condition:
        compare = OPERATORS[node.op]
        if node.left.kind is Kind.BOOLEAN:
            return compare(
                _boolean(self.table.column(node.left)), _boolean(self.table.column(node.right))
            )
        if node.left.folded:
            a, b = self.table.fold_column(node.left), self.table.fold_column(node.right)
            return sa.and_(a.is_not(None), b.is_not(None), a != "", b != "", compare(a, b))
        a, b = self.table.column(node.left), self.table.column(node.right)
        guard = sa.and_(a.is_not(None), b.is_not(None))
        if node.left.data_type in FLOAT_TYPES or node.right.data_type in FLOAT_TYPES:
            return sa.and_(guard, compare(sa.cast(a, sa.Double()), sa.cast(b, sa.Double())))
        return sa.and_(guard, compare(a, b))


def _one_of(column: Column, values: tuple[Any, ...]) -> Condition:
    if len(values) == 1:
        equal: Condition = column == values[0]
        return equal
    return column.in_(values)


def _boolean(column: Column) -> Column:
    return sa.func.coalesce(column, sa.false(), type_=sa.Boolean())
