"""territories.md TER-11 … TER-15: the column-wise evaluator assigns as the per-record engines do.

`bulk.assign_columns` over many records answers exactly `[rules.assign(r, cap) for r in
records]`; the generated walker (`rules.deepest_matches`) and the interpreter
(`rules.descend(record, (root,))`) agree with each other, on random trees, rules and records.
"""

from __future__ import annotations

import functools
import math
import operator
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secteur.domain.catalog import INDUSTRIES, RATINGS, standard_modules
from secteur.domain.criteria import EvalContext, parse_criteria
from secteur.domain.fields import DataType, Field, Kind, Module, PicklistValue, column_for
from secteur.domain.territories import CompiledRules, Territory, Tree, compile_rules
from secteur.domain.territories.assign import MAX_GENERATED_DEPTH, Assignment, capped
from secteur.domain.territories.bulk import (
    INDEX_SIBLINGS,
    INT64_MAX,
    INT64_MIN,
    BoolColumn,
    Columns,
    NumberColumn,
    TextColumn,
    _versus_float,
    _versus_int,
    assign_columns,
    assign_records,
    columns_from_records,
)
from secteur.domain.text import fold, fold_multiselect

TAGS = ("Red", "green", "Straße", "Ωmega")


def _extra(api_name: str, data_type: DataType, **more: Any) -> Field:
    return Field(api_name, api_name, data_type, column_for(api_name), custom=True, **more)


def accounts() -> Module:
    """Accounts as a new org has them, with the kinds of custom field the catalog lacks."""
    module = next(m for m in standard_modules() if m.api_name == "Accounts")
    tags = tuple(PicklistValue(v, v, i + 1) for i, v in enumerate(TAGS))
    for f in (
        _extra("Tags", DataType.MULTISELECTPICKLIST, picklist=tags),
        _extra("Active", DataType.BOOLEAN),
        _extra("Verified", DataType.BOOLEAN),
        _extra("Since", DataType.DATE),
        _extra("Renewal", DataType.DATE),
        _extra("Score", DataType.DOUBLE),
        _extra("Last_Seen", DataType.DATETIME),
    ):
        module = module.with_field(f)
    return module


ACCOUNTS = accounts()
# Sunday 31 March 2024, 14:00 in Paris: the day clocks go forward.
CTX = EvalContext(datetime(2024, 3, 31, 12, tzinfo=UTC), 7, "Europe/Paris")
BIG_ID = 3652397000001000001  # a Zoho-sized id: float64 cannot tell it from its neighbours


def cond(field: str, comparator: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"field": {"api_name": field}, "comparator": comparator, "value": value, **extra}


def both(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"group_operator": "AND", "group": list(conditions)}


def territory(
    tid: int, parent: int | None, rule: dict[str, Any] | None = None, sequence: int = 1
) -> Territory:
    rules = {} if rule is None else {"Accounts": parse_criteria(rule)}
    return Territory(tid, f"T{tid}", parent, sequence, rules=rules)


def compiled(*territories: Territory) -> CompiledRules:
    return compile_rules(Tree.of(territories), ACCOUNTS, CTX)


def bulk(rules: CompiledRules, records: Sequence[Mapping[str, Any]], cap: int = 10) -> list[Any]:
    """Each record's kept territories, as the column-wise evaluator gives them."""
    result = assign_records(rules, records, cap)
    assert result.assignments() == [rules.assign(r, cap) for r in records]
    return [a.territory_ids for a in result.assignments()]


FRANCE: dict[str, Any] = {"Billing_Country": "France", "Industry": "Banking"}
FRANCE_BANKING = cond("Industry", "equal", "Banking")


# --- the rules, by example -----------------------------------------------------------------


