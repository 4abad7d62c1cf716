"""Automatic assignment of many records at once, column by column (TER-11 … TER-15).

`assign_columns(rules, columns, cap)` answers, for rows 0 … N-1, exactly what
`[rules.assign(record, cap) for record in records]` answers, without taking one record at a
time. Each territory's lowered rule (`CompiledRules.plans`) is evaluated as a boolean mask over
columns, and only on the rows that reached the territory: every row at the root, then the rows
that matched the parent (TER-11) — a pass-through territory hands its own rows on (TER-15). A
territory is assigned to the rows it matched that none of its descendants took (TER-12);
the pairs are then ordered by row and pre-order rank and capped (TER-13, TER-14).

Text is factorised once per column: a text test runs once per distinct value, and each row
gets its answer through its value's code. A visited territory costs O(rows it is tested on),
whatever its rule. Where many siblings each test one text field for a few values (a territory
per country, per postal code), the rows that reach them are grouped by that value once, and
each sibling costs O(its matches) instead (`index_siblings`).

The answer is a `BulkAssignment`: (row, territory) pairs as int64 arrays, `rows` ascending
and each row's `territory_ids` in pre-order, the first `cap` of each row kept and the others in
`dropped_rows` / `dropped_ids`; `assignment(row)` gives one row's `Assignment`.

The column form
---------------
`Columns(size, {api_name: column})` holds a column for each field the rules read
(`rules.fields`; other columns are ignored). `columns_from_records(module, fields, records)`
builds it from canonical records (api_name → value); a database adapter builds the columns
straight from query results, without Python records:

* Text, picklist and multi-select fields: `TextColumn.of(folded, empty=None)`. `folded[i]` is
  what the field's folded shadow column (`Field.fold_column`) holds: `fold(value)` for text
  and picklists, `fold_multiselect(values)` for multi-selects, None (NULL) when the row has no
  value. `empty[i]`: the field is empty (None, "" or ()); by default, a row whose folded value
  is None or "". An already factorised column is taken as is by `TextColumn(codes, categories,
  empty)`: `categories` are the distinct folded values, `codes[i]` the index of row i's value
  in them, -1 for none.
* Numbers, lookups and owners: `NumberColumn.of(values, empty=None)`. `values` is int64 for
  integer and bigint fields and for ids (record and user ids do not fit in a float64: never
  pass them as floats), float64 (or anything that casts to it) for double, currency and
  percent fields. `empty[i]`: the row has no value; what `values[i]` holds there is ignored.
* Dates: `NumberColumn.of(values, empty=None)`, `values` a `datetime64[D]` array or int64
  days since 1970-01-01. Date-times: a `datetime64` array of any finer unit, in UTC, or int64
  microseconds since 1970-01-01T00:00:00Z. NaT counts as empty.
* Booleans: `BoolColumn.of(values)`: `values[i]` is the checkbox; None (NULL) is False.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from secteur.domain.criteria.evaluate import FLOAT_TYPES, is_empty
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
)
from secteur.domain.fields import Field, Kind, Module
from secteur.domain.territories.assign import Assignment, CompiledRules
from secteur.domain.text import MULTISELECT_SEPARATOR, fold, fold_multiselect

Bools: TypeAlias = npt.NDArray[np.bool_]
Ints: TypeAlias = npt.NDArray[np.int64]
Positions: TypeAlias = npt.NDArray[np.intp]
Codes: TypeAlias = npt.NDArray[np.int32]
Numbers: TypeAlias = npt.NDArray[np.int64] | npt.NDArray[np.float64]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DAY = date(1970, 1, 1).toordinal()
MICROSECOND = timedelta(microseconds=1)
# Below this many distinct values a text test runs in Python; above, in NumPy's string loops.
VECTORISED_TEXT = 256
# From this many siblings testing one text field for values, their rows are found by grouping.
INDEX_SIBLINGS = 24


def _bools(values: npt.ArrayLike, size: int, name: str) -> Bools:
    array = np.asarray(values, dtype=np.bool_)
    if array.shape != (size,):
        raise ValueError(f"{name}: expected {size} values, got shape {array.shape}")
    return array


# --- columns ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TextColumn:
    """A text, picklist or multi-select field, factorised: each distinct folded value once."""

    codes: Codes
    categories: tuple[str, ...]
    empty: Bools

    def __post_init__(self) -> None:
        codes = np.asarray(self.codes, dtype=np.int32)
        if codes.ndim != 1:
            raise ValueError("codes: expected a one-dimensional array")
        if codes.size and (codes.min() < -1 or codes.max() >= len(self.categories)):
            raise ValueError("codes: each is -1 or the index of a category")
        categories = tuple(self.categories)
        if len(set(categories)) != len(categories):
            raise ValueError("categories: each value once")
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "categories", categories)
        object.__setattr__(self, "empty", _bools(self.empty, codes.size, "empty"))

    @classmethod
    def of(cls, folded: Iterable[str | None], empty: npt.ArrayLike | None = None) -> TextColumn:
        """From folded values (`fold` / `fold_multiselect` forms), None where there is none."""
        index: dict[str, int] = {}
        codes = np.fromiter(
            (-1 if v is None else index.setdefault(v, len(index)) for v in folded), np.int32
        )
        if empty is None:
            blank = index.get("")
            empty = codes == -1 if blank is None else (codes == -1) | (codes == blank)
        return cls(codes, tuple(index), _bools(empty, codes.size, "empty"))

    def __len__(self) -> int:
        return int(self.codes.size)

    @cached_property
    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.categories)}

    @cached_property
    def _array(self) -> npt.NDArray[np.str_] | None:
        """The categories for NumPy's string loops; None if a NUL would not survive them."""
        if "\x00" in "".join(self.categories):
            return None
        return np.array(self.categories, dtype=np.str_)

    def table(self, test: Callable[[str], bool]) -> Bools:
        """test(category) per category, and False last: indexed by a code, -1 included."""
        out = np.zeros(len(self.categories) + 1, dtype=np.bool_)
        out[:-1] = np.fromiter(map(test, self.categories), np.bool_, len(self.categories))
        return out

    def table_in(self, values: Iterable[str]) -> Bools:
        out = np.zeros(len(self.categories) + 1, dtype=np.bool_)
        index = self.index
        for value in values:
            code = index.get(value)
            if code is not None:
                out[code] = True
        return out

    def table_has(self, mode: str, needle: str) -> Bools:
        array = self._array
        if len(self.categories) < VECTORISED_TEXT or array is None or "\x00" in needle:
            tests: dict[str, Callable[[str], bool]] = {
                "starts": lambda c: c.startswith(needle),
                "ends": lambda c: c.endswith(needle),
            }
            return self.table(tests.get(mode, lambda c: needle in c))
        out = np.zeros(len(self.categories) + 1, dtype=np.bool_)
        if mode == "starts":
            out[:-1] = np.char.startswith(array, needle)
        elif mode == "ends":
            out[:-1] = np.char.endswith(array, needle)
        else:
            out[:-1] = np.char.find(array, needle) >= 0
        return out


