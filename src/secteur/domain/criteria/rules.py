"""Which comparators and predefined values each kind of field takes (criteria.md's table)."""

from __future__ import annotations

from secteur.domain.criteria.model import (
    CURRENTUSER,
    EMPTY,
    LAST_N_DAYS,
    NEXT_N_DAYS,
    NOTEMPTY,
    THISMONTH,
    THISQUARTER,
    TODAY,
)
from secteur.domain.fields import DataType, Field, Kind

EQUAL = "equal"
NOT_EQUAL = "not_equal"
IN = "in"
NOT_IN = "not_in"
STARTS_WITH = "starts_with"
ENDS_WITH = "ends_with"
CONTAINS = "contains"
NOT_CONTAINS = "not_contains"
GREATER_THAN = "greater_than"
GREATER_EQUAL = "greater_equal"
LESS_THAN = "less_than"
LESS_EQUAL = "less_equal"
BETWEEN = "between"
NOT_BETWEEN = "not_between"
INCLUDE_ALL = "include_all"
INCLUDE_ANY = "include_any"
EXCLUDE_ALL = "exclude_all"
EXCLUDE_ANY = "exclude_any"

_EQUALITY = (EQUAL, NOT_EQUAL)
_MEMBERSHIP = (IN, NOT_IN)
_TEXT = (STARTS_WITH, ENDS_WITH, CONTAINS, NOT_CONTAINS)
_ORDER = (GREATER_THAN, GREATER_EQUAL, LESS_THAN, LESS_EQUAL)
_RANGE = (BETWEEN, NOT_BETWEEN)
_MULTI = (INCLUDE_ALL, INCLUDE_ANY, EXCLUDE_ALL, EXCLUDE_ANY)

COMPARATORS: dict[Kind, tuple[str, ...]] = {
    Kind.TEXT: (*_EQUALITY, *_MEMBERSHIP, *_TEXT),
    Kind.PICKLIST: (*_EQUALITY, *_MEMBERSHIP, *_TEXT),
    Kind.NUMBER: (*_EQUALITY, *_MEMBERSHIP, *_ORDER, *_RANGE),
    Kind.DATE: (*_EQUALITY, *_ORDER, *_RANGE),
    Kind.DATETIME: (*_EQUALITY, *_ORDER, *_RANGE),
    Kind.BOOLEAN: _EQUALITY,
    Kind.REFERENCE: (*_EQUALITY, *_MEMBERSHIP),
    # equal / not_equal take only ${EMPTY} / ${NOTEMPTY} on a multi-select.
    Kind.MULTISELECT: (*_EQUALITY, *_MULTI),
}

# Comparators of a `type: "field"` condition (the other field must be of a compatible kind).
FIELD_COMPARATORS: dict[Kind, tuple[str, ...]] = {
    Kind.TEXT: _EQUALITY,
    Kind.PICKLIST: _EQUALITY,
    Kind.BOOLEAN: _EQUALITY,
    Kind.REFERENCE: _EQUALITY,
    Kind.NUMBER: (*_EQUALITY, *_ORDER),
    Kind.DATE: (*_EQUALITY, *_ORDER),
    Kind.DATETIME: (*_EQUALITY, *_ORDER),
}

# Comparators whose value may be a list (equal / not_equal: a list means in / not in).
LIST_COMPARATORS = frozenset({*_EQUALITY, *_MEMBERSHIP, *_MULTI})
# Comparators whose value is always a list (a single value is a list of one).
ALWAYS_LIST = frozenset({*_MEMBERSHIP, *_MULTI})
RANGE_COMPARATORS = frozenset(_RANGE)
# Comparators that match an empty field (everything else never does).
NEGATIONS = frozenset({NOT_EQUAL, NOT_IN})

MAX_LIST_VALUES = 500
MIN_GROUP = 2
MAX_GROUP = 25
MAX_DEPTH = 5
MAX_DAYS = 36500


def field_kind_group(kind: Kind) -> str:
    """Kinds that compare with each other in `type: "field"` conditions share a group."""
    return "text" if kind in (Kind.TEXT, Kind.PICKLIST) else kind.value


def allowed_predefined(f: Field) -> tuple[str, ...]:
    """Predefined values a field takes (besides ${EMPTY} / ${NOTEMPTY} with equal/not_equal)."""
    if f.kind in (Kind.DATE, Kind.DATETIME):
        return (TODAY, LAST_N_DAYS, NEXT_N_DAYS, THISMONTH, THISQUARTER)
    if f.data_type in (DataType.USERLOOKUP, DataType.OWNERLOOKUP):
        return (CURRENTUSER,)
    return ()


def takes_emptiness(f: Field) -> bool:
    """Whether ${EMPTY} / ${NOTEMPTY} apply (a boolean is never empty: see docs/criteria.md)."""
    return f.kind is not Kind.BOOLEAN


EMPTINESS = frozenset({EMPTY, NOTEMPTY})