def test_TER_11_a_subtree_is_skipped_when_its_root_does_not_match() -> None:
    rules = compiled(
        territory(1, None),
        territory(10, 1, cond("Billing_Country", "equal", "France")),
        # Banking would match here, but the record never reaches it: it is not in France.
        territory(11, 10, cond("Industry", "equal", "Banking")),
        territory(20, 1, cond("Industry", "equal", "Banking")),
    )
    records = [{"Billing_Country": "Spain", "Industry": "Banking"}, FRANCE]
    assert bulk(rules, records) == [(20,), (11, 20)]


def test_TER_12_only_the_deepest_match_of_a_branch_is_assigned() -> None:
    rules = compiled(
        territory(1, None, cond("Billing_Country", "not_equal", "Spain")),
        territory(10, 1, cond("Billing_Country", "equal", "FRANCE")),
        territory(11, 10, cond("Industry", "equal", "Banking")),
        territory(12, 10, cond("Annual_Revenue", "greater_than", 1_000_000)),
    )
    records: list[dict[str, Any]] = [
        FRANCE,  # France → Banking: the deepest match, not France
        {**FRANCE, "Industry": "Retail"},  # France matches, none of its children
        {**FRANCE, "Annual_Revenue": 2e6},  # both children: each is the deepest of its branch
        {"Billing_Country": "Italy"},  # only the root
    ]
    assert bulk(rules, records) == [(11,), (10,), (11, 12), (1,)]


def test_TER_13_matches_come_in_pre_order_and_the_cap_keeps_the_first() -> None:
    # Siblings in (sequence, id) order: 30 (sequence 1), 20 (sequence 2, id 20), 25 (2, 25).
    banking = cond("Industry", "equal", "banking")
    rules = compiled(
        territory(1, None),
        territory(25, 1, banking, sequence=2),
        territory(20, 1, banking, sequence=2),
        territory(30, 1, banking, sequence=1),
        territory(31, 30, cond("Billing_Country", "starts_with", "fr")),
        territory(32, 30, cond("Billing_Country", "ends_with", "NCE")),
    )
    assert bulk(rules, [FRANCE], cap=10) == [(31, 32, 20, 25)]
    result = assign_records(rules, [FRANCE, {"Industry": "Retail"}], cap=2)
    assert result.assignment(0) == Assignment((31, 32), dropped=(20, 25))
    assert result.assignment(1) == Assignment(())
    assert result.dropped_rows.tolist() == [0, 0]
    assert result.counts().tolist() == [2, 0]


def test_TER_14_a_record_that_matches_nothing_gets_no_territory() -> None:
    rules = compiled(
        territory(1, None, cond("Billing_Country", "in", ["France", "Spain"])),
        territory(2, 1, cond("Industry", "equal", "Banking")),
    )
    records: list[dict[str, Any]] = [{"Billing_Country": "Italy"}, {}, {"Billing_Country": ""}]
    result = assign_records(rules, records, cap=10)
    assert result.rows.size == 0 and result.dropped_rows.size == 0
    assert result.assignments() == [Assignment(())] * 3


def test_TER_15_a_territory_without_a_rule_passes_records_through_and_is_never_assigned() -> None:
    rules = compiled(
        territory(1, None),  # the root has no Accounts rule
        territory(10, 1),  # "Europe": structural only
        territory(11, 10, cond("Billing_Country", "equal", "France")),
        territory(12, 10),  # a pass-through leaf: never assigned
        territory(20, 1, cond("Industry", "equal", "Banking")),
    )
    records = [FRANCE, {"Billing_Country": "Spain"}]
    assert bulk(rules, records) == [(11, 20), ()]


def test_no_rule_anywhere_assigns_nothing() -> None:
    rules = compiled(territory(1, None), territory(2, 1), territory(3, 2))
    assert bulk(rules, [FRANCE, {}]) == [(), ()]