@dataclass(frozen=True, eq=False)
class NumberColumn:
    """A number, id, date or date-time field: int64 or float64 values and an empty mask."""

    values: Numbers
    empty: Bools

    def __post_init__(self) -> None:
        values: npt.NDArray[Any] = np.asarray(self.values)
        if values.ndim != 1:
            raise ValueError("values: expected a one-dimensional array")
        empty = _bools(self.empty, values.size, "empty")
        if values.dtype.kind == "M":
            unit = np.datetime_data(values.dtype)[0]
            if unit in ("Y", "M", "W"):
                raise ValueError(f"datetime64[{unit}]: give days or a finer unit")
            empty = empty | np.isnat(values)
            values = values.astype("datetime64[D]" if unit == "D" else "datetime64[us]")
            values = values.view(np.int64)
        elif values.dtype.kind in "biu":
            values = values.astype(np.int64)
        elif values.dtype.kind == "f":
            values = values.astype(np.float64)
        else:
            raise TypeError(f"values: expected numbers or datetime64, got {values.dtype}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "empty", empty)

    @classmethod
    def of(cls, values: npt.ArrayLike, empty: npt.ArrayLike | None = None) -> NumberColumn:
        array = np.asarray(values)
        return cls(array, np.zeros(array.shape, np.bool_) if empty is None else np.asarray(empty))

    def __len__(self) -> int:
        return int(self.values.size)


@dataclass(frozen=True, eq=False)
class BoolColumn:
    """A boolean field: `values[i]` is the checkbox (None is False); `empty[i]`: it was None."""

    values: Bools
    empty: Bools

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.bool_)
        if values.ndim != 1:
            raise ValueError("values: expected a one-dimensional array")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "empty", _bools(self.empty, values.size, "empty"))

    @classmethod
    def of(cls, values: Sequence[Any] | npt.ArrayLike) -> BoolColumn:
        array = np.asarray(values)
        if array.dtype == np.object_:
            items = array.tolist()
            truth = np.fromiter((bool(v) for v in items), np.bool_, len(items))
            return cls(truth, np.fromiter((v is None for v in items), np.bool_, len(items)))
        return cls(array.astype(np.bool_), np.zeros(array.shape, np.bool_))

    def __len__(self) -> int:
        return int(self.values.size)


Column: TypeAlias = TextColumn | NumberColumn | BoolColumn


@dataclass(frozen=True, eq=False)
class Columns:
    """`size` rows; a column per field api name (at least each field the rules read)."""

    size: int
    by_field: Mapping[str, Column]

    def __post_init__(self) -> None:
        for name, column in self.by_field.items():
            if len(column) != self.size:
                raise ValueError(f"column {name} has {len(column)} rows, expected {self.size}")

    def __getitem__(self, api_name: str) -> Column:
        try:
            return self.by_field[api_name]
        except KeyError:
            raise KeyError(
                f"no column for {api_name}: give one for each field in rules.fields"
            ) from None


def columns_from_records(
    module: Module, fields: Iterable[str], records: Sequence[Mapping[str, Any]]
) -> Columns:
    """The columns of `fields` (api names of `module`) over canonical records.

    Values as `secteur.domain.records` makes them: text and picklists `str`, multi-selects a
    tuple of `str`, integers `int`, doubles/currencies/percents `float` (or anything `float()`
    takes), dates `date`, date-times aware `datetime`, booleans `bool`, lookups and owners int
    ids; any of them None, "" or absent when empty. ValueError for a value no column can hold
    exactly (an integer beyond int64, a naive date-time…).
    """
    by_field: dict[str, Column] = {}
    for name in dict.fromkeys(fields):
        f = module.field(name)
        if f is None:
            raise ValueError(f"{name} is not a field of {module.api_name}")
        raw = [r.get(f.api_name) for r in records]
        by_field[f.api_name] = _column(f, raw)
    return Columns(len(records), by_field)


def _column(f: Field, raw: list[Any]) -> Column:
    size = len(raw)
    empty = np.fromiter(map(is_empty, raw), np.bool_, size)
    match f.kind:
        case Kind.TEXT | Kind.PICKLIST:
            return TextColumn.of((fold(v) if isinstance(v, str) else None for v in raw), empty)
        case Kind.MULTISELECT:
            return TextColumn.of((fold_multiselect(v) if v else None for v in raw), empty)
        case Kind.BOOLEAN:
            return BoolColumn(np.fromiter(map(bool, raw), np.bool_, size), empty)
        case Kind.NUMBER if f.data_type in FLOAT_TYPES:
            floats = (math.nan if e else float(v) for v, e in zip(raw, empty.tolist(), strict=True))
            return NumberColumn(np.fromiter(floats, np.float64, size), empty)
        case Kind.NUMBER | Kind.REFERENCE:
            convert: Callable[[Any], int] = _integer
        case Kind.DATE:
            convert = _day
        case Kind.DATETIME:
            convert = _micros
        case _:
            raise ValueError(f"{f.api_name}: a {f.data_type} field has no column")
    try:
        ints = (0 if e else convert(v) for v, e in zip(raw, empty.tolist(), strict=True))
        return NumberColumn(np.fromiter(ints, np.int64, size), empty)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{f.api_name}: {exc}") from None


def _integer(value: Any) -> int:
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not an integer") from None
        if number != value:
            raise ValueError(f"{value!r} is not an integer")
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError(f"{value!r} does not fit in 64 bits")
    return number


def _day(value: Any) -> int:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{value!r} is not a date")
    return value.toordinal() - EPOCH_DAY