def test_a_tree_deeper_than_the_generated_walker_takes() -> None:
    depth = MAX_GENERATED_DEPTH + 20
    chain = [territory(1, None, cond("Employees", "greater_than", 0))]
    chain += [
        territory(i, i - 1, cond("Employees", "greater_than", i // 3)) for i in range(2, depth)
    ]
    rules = compiled(*chain)
    records = [{"Employees": n} for n in (0, 1, 5, 30, 10_000)]
    # Territory i matches while Employees > i // 3: the deepest is the last such i.
    assert bulk(rules, records) == [(), (2,), (14,), (89,), (depth - 1,)]


def test_many_siblings_testing_one_field_find_their_rows_by_value() -> None:
    # A territory per country (some split by industry) under a structural root: grouped rows.
    countries = [f"Country {i}" for i in range(INDEX_SIBLINGS + 6)]
    children = [
        territory(10 + i, 1, cond("Billing_Country", "in", [c, c.upper(), "nowhere"]), i % 3)
        if i % 2
        else territory(10 + i, 1, both(cond("Billing_Country", "equal", c), FRANCE_BANKING), i)
        for i, c in enumerate(countries)
    ]
    rules = compiled(territory(1, None), *children)
    records = [
        {"Billing_Country": c.lower(), "Industry": industry}
        for c in [*countries, "Elsewhere"]
        for industry in ("Banking", "Retail", None)
    ]
    assert bulk(rules, records)[:6] == [(10,), (), (), (11,), (11,), (11,)]


def test_ids_are_compared_as_64_bit_integers() -> None:
    rules = compiled(
        territory(1, None),
        territory(2, 1, cond("Parent_Account", "equal", str(BIG_ID))),
        territory(3, 1, cond("Owner", "in", [BIG_ID - 1, 5])),
    )
    records = [{"Parent_Account": BIG_ID - 1, "Owner": BIG_ID}, {"Parent_Account": BIG_ID}]
    assert bulk(rules, records) == [(), (2,)]


def test_text_tests_fold_case_on_many_distinct_values() -> None:
    # Enough distinct values for the vectorised string loops, and Unicode case traps.
    rules = compiled(
        territory(1, None),
        territory(2, 1, cond("Billing_City", "starts_with", "STRASS")),
        territory(3, 1, cond("Billing_City", "ends_with", "ΟΣ")),
        territory(4, 1, cond("Billing_City", "not_contains", "7")),
    )
    cities = ["Straße 1", "strasse", "Σίσυφος", "", None, *(f"city {i}" for i in range(400))]
    records = [{"Billing_City": c} for c in cities]
    result = bulk(rules, records)
    assert result[:5] == [(2, 4), (2, 4), (3, 4), (), ()]
    assert result[5 + 7] == ()


def database_columns(
    module: Module, fields: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> Columns:
    """Columns as a database adapter builds them: folded shadows and typed arrays, no records."""
    by_field: dict[str, Any] = {}
    for name in fields:
        f = module.field(name)
        assert f is not None
        raw = [r.get(f.api_name) for r in rows]
        empty = np.array([v is None or v == "" or v == () for v in raw], dtype=bool)
        if f.kind in (Kind.TEXT, Kind.PICKLIST):
            by_field[name] = TextColumn.of([None if v is None else fold(v) for v in raw])
        elif f.kind is Kind.MULTISELECT:
            by_field[name] = TextColumn.of([fold_multiselect(v) if v else None for v in raw])
        elif f.kind is Kind.BOOLEAN:
            by_field[name] = BoolColumn.of(np.array(raw, dtype=object))
        elif f.kind is Kind.DATE:
            days = np.array([v if v else "NaT" for v in raw], dtype="datetime64[D]")
            by_field[name] = NumberColumn.of(days)
        elif f.kind is Kind.DATETIME:
            naive = [v.astimezone(UTC).replace(tzinfo=None) if v else "NaT" for v in raw]
            by_field[name] = NumberColumn.of(np.array(naive, dtype="datetime64[us]"))
        elif f.data_type in (DataType.DOUBLE, DataType.CURRENCY, DataType.PERCENT):
            floats = [0.0 if v is None else float(v) for v in raw]
            by_field[name] = NumberColumn.of(np.array(floats, dtype=np.float64), empty)
        else:
            ints = [0 if v is None else v for v in raw]
            by_field[name] = NumberColumn.of(np.array(ints, dtype=np.int64), empty)
    return Columns(len(rows), by_field)


def test_columns_built_from_query_results_give_the_same_answers() -> None:
    rules = compiled(
        territory(1, None),
        territory(2, 1, cond("Since", "greater_equal", "2024-01-01")),
        territory(3, 1, cond("Last_Seen", "equal", "${TODAY}")),
        territory(4, 1, cond("Tags", "include_any", ["straße"])),
        territory(5, 1, cond("Active", "equal", True)),
        territory(6, 1, cond("Score", "between", [1, 2.5])),
        territory(7, 1, cond("Billing_Country", "equal", "${EMPTY}")),
        territory(8, 1, cond("Parent_Account", "equal", str(BIG_ID))),
    )
    records = [
        {
            "Since": date(2024, 1, 1),
            "Last_Seen": datetime(2024, 3, 31, 1, 30, tzinfo=UTC),  # 03:30 in Paris: today
            "Tags": ("Red", "STRASSE"),
            "Active": True,
            "Score": 2.5,
            "Parent_Account": BIG_ID,
        },
        {
            "Since": date(2023, 12, 31),
            "Last_Seen": datetime(2024, 3, 30, 22, 59, tzinfo=UTC),  # 23:59 in Paris: yesterday
            "Tags": (),
            "Active": None,
            "Score": 0.5,
            "Billing_Country": "France",
            "Parent_Account": BIG_ID - 1,
        },
    ]
    expected = [rules.assign(r, 10) for r in records]
    assert expected == [Assignment((2, 3, 4, 5, 6, 7, 8)), Assignment(())]
    columns = database_columns(ACCOUNTS, sorted(rules.fields), records)
    assert assign_columns(rules, columns, 10).assignments() == expected


def test_a_column_is_needed_for_each_field_the_rules_read() -> None:
    rules = compiled(territory(1, None, cond("Billing_Country", "equal", "France")))
    with pytest.raises(KeyError, match="Billing_Country"):
        assign_columns(rules, Columns(1, {}), 10)


def test_records_with_values_no_column_holds_exactly_are_refused() -> None:
    with pytest.raises(ValueError, match="Employees"):
        columns_from_records(ACCOUNTS, ["Employees"], [{"Employees": 2**64}])
    with pytest.raises(ValueError, match="Last_Seen"):
        columns_from_records(ACCOUNTS, ["Last_Seen"], [{"Last_Seen": datetime(2024, 1, 1)}])  # noqa: DTZ001


# --- exact comparisons between int64 / float64 columns and Python numbers -------------------

PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
EDGE_INTS = (0, 1, -1, 2**53, 2**53 + 1, 2**53 - 1, 2**63 - 1, -(2**63), 2**63, 10**400)
EDGE_FLOATS = (0.5, -0.5, 2.0**53, 2.0**63, 1e300, math.inf, -math.inf, math.nan, 7.0)


def _near(literal: int | float) -> tuple[list[int], list[float]]:
    """The int64 and float64 values on either side of `literal`, where comparisons turn."""
    if isinstance(literal, float) and not math.isfinite(literal):
        return [INT64_MIN, INT64_MAX], [literal, 0.0]
    middle = min(max(math.floor(literal), INT64_MIN + 2), INT64_MAX - 2)
    ints = [middle + d for d in (-2, -1, 0, 1, 2)]
    try:
        f = float(literal)
    except OverflowError:
        f = sys.float_info.max if literal > 0 else -sys.float_info.max
    floats = [f, math.nextafter(f, math.inf), math.nextafter(f, -math.inf)]
    return ints, floats


@settings(max_examples=150, deadline=None)
@given(
    op=st.sampled_from(sorted(PY_OPS)),
    literal=st.one_of(
        st.sampled_from((*EDGE_INTS, *EDGE_FLOATS)),
        st.integers(-(2**64), 2**64),
        st.floats(),
        st.integers(-(2**60), 2**60).map(lambda n: n + 0.5),
    ),
    ints=st.lists(
        st.one_of(st.sampled_from(EDGE_INTS[:8]), st.integers(-(2**63), 2**63 - 1)), max_size=8
    ),
    floats=st.lists(st.one_of(st.sampled_from(EDGE_FLOATS), st.floats()), max_size=8),
)
def test_numbers_compare_as_python_compares_them(
    op: Any, literal: int | float, ints: list[int], floats: list[float]
) -> None:
    compare = PY_OPS[op]
    near_ints, near_floats = _near(literal)
    ints, floats = ints + near_ints, floats + near_floats
    got = _versus_int(op, literal)(np.array(ints, dtype=np.int64)).tolist()
    assert got == [compare(x, literal) for x in ints]
    got = _versus_float(op, literal)(np.array(floats, dtype=np.float64)).tolist()
    assert got == [compare(x, literal) for x in floats]


# --- the differential test ---------------------------------------------------------------------

CASINGS = (str, str.upper, str.lower, str.casefold, str.title)
COUNTRIES = ("France", "Straße", "İzmir", "Σίσυφος", "Ärger", "A\u0308rger", "ǅ", "日本", " x ")
CITIES = ("Paris", "Lyon", "STRASSE", "ﬁre", "a\x1fb", "100%")
FLOATS = (0.0, -0.0, 0.1, 0.3, 0.1 + 0.2, 1.5, 7.0, 1e6, 2.5e6, 1e15 - 0.5, -2.0)
INTS = (0, 1, -1, 7, 50, 1000, 2**31 - 1, -(2**31))
IDS = (1, 2, 7, BIG_ID - 1, BIG_ID)
ZONES = (
    UTC,
    ZoneInfo("Europe/Paris"),
    ZoneInfo("Pacific/Kiritimati"),
    ZoneInfo("America/St_Johns"),
)
DAYS = tuple(CTX.today + timedelta(days=n) for n in (-40, -8, -7, -1, 0, 1, 6, 7, 31))
INSTANTS = tuple(
    (CTX.start_of(day) + delta).astimezone(UTC)
    for day in DAYS
    for delta in (timedelta(0), timedelta(microseconds=-1), timedelta(hours=13))
)

safe_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=5)


def cased(values: Sequence[str]) -> st.SearchStrategy[str]:
    """The values in any casing (Unicode casing changes length: ß, İ, ǅ)."""
    return st.sampled_from(tuple(dict.fromkeys(case(v) for v in values for case in CASINGS)))


def maybe(strategy: st.SearchStrategy[Any], *empties: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(("absent", None, *empties)), strategy, strategy, strategy)


def records() -> st.SearchStrategy[dict[str, Any]]:
    instant = st.builds(
        lambda t, z: t.astimezone(z), st.sampled_from(INSTANTS), st.sampled_from(ZONES)
    )
    values = st.fixed_dictionaries(
        {
            "Billing_Country": maybe(cased(COUNTRIES) | cased(COUNTRIES) | safe_text, ""),
            "Billing_City": maybe(cased(CITIES) | cased(CITIES) | safe_text, ""),
            "Industry": maybe(st.sampled_from(INDUSTRIES[:5]), ""),
            "Rating": maybe(st.sampled_from(RATINGS)),
            "Annual_Revenue": maybe(st.sampled_from(FLOATS)),
            "Score": maybe(st.one_of(st.sampled_from(FLOATS), st.sampled_from(INTS))),
            "Employees": maybe(st.sampled_from(INTS)),
            "Active": st.sampled_from(("absent", None, True, False)),
            "Verified": st.sampled_from((None, True, False)),
            "Since": maybe(st.sampled_from(DAYS)),
            "Renewal": maybe(st.sampled_from(DAYS)),
            "Last_Seen": maybe(instant),
            "Tags": st.one_of(st.just(()), st.lists(cased(TAGS), max_size=3).map(tuple)),
            "Parent_Account": maybe(st.sampled_from(IDS)),
            "Owner": st.sampled_from(IDS),
        }
    )
    return values.map(lambda r: {k: v for k, v in r.items() if v != "absent"})


EMPTINESS = st.sampled_from(("${EMPTY}", "${NOTEMPTY}"))
ORDERED = ("equal", "not_equal", "greater_than", "greater_equal", "less_than", "less_equal")


def listed(field: str, item: st.SearchStrategy[Any], comparators: Sequence[str]) -> Any:
    value = st.one_of(item, st.lists(item, min_size=1, max_size=3))
    return st.builds(cond, st.just(field), st.sampled_from(comparators), value)


def emptiness(field: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(cond, st.just(field), st.sampled_from(("equal", "not_equal")), EMPTINESS)


def fragment(text: str, where: str, size: int) -> str:
    size = max(1, min(size, len(text)))
    if where == "prefix":
        return text[:size]
    if where == "suffix":
        return text[-size:]
    return text[(len(text) - size) // 2 :][:size]


def text_conditions(field: str, pool: Sequence[str]) -> st.SearchStrategy[Any]:
    fragments = st.builds(
        fragment, cased(pool), st.sampled_from(("prefix", "suffix", "middle")), st.integers(1, 3)
    )
    substring = st.builds(
        cond,
        st.just(field),
        st.sampled_from(("starts_with", "ends_with", "contains", "not_contains")),
        st.one_of(fragments, safe_text.filter(bool)),
    )
    equality = listed(field, cased(pool), ("equal", "not_equal", "in", "not_in"))
    return st.one_of(equality, substring, emptiness(field))


def number_conditions(field: str, pool: Sequence[int | float]) -> st.SearchStrategy[Any]:
    item = st.sampled_from(pool)
    pair = st.lists(item, min_size=2, max_size=2).map(sorted)
    return st.one_of(
        listed(field, item, ("equal", "not_equal", "in", "not_in")),
        st.builds(cond, st.just(field), st.sampled_from(ORDERED[2:]), item),
        st.builds(cond, st.just(field), st.sampled_from(("between", "not_between")), pair),
        emptiness(field),
    )


def date_conditions(field: str, item: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    value = st.one_of(
        item, st.sampled_from(("${TODAY}", "${LAST_N_DAYS:7}", "${NEXT_N_DAYS:7}", "${THISMONTH}"))
    )
    return st.one_of(
        listed(field, value, ("equal", "not_equal")),
        st.builds(cond, st.just(field), st.sampled_from(ORDERED), value),
        st.builds(
            cond,
            st.just(field),
            st.sampled_from(("between", "not_between")),
            st.lists(value, min_size=2, max_size=2),
        ),
        emptiness(field),
    )


def field_conditions() -> st.SearchStrategy[Any]:
    pairs = {
        ("Billing_Country", "Billing_City", "Industry"): ORDERED[:2],
        ("Annual_Revenue", "Score", "Employees"): ORDERED,
        ("Since", "Renewal"): ORDERED,
        ("Active", "Verified"): ORDERED[:2],
        ("Parent_Account", "Owner"): ORDERED[:2],
    }

    def pair(fields: tuple[str, ...]) -> st.SearchStrategy[Any]:
        return st.builds(
            lambda a, c, b: cond(a, c, {"api_name": b}, type="field"),
            st.sampled_from(fields),
            st.sampled_from(pairs[fields]),
            st.sampled_from(fields),
        )

    return st.sampled_from(sorted(pairs)).flatmap(pair)


@functools.cache
def conditions() -> st.SearchStrategy[dict[str, Any]]:
    tags = cased(TAGS)
    day = st.sampled_from(DAYS).map(date.isoformat)
    instant = st.one_of(st.sampled_from(INSTANTS).map(datetime.isoformat), day)
    boolean = st.sampled_from((True, False, "true", "FALSE"))
    ids = st.one_of(st.sampled_from(IDS), st.sampled_from(IDS).map(str))
    weighted = (
        text_conditions("Billing_Country", COUNTRIES),
        text_conditions("Billing_Country", COUNTRIES),
        text_conditions("Billing_City", CITIES),
        text_conditions("Industry", INDUSTRIES[:6]),
        listed("Rating", cased(RATINGS), ("equal", "in", "not_in")),
        number_conditions("Annual_Revenue", FLOATS),
        number_conditions("Score", (*FLOATS, *INTS[:5])),
        number_conditions("Employees", INTS),
        listed("Active", boolean, ("equal", "not_equal")),
        date_conditions("Since", day),
        date_conditions("Last_Seen", instant),
        st.builds(
            cond,
            st.just("Tags"),
            st.sampled_from(("include_all", "include_any", "exclude_all", "exclude_any")),
            st.lists(tags, min_size=1, max_size=2),
        )
        | emptiness("Tags"),
        listed("Parent_Account", ids, ("equal", "not_equal", "in", "not_in"))
        | emptiness("Parent_Account"),
        listed("Owner", st.one_of(ids, st.just("${CURRENTUSER}")), ("equal", "in", "not_in")),
        field_conditions(),
    )
    # sampled_from picks branches uniformly (one_of favours its first ones).
    return st.sampled_from(weighted).flatmap(lambda strategy: strategy)


@functools.cache  # strategies are built once: building them costs more than drawing
def criteria(depth: int = 1) -> st.SearchStrategy[dict[str, Any]]:
    leaf = conditions()
    if depth >= 3:
        return leaf
    group = st.builds(
        lambda op, children: {"group_operator": op, "group": children},
        st.sampled_from(("AND", "OR")),
        st.lists(st.deferred(lambda: criteria(depth + 1)), min_size=2, max_size=3),
    )
    return st.one_of(leaf, leaf, group)


@functools.cache
def by_country() -> st.SearchStrategy[dict[str, Any]]:
    """Rules as territory trees are often made: a country or a few, and maybe more."""
    countries: st.SearchStrategy[dict[str, Any]]
    countries = listed("Billing_Country", cased(COUNTRIES), ("equal", "in"))
    return countries | st.builds(both, countries, conditions())


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    """Random shapes up to 40 territories: chains and bushes, shuffled ids, tied sequences.

    Rules come from a pool drawn per tree (drawing criteria costs more than testing them), so
    some territories share a rule; about one in four is a pass-through.
    """
    pool = draw(st.lists(criteria() | by_country(), min_size=1, max_size=8))
    size = draw(st.integers(1, 40))
    ids = draw(st.lists(st.integers(1, 10**6), min_size=size, max_size=size, unique=True))
    territories = []
    for i, tid in enumerate(ids):
        parent = None
        if i:
            parent = ids[draw(st.one_of(st.just(i - 1), st.integers(0, i - 1)))]
        pick = draw(st.integers(-len(pool) // 3 - 1, len(pool) - 1))
        rule = pool[pick] if pick >= 0 else None
        territories.append(territory(tid, parent, rule, sequence=draw(st.integers(1, 3))))
    return Tree.of(territories)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    tree=trees(),
    rows=st.lists(records(), max_size=16),
    cap=st.integers(0, 4),
    index_siblings=st.sampled_from((1, 2, INDEX_SIBLINGS)),
)
def test_bulk_walker_and_interpreter_agree(
    tree: Tree, rows: list[dict[str, Any]], cap: int, index_siblings: int
) -> None:
    rules = compile_rules(tree, ACCOUNTS, CTX)
    expected: list[Assignment] = []
    for record in rows:
        walked = rules.deepest_matches(record)
        assert walked == rules.descend(record, (tree.root_id,)), record
        expected.append(capped(walked, cap))
    by_records = columns_from_records(ACCOUNTS, rules.fields, rows)
    result = assign_columns(rules, by_records, cap, index_siblings=index_siblings)
    assert result.assignments() == expected
    by_query = database_columns(ACCOUNTS, sorted(rules.fields), rows)
    assert assign_columns(rules, by_query, cap).assignments() == expected