def _micros(value: Any) -> int:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{value!r} is not an aware date-time")
    return (value - EPOCH) // MICROSECOND


# --- rules as masks -----------------------------------------------------------------------------


class _View:
    """The rows a territory's children are tested on (all rows when `rows` is None).

    Columns are gathered onto the rows once per view, whichever sibling reads them first.
    """

    __slots__ = ("_grouped", "_taken", "rows", "size")

    def __init__(self, rows: Positions | None, size: int) -> None:
        self.rows = rows
        self.size = size
        self._taken: dict[int, npt.NDArray[Any]] = {}
        self._grouped: dict[int, tuple[Positions, Codes]] = {}

    def take(self, array: npt.NDArray[Any]) -> npt.NDArray[Any]:
        if self.rows is None:
            return array
        key = id(array)  # the arrays outlive the view: ids are stable
        taken = self._taken.get(key)
        if taken is None:
            taken = self._taken[key] = array[self.rows]
        return taken

    def grouped(self, codes: Codes) -> tuple[Positions, Codes]:
        """The positions sorted by code (ascending within a code), and the codes in that order."""
        key = id(codes)
        found = self._grouped.get(key)
        if found is None:
            taken = self.take(codes)
            order = np.argsort(taken, kind="stable")
            found = self._grouped[key] = (order, taken[order])
        return found

    def rows_at(self, positions: Positions) -> Positions:
        return positions if self.rows is None else self.rows[positions]

    def sub(self, positions: Positions) -> _View:
        return _View(self.rows_at(positions), int(positions.size))


Mask: TypeAlias = Callable[[_View], Bools]
Finder: TypeAlias = Callable[[_View], Positions]
NO_POSITIONS: Positions = np.zeros(0, dtype=np.intp)
Test: TypeAlias = Callable[[npt.NDArray[Any]], Bools]

_OPS: dict[str, Callable[[Any, Any], Bools]] = {
    "=": np.equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def _constant(value: bool) -> Test:
    return lambda a: np.full(a.shape, value, dtype=np.bool_)


def _versus_int(op: Op, literal: int | float) -> Test:
    """x `op` literal over int64 values, as Python compares an int with an int or a float."""
    if isinstance(literal, float):
        if math.isnan(literal):
            return _constant(False)
        if math.isinf(literal):
            return _constant(op in ("<", "<=") if literal > 0 else op in (">", ">="))
        if not literal.is_integer():
            if op == "=":
                return _constant(False)
            op = "<=" if op in ("<", "<=") else ">"
            literal = math.floor(literal)
        literal = int(literal)
    if literal > INT64_MAX:
        return _constant(op in ("<", "<="))
    if literal < INT64_MIN:
        return _constant(op in (">", ">="))
    compare, scalar = _OPS[op], np.int64(literal)
    return lambda a: compare(a, scalar)


def _versus_float(op: Op, literal: int | float) -> Test:
    """x `op` literal over float64 values, as Python compares a float with an int or a float."""
    if isinstance(literal, int):
        try:
            rounded = float(literal)
        except OverflowError:
            rounded = math.inf if literal > 0 else -math.inf
        if rounded != literal:  # no float equals `literal`, none lies between it and `rounded`
            if op == "=":
                return _constant(False)
            below = rounded < literal
            upward: dict[str, Op] = {"<": "<=" if below else "<", ">": ">" if below else ">="}
            op = upward[op.rstrip("=")]
        literal = rounded
    compare, scalar = _OPS[op], np.float64(literal)
    return lambda a: compare(a, scalar)


def _members(dtype: np.dtype[Any], values: Iterable[int | float]) -> npt.NDArray[Any]:
    """The values of a OneOf some value of `dtype` can equal, as that dtype."""
    kept: list[int | float] = []
    for v in values:
        if dtype.kind == "f":
            try:
                as_float = float(v)
            except OverflowError:
                continue
            if as_float == v:  # NaN never is, nor an int no float equals
                kept.append(as_float)
        elif (isinstance(v, int) or v.is_integer()) and INT64_MIN <= int(v) <= INT64_MAX:
            kept.append(int(v))
    return np.array(kept, dtype=dtype)


class _Compiler:
    """Lowered rules → functions from a view to the mask of its rows that match."""

    def __init__(self, columns: Columns) -> None:
        self.columns = columns
        self._tables: dict[tuple[Any, ...], Bools] = {}
        self._numbers: dict[str, tuple[Numbers, Bools]] = {}
        self._masks: dict[Hashable, Mask] = {}

    def compile(self, node: Node) -> Mask:
        """The node's mask; alike nodes share one (territories repeat rules and parts of them)."""
        key = _key(node)
        mask = self._masks.get(key)
        if mask is None:
            mask = self._masks[key] = self._build(node)
        return mask

    def _build(self, node: Node) -> Mask:
        match node:
            case Const(value=value):
                return lambda v: np.full(v.size, value, dtype=np.bool_)
            case Not(node=inner):
                positive = self.compile(inner)
                return lambda v: ~positive(v)
            case All(nodes=nodes):
                return _every(tuple(self.compile(n) for n in nodes))
            case AnyOf(nodes=nodes):
                return _some(tuple(self.compile(n) for n in nodes))
            case IsEmpty(field=f):
                empty = self.columns[f.api_name].empty
                return lambda v: v.take(empty)
            case TextIn(field=f, values=values):
                text = self._text(f, Kind.TEXT, Kind.PICKLIST)
                return self._lookup(text, ("in", f.api_name, frozenset(values)), text.table_in)
            case TextHas(field=f, mode=mode, value=needle):
                text = self._text(f, Kind.TEXT, Kind.PICKLIST)
                return self._has(text, f, mode, needle)
            case MultiHas(field=f, item=item):
                text = self._text(f, Kind.MULTISELECT)
                sep = MULTISELECT_SEPARATOR
                return self._has(text, f, "contains", sep + item + sep)
            case Compare(field=f, op=op, value=literal):
                return self._compare(f, op, literal)
            case OneOf(field=f, values=values):
                return self._one_of(f, values)
            case BoolIs(field=f, value=wanted):
                truth = self._bool(f).values
                chosen = truth if wanted else ~truth
                return lambda v: v.take(chosen)
            case FieldCompare():
                return self._field_compare(node)
        raise TypeError(f"not a lowered rule: {node!r}")

    def indexed(self, test: TextIn, rest: Node | None) -> Finder:
        """The positions matching `test` and `rest`, found through the view's rows grouped by
        value: O(matches) per territory rather than O(rows), once the grouping is made."""
        text = self._text(test.field, Kind.TEXT, Kind.PICKLIST)
        index = text.index
        wanted = np.array(sorted({index[v] for v in test.values if v in index}), dtype=np.int32)
        codes = text.codes
        others = None if rest is None else self.compile(rest)

        def find(v: _View) -> Positions:
            if wanted.size == 0:
                return NO_POSITIONS
            order, ordered = v.grouped(codes)
            low = np.searchsorted(ordered, wanted, "left").tolist()
            high = np.searchsorted(ordered, wanted, "right").tolist()
            parts = [order[a:b] for a, b in zip(low, high, strict=True) if a < b]
            if not parts:
                return NO_POSITIONS
            found = parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))
            if others is not None:
                found = found[others(v.sub(found))]
            return found

        return find

    # --- columns of the right kind ---

    def _text(self, f: Field, *kinds: Kind) -> TextColumn:
        column = self.columns[f.api_name]
        if f.kind not in kinds or not isinstance(column, TextColumn):
            raise TypeError(f"{f.api_name}: expected a TextColumn for a {f.data_type} field")
        return column

    def _bool(self, f: Field) -> BoolColumn:
        column = self.columns[f.api_name]
        if not isinstance(column, BoolColumn):
            raise TypeError(f"{f.api_name}: expected a BoolColumn")
        return column

    def _number(self, f: Field) -> tuple[Numbers, Bools]:
        """The values as the evaluators compare them, and where there is one.

        Float values hold NaN where the field is empty: every comparison with NaN is False,
        as every leaf test is on an empty field, so they need no mask.
        """
        found = self._numbers.get(f.api_name)
        if found is not None:
            return found
        column = self.columns[f.api_name]
        if not isinstance(column, NumberColumn) or f.kind not in (
            Kind.NUMBER,
            Kind.REFERENCE,
            Kind.DATE,
            Kind.DATETIME,
        ):
            raise TypeError(f"{f.api_name}: expected a NumberColumn for a {f.data_type} field")
        values: Numbers = column.values
        if f.data_type in FLOAT_TYPES or values.dtype.kind == "f":
            values = np.where(column.empty, np.nan, values.astype(np.float64))
        found = self._numbers[f.api_name] = (values, ~column.empty)
        return found

    # --- leaves ---

    def _lookup(self, text: TextColumn, key: tuple[Any, ...], make: Callable[[Any], Bools]) -> Mask:
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = make(key[-1])
        codes = text.codes
        return lambda v: table[v.take(codes)]

    def _has(self, text: TextColumn, f: Field, mode: str, needle: str) -> Mask:
        return self._lookup(
            text, ("has", f.api_name, mode, needle), lambda n: text.table_has(mode, n)
        )

    def _literal(self, f: Field, literal: Any) -> int | float:
        if f.kind is Kind.DATE:
            return _day(literal)
        if f.kind is Kind.DATETIME:
            return _micros(literal)
        if isinstance(literal, int | float):
            return literal
        raise TypeError(f"{f.api_name}: cannot compare with {literal!r}")

    def _masked(self, f: Field, test: Test) -> Mask:
        values, present = self._number(f)
        if values.dtype.kind == "f":
            return lambda v: test(v.take(values))
        return lambda v: v.take(present) & test(v.take(values))

    def _compare(self, f: Field, op: Op, literal: Any) -> Mask:
        values, _ = self._number(f)
        number = self._literal(f, literal)
        versus = _versus_float if values.dtype.kind == "f" else _versus_int
        return self._masked(f, versus(op, number))

    def _one_of(self, f: Field, literals: Iterable[int | float]) -> Mask:
        values, _ = self._number(f)
        members = _members(values.dtype, (self._literal(f, x) for x in literals))
        if members.size == 0:
            return lambda v: np.zeros(v.size, dtype=np.bool_)
        if members.size == 1:
            only = members[0]
            return self._masked(f, lambda a: np.equal(a, only))
        return self._masked(f, lambda a: np.isin(a, members))

    def _field_compare(self, node: FieldCompare) -> Mask:
        left, right, compare = node.left, node.right, _OPS[node.op]
        if left.kind is Kind.BOOLEAN:
            p, q = self._bool(left).values, self._bool(right).values
            return lambda v: compare(v.take(p), v.take(q))
        if left.kind in (Kind.TEXT, Kind.PICKLIST):
            return self._text_compare(node)
        (a, a_present), (b, b_present) = self._number(left), self._number(right)
        as_float = left.data_type in FLOAT_TYPES or right.data_type in FLOAT_TYPES
        if as_float or a.dtype.kind != b.dtype.kind:
            a, b = a.astype(np.float64), b.astype(np.float64)
        both = a_present & b_present
        return lambda v: v.take(both) & compare(v.take(a), v.take(b))

    def _text_compare(self, node: FieldCompare) -> Mask:
        """Folded texts compared by their rank among both columns' values, sorted as Python."""
        left = self._text(node.left, Kind.TEXT, Kind.PICKLIST)
        right = self._text(node.right, Kind.TEXT, Kind.PICKLIST)
        rank = {c: i for i, c in enumerate(sorted({*left.categories, *right.categories}))}

        def ranks(text: TextColumn) -> tuple[Ints, Bools]:
            order = np.fromiter((rank[c] for c in text.categories), np.int64)
            filled = np.fromiter((c != "" for c in text.categories), np.bool_)
            return np.append(order, -1), np.append(filled, False)

        (a_rank, a_filled), (b_rank, b_filled) = ranks(left), ranks(right)
        a_codes, b_codes, compare = left.codes, right.codes, _OPS[node.op]

        def test(v: _View) -> Bools:
            a, b = v.take(a_codes), v.take(b_codes)
            out: Bools = a_filled[a] & b_filled[b] & compare(a_rank[a], b_rank[b])
            return out

        return test


def _key(node: Node) -> Hashable:
    """What a node's mask depends on: its kind, its fields' names (one module) and its values."""
    if isinstance(node, All | AnyOf):
        return (type(node), tuple(_key(n) for n in node.nodes))
    if isinstance(node, Not):
        return (Not, _key(node.node))
    if isinstance(node, Const):
        return (Const, node.value)
    if isinstance(node, FieldCompare):
        return (FieldCompare, node.left.api_name, node.op, node.right.api_name)
    name = node.field.api_name
    if isinstance(node, Compare):
        return (Compare, name, node.op, type(node.value), node.value)
    if isinstance(node, TextIn | OneOf):
        return (type(node), name, node.values)
    if isinstance(node, TextHas):
        return (TextHas, name, node.mode, node.value)
    if isinstance(node, MultiHas):
        return (MultiHas, name, node.item)
    if isinstance(node, BoolIs):
        return (BoolIs, name, node.value)
    return (IsEmpty, name)


def _every(masks: tuple[Mask, ...]) -> Mask:
    def every(v: _View) -> Bools:
        out = masks[0](v)
        for mask in masks[1:]:
            if not out.any():
                break
            out = out & mask(v)
        return out

    return every


def _some(masks: tuple[Mask, ...]) -> Mask:
    def some(v: _View) -> Bools:
        out = masks[0](v)
        for mask in masks[1:]:
            if out.all():
                break
            out = out | mask(v)
        return out

    return some


# --- the walk -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BulkAssignment:
    """(row, territory) pairs: kept ones sorted by row then pre-order, and those the cap dropped.

    `rows[i]` got `territory_ids[i]`; `dropped_rows[i]` lost `dropped_ids[i]` to the cap.
    """

    size: int
    rows: Ints
    territory_ids: Ints
    dropped_rows: Ints
    dropped_ids: Ints

    @cached_property
    def _bounds(self) -> tuple[Ints, Ints]:
        everyone = np.arange(self.size + 1)
        return (
            np.searchsorted(self.rows, everyone).astype(np.int64),
            np.searchsorted(self.dropped_rows, everyone).astype(np.int64),
        )

    def counts(self) -> Ints:
        """Territories kept per row."""
        return np.diff(self._bounds[0])

    def assignment(self, row: int) -> Assignment:
        if not 0 <= row < self.size:
            raise IndexError(row)
        kept, dropped = self._bounds
        return Assignment(
            tuple(self.territory_ids[kept[row] : kept[row + 1]].tolist()),
            tuple(self.dropped_ids[dropped[row] : dropped[row + 1]].tolist()),
        )

    def assignments(self) -> list[Assignment]:
        return [self.assignment(row) for row in range(self.size)]


class _Visit:
    """A territory whose subtree is being walked, on the rows that reached it."""

    __slots__ = ("children", "covered", "matched", "next", "tid", "view")

    def __init__(
        self, tid: int, view: _View, children: tuple[int, ...], matched: Positions | None
    ) -> None:
        self.tid = tid
        self.view = view
        self.children = children
        self.next = 0
        # Positions (in the parent's view) of the rows that matched; None: pass-through.
        self.matched = matched
        # Rows of `view` that a descendant was assigned to.
        self.covered = np.zeros(view.size, dtype=np.bool_)


def assign_columns(
    rules: CompiledRules, columns: Columns, cap: int, *, index_siblings: int = INDEX_SIBLINGS
) -> BulkAssignment:
    """Every row's automatic territories, as `rules.assign(record, cap)` gives them.

    `index_siblings` only tunes the speed: from that many siblings testing the same text field
    for given values (a territory per country, per postal code…), the rows that reach them are
    grouped by that field's value once, and each sibling finds its rows in the groups.
    """
    tree = rules.tree
    finders = _finders(rules, _Compiler(columns), index_siblings)
    children = tree.children
    found_rows: list[Positions] = []
    found_ids: list[int] = []

    # A pass-through parent above the root starts the walk on every row.
    stack = [_Visit(-1, _View(None, columns.size), (tree.root_id,), None)]
    while stack:
        top = stack[-1]
        if top.next < len(top.children):
            child = top.children[top.next]
            top.next += 1
            kids = children[child]
            find = finders.get(child)
            if find is None:  # TER-15: its rows go on to its children
                if kids:
                    stack.append(_Visit(child, top.view, kids, None))
                continue
            matched = find(top.view)
            if matched.size == 0:  # TER-11: the subtree is skipped
                continue
            if kids:
                stack.append(_Visit(child, top.view.sub(matched), kids, matched))
            else:
                found_rows.append(top.view.rows_at(matched))
                found_ids.append(child)
                top.covered[matched] = True
            continue
        stack.pop()
        if not stack:
            break
        parent = stack[-1]
        if top.matched is None:
            parent.covered |= top.covered
        else:  # TER-12: the territory keeps the rows none of its descendants took
            left = np.flatnonzero(~top.covered)
            if left.size:
                found_rows.append(top.view.rows_at(left))
                found_ids.append(top.tid)
            parent.covered[top.matched] = True
    return _collect(rules, columns.size, found_rows, found_ids, cap)


def _finders(rules: CompiledRules, compiler: _Compiler, index_siblings: int) -> dict[int, Finder]:
    """For each territory with a rule: its rows (positions) in the view of its parent."""
    finders: dict[int, Finder] = {}
    for tid, plan in rules.plans.items():
        finders[tid] = _scan(compiler.compile(plan))
    for kids in rules.tree.children.values():
        if len(kids) < index_siblings:
            continue
        by_field: dict[str, list[tuple[int, TextIn, Node | None]]] = {}
        for kid in kids:
            kid_plan = rules.plans.get(kid)
            keyed = None if kid_plan is None else _keyed(kid_plan)
            if keyed is not None:
                by_field.setdefault(keyed[0].field.api_name, []).append((kid, *keyed))
        for group in by_field.values():
            if len(group) >= index_siblings:
                for kid, test, rest in group:
                    finders[kid] = compiler.indexed(test, rest)
    return finders


def _scan(mask: Mask) -> Finder:
    return lambda v: np.flatnonzero(mask(v))


def _keyed(plan: Node) -> tuple[TextIn, Node | None] | None:
    """A rule as "the field is one of these values" and the rest of it, when it is one."""
    if isinstance(plan, TextIn):
        return plan, None
    if isinstance(plan, All):
        for i, node in enumerate(plan.nodes):
            if isinstance(node, TextIn):
                rest = plan.nodes[:i] + plan.nodes[i + 1 :]
                return node, (None if not rest else rest[0] if len(rest) == 1 else All(rest))
    return None


def _collect(
    rules: CompiledRules, size: int, found_rows: list[Positions], found_ids: list[int], cap: int
) -> BulkAssignment:
    """The pairs sorted by row then pre-order rank (TER-13), split by the cap."""
    preorder = np.array(rules.tree.preorder, dtype=np.int64)
    if not found_rows:
        nothing = np.zeros(0, dtype=np.int64)
        return BulkAssignment(size, nothing, nothing, nothing, nothing)
    rank = rules.tree.rank
    lengths = np.fromiter((r.size for r in found_rows), np.int64, len(found_rows))
    ranks = np.repeat(np.fromiter((rank[t] for t in found_ids), np.int64, len(found_ids)), lengths)
    rows = np.concatenate(found_rows).astype(np.int64, copy=False)
    width = len(preorder)
    if size * width < 2**62:
        key = rows * width + ranks
        key.sort()
        rows, ranks = np.divmod(key, width)
    else:
        order = np.lexsort((ranks, rows))
        rows, ranks = rows[order], ranks[order]
    ids = preorder[ranks]
    counts = np.bincount(rows, minlength=size)
    if cap >= 0 and counts.max() <= cap:
        nothing = np.zeros(0, dtype=np.int64)
        return BulkAssignment(size, rows, ids, nothing, nothing)
    first = np.cumsum(counts) - counts
    place = np.arange(rows.size) - first[rows]
    # Python's slice ids[:cap], negative caps included.
    limit = cap if cap >= 0 else np.maximum(counts + cap, 0)[rows]
    keep = place < limit
    drop = ~keep
    return BulkAssignment(size, rows[keep], ids[keep], rows[drop], ids[drop])


def assign_records(
    rules: CompiledRules, records: Sequence[Mapping[str, Any]], cap: int
) -> BulkAssignment:
    """`assign_columns` over canonical records (columns built with `columns_from_records`)."""
    columns = columns_from_records(rules.module, rules.fields, records)
    return assign_columns(rules, columns, cap)
