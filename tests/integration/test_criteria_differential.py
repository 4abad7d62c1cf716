"""criteria.md, "Two evaluators, one meaning": the Python predicate and the SQL condition agree.

For random records (empty values, Unicode case traps, `%` and `_`, float edges, dates and
instants across time zones) and random valid criteria (every comparator, lists, ranges,
predefined values, field-to-field comparisons, nesting), the ids the database selects with
`compile_sql` are the ids `compile_predicate` accepts — on SQLite and on PostgreSQL, for the
records as given and for the records as read back.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secteur.adapters.db.criteria_sql import compile_sql
from secteur.adapters.db.engine import create_engine
from secteur.adapters.db.records_schema import (
    RecordTable,
    build_table,
    create_module_table,
    from_row,
    to_row,
)
from secteur.domain.criteria import (
    Criteria,
    EvalContext,
    Group,
    compile_predicate,
    parse_criteria,
    to_json,
    validate_criteria,
)
from secteur.domain.fields import DataType, Field, Module, PicklistValue, column_for
from tests.conftest import BACKENDS
from tests.support import postgres

D = DataType
STAGES = ("Alpha", "Beta", "Straße", "İzmir", "Σigma", "50%_off", "Ärger")
TAGS = ("Red", "green", "BLUE", "Straße", "Ωmega", "a_b", "100%")


def _field(api_name: str, data_type: DataType, **extra: Any) -> Field:
    return Field(api_name, api_name.replace("_", " "), data_type, column_for(api_name), **extra)


def _picklist(values: tuple[str, ...]) -> tuple[PicklistValue, ...]:
    return tuple(PicklistValue(v, v, i + 1) for i, v in enumerate(values))


def probe_module() -> Module:
    """A module with a field of every type criteria can filter, and the system fields."""
    fields = (
        _field("Name", D.TEXT),
        _field("Email", D.EMAIL),
        _field("Stage", D.PICKLIST, picklist=_picklist(STAGES)),
        _field("Tags", D.MULTISELECTPICKLIST, picklist=_picklist(TAGS)),
        _field("Count", D.INTEGER),
        _field("Seats", D.INTEGER),
        _field("Ratio", D.DOUBLE),
        _field("Amount", D.CURRENCY),
        _field("Share", D.PERCENT),
        _field("Active", D.BOOLEAN),
        _field("Verified", D.BOOLEAN),
        _field("Due", D.DATE),
        _field("Start_Date", D.DATE),
        _field("Seen_At", D.DATETIME),
        _field("Parent", D.LOOKUP, lookup_module="Probes"),
        Field("Owner", "Owner", D.OWNERLOOKUP, "owner_id", system=True, lookup_module="users"),
        Field("Created_By", "Created By", D.OWNERLOOKUP, "created_by", system=True),
        Field("Modified_By", "Modified By", D.OWNERLOOKUP, "modified_by", system=True),
        Field("Created_Time", "Created Time", D.DATETIME, "created_time", system=True),
        Field("Modified_Time", "Modified Time", D.DATETIME, "modified_time", system=True),
    )
    return Module("Probes", "Probe", "Probes", 1, "probes", "Name", fields)


MODULE = probe_module()


# --- the databases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    engine: sa.Engine
    table: RecordTable


@pytest.fixture(scope="module", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "postgresql":
        admin_url = request.getfixturevalue("pg_admin_url")
        url = postgres.create_database(admin_url)
    else:
        path: Path = tmp_path_factory.mktemp("criteria") / "probes.db"
        url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as conn:
        create_module_table(conn, MODULE)
    try:
        yield Database(engine, RecordTable(MODULE, build_table(MODULE, sa.MetaData())))
    finally:
        engine.dispose()
        if request.param == "postgresql":
            postgres.drop_database(admin_url, url)


# --- values ---------------------------------------------------------------------------------

ZONES = (
    "UTC",
    "Europe/Paris",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/St_Johns",
    "America/Santiago",
)
# Texts whose casings fold alike (or deliberately not: ı, ς, decomposed Ä), with `%`, `_`, `\\`.
TEXTS = (
    "France",
    "Straße",
    "Σίσυφος",
    "İstanbul",
    "ı",
    "Ärger",
    "A\u0308rger",
    "100%",
    "a%b_c",
    "x\\y",
    "ﬁ",
    "ǅ",
    "ς",
    "日本",
    " padded ",
    "a\x1fb",
)
INTS = (0, 1, -1, 2, 7, 2**31, 2**53, 2**53 + 1, -(2**63), 2**63 - 1, 10**15)
FLOATS = (
    0.0,
    -0.0,
    0.1,
    0.2,
    0.1 + 0.2,
    0.3,
    1.5,
    -1.5,
    7.0,
    1e-300,
    1e300,
    2.0**53,
    1e15 + 0.3,
)
IDS = (1, 2, 3, 3652397000001000001)
USERS = (1, 2, 3)

safe_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6)


CASINGS = (str, str.upper, str.lower, str.casefold, str.title)


def cased(values: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Values of `values` in any casing (Unicode casing changes length: ß, İ, ﬁ)."""
    return st.builds(lambda v, case: case(v), st.sampled_from(values), st.sampled_from(CASINGS))


def _at(zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


# Clocks where days, months and quarters turn, and days that are not 24 hours long.
CONTEXTS = tuple(
    EvalContext(now, user, zone)
    for now, user, zone in (
        (_at("Europe/Paris", 2024, 3, 31, 12), 1, "Europe/Paris"),
        (_at("UTC", 2024, 3, 31, 23, 30), 2, "Pacific/Kiritimati"),
        (_at("UTC", 2024, 7, 1, 0, 15), None, "Pacific/Pago_Pago"),
        (_at("America/Los_Angeles", 2024, 11, 3, 1, 30), 1, "America/Los_Angeles"),
        (_at("Asia/Kolkata", 2024, 2, 29, 23, 59), 2, "Asia/Kolkata"),
        (_at("America/St_Johns", 2025, 12, 31, 22), 1, "America/St_Johns"),
        (_at("America/Santiago", 2024, 9, 8, 0, 30), 1, "America/Santiago"),
        (_at("UTC", 2025, 6, 15, 8), 3, "UTC"),
        (_at("Europe/Paris", 2025, 10, 26, 2, 30), 2, "Europe/Paris"),
    )
)


def _days_around(today: date) -> list[date]:
    month_start = today.replace(day=1)
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    days = [today + timedelta(days=n) for n in (-100, -31, -30, -8, -7, -1, 0, 1, 7, 8, 30, 31)]
    for edge in (month_start, quarter_start):
        days += [edge - timedelta(days=1), edge, edge + timedelta(days=92)]
    return days


def _instants(ctx: EvalContext, days: list[date]) -> list[datetime]:
    zone = ZoneInfo(ctx.time_zone)
    out = [ctx.now]
    for day in days:
        midnight = datetime.combine(day, datetime.min.time(), tzinfo=zone)
        for delta in (timedelta(0), timedelta(microseconds=-1), timedelta(hours=13)):
            out.append((midnight + delta).astimezone(UTC))
    return out


@dataclass(frozen=True)
class Pools:
    ctx: EvalContext
    days: list[date]
    instants: list[datetime]

    def date(self) -> st.SearchStrategy[date]:
        return st.sampled_from(self.days)

    def instant(self) -> st.SearchStrategy[datetime]:
        zones = st.sampled_from([UTC, *(ZoneInfo(z) for z in ZONES)])
        return st.builds(lambda t, z: t.astimezone(z), st.sampled_from(self.instants), zones)


# --- records --------------------------------------------------------------------------------


def _maybe_empty(strategy: st.SearchStrategy[Any], *empties: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from((None, *empties)), strategy, strategy)


def record_values(pools: Pools) -> st.SearchStrategy[dict[str, Any]]:
    text = st.one_of(cased(TEXTS), cased(TEXTS), safe_text)
    stage = st.one_of(cased(STAGES), st.just("Zeta"))
    tags = st.lists(cased(TAGS), max_size=4).map(tuple)
    number = st.one_of(st.sampled_from(FLOATS), st.sampled_from(INTS))
    return st.fixed_dictionaries(
        {
            "Name": _maybe_empty(text, ""),
            "Email": _maybe_empty(text, ""),
            "Stage": _maybe_empty(stage, ""),
            "Tags": st.one_of(st.just(()), tags),
            "Count": _maybe_empty(st.sampled_from(INTS)),
            "Seats": _maybe_empty(st.sampled_from(INTS)),
            "Ratio": _maybe_empty(number),
            "Amount": _maybe_empty(st.sampled_from(FLOATS)),
            "Share": _maybe_empty(st.sampled_from(FLOATS)),
            "Active": st.sampled_from((None, True, False)),
            "Verified": st.sampled_from((None, True, False)),
            "Due": _maybe_empty(pools.date()),
            "Start_Date": _maybe_empty(pools.date()),
            "Seen_At": _maybe_empty(pools.instant()),
            "Parent": _maybe_empty(st.sampled_from(IDS)),
            "Owner": st.sampled_from(USERS),
            "Created_By": st.sampled_from(USERS),
            "Modified_By": st.sampled_from(USERS),
            "Created_Time": pools.instant(),
            "Modified_Time": pools.instant(),
        }
    )


# --- criteria -------------------------------------------------------------------------------

EMPTINESS = st.sampled_from(("${EMPTY}", "${NOTEMPTY}"))
DATE_PREDEFINED = st.sampled_from(
    (
        "${TODAY}",
        "${THISMONTH}",
        "${THISQUARTER}",
        "${LAST_N_DAYS:1}",
        "${LAST_N_DAYS:7}",
        "${LAST_N_DAYS:30}",
        "${NEXT_N_DAYS:1}",
        "${NEXT_N_DAYS:7}",
        "${NEXT_N_DAYS:90}",
    )
)
TEXT_FIELDS = ("Name", "Email")
NUMBER_FIELDS = ("Count", "Seats", "Ratio", "Amount", "Share")
DATETIME_FIELDS = ("Seen_At", "Created_Time", "Modified_Time")
FIELD_PAIRS = {
    "text": ("Name", "Email", "Stage"),
    "number": NUMBER_FIELDS,
    "date": ("Due", "Start_Date"),
    "datetime": DATETIME_FIELDS,
    "reference": ("Parent", "Owner", "Created_By"),
    "boolean": ("Active", "Verified"),
}
ORDERED = ("equal", "not_equal", "greater_than", "greater_equal", "less_than", "less_equal")


def _condition(field: str, comparator: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"field": {"api_name": field}, "comparator": comparator, "value": value, **extra}


def _listed(item: st.SearchStrategy[Any], comparators: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Conditions whose value is one item or a list of items (equal = in, not_equal = not in)."""
    return st.tuples(
        st.sampled_from(comparators), st.one_of(item, st.lists(item, min_size=1, max_size=4))
    )


def _emptiness(field: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(_condition, st.just(field), st.sampled_from(("equal", "not_equal")), EMPTINESS)


def _fragment(text: str, where: str, size: int) -> str:
    """A prefix, suffix or middle of `text` — what starts_with/ends_with/contains look for."""
    size = max(1, min(size, len(text)))
    if where == "prefix":
        return text[:size]
    if where == "suffix":
        return text[-size:]
    middle = (len(text) - size) // 2
    return text[middle : middle + size]


def fragments(values: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(
            _fragment,
            cased(tuple(v for v in values if v)),
            st.sampled_from(("prefix", "suffix", "middle")),
            st.integers(1, 4),
        ),
        safe_text.filter(bool),
    )


def _text_conditions(field: str, exact: st.SearchStrategy[str], pool: tuple[str, ...]) -> Any:
    equality = _listed(exact, ("equal", "not_equal", "in", "not_in"))
    substring = st.tuples(
        st.sampled_from(("starts_with", "ends_with", "contains", "not_contains")), fragments(pool)
    )
    listed = st.one_of(equality, substring, substring).map(lambda cv: _condition(field, *cv))
    return listed | _emptiness(field)


def _number_conditions(field: str) -> st.SearchStrategy[Any]:
    pool = INTS if field in ("Count", "Seats") else (*FLOATS, *INTS[:6])
    item = st.builds(lambda n, text: str(n) if text else n, st.sampled_from(pool), st.booleans())
    return st.one_of(
        _listed(item, ("equal", "not_equal", "in", "not_in")).map(
            lambda cv: _condition(field, *cv)
        ),
        st.builds(_condition, st.just(field), st.sampled_from(ORDERED[2:]), item),
        st.builds(
            _condition,
            st.just(field),
            st.sampled_from(("between", "not_between")),
            st.lists(item, min_size=2, max_size=2),
        ),
        _emptiness(field),
    )


def _date_conditions(field: str, item: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    value = st.one_of(item, DATE_PREDEFINED)
    return st.one_of(
        _listed(value, ("equal", "not_equal")).map(lambda cv: _condition(field, *cv)),
        st.builds(_condition, st.just(field), st.sampled_from(ORDERED), value),
        st.builds(
            _condition,
            st.just(field),
            st.sampled_from(("between", "not_between")),
            st.lists(value, min_size=2, max_size=2),
        ),
        _emptiness(field),
    )


def _reference_conditions(field: str) -> st.SearchStrategy[Any]:
    forms = (lambda i: i, str, lambda i: {"id": str(i), "name": "x"})
    ids = st.builds(lambda i, form: form(i), st.sampled_from(IDS), st.sampled_from(forms))
    if field != "Parent":
        ids = st.one_of(ids, st.just("${CURRENTUSER}"))
    return st.one_of(
        _listed(ids, ("equal", "not_equal", "in", "not_in")).map(lambda cv: _condition(field, *cv)),
        _emptiness(field),
    )


def _field_conditions() -> st.SearchStrategy[Any]:
    def pair(kind: str) -> st.SearchStrategy[Any]:
        fields = FIELD_PAIRS[kind]
        comparators = ORDERED if kind in ("number", "date", "datetime") else ORDERED[:2]
        return st.builds(
            lambda a, c, b: _condition(a, c, {"api_name": b}, type="field"),
            st.sampled_from(fields),
            st.sampled_from(comparators),
            st.sampled_from(fields),
        )

    return st.sampled_from(sorted(FIELD_PAIRS)).flatmap(pair)


def conditions(pools: Pools) -> st.SearchStrategy[dict[str, Any]]:
    tags = cased(TAGS)
    instant = st.one_of(
        pools.instant().map(lambda t: t.isoformat()),
        pools.date().map(lambda d: d.isoformat()),
    )
    boolean = st.sampled_from((True, False, "true", "FALSE"))
    texts = [_text_conditions(f, cased(TEXTS), TEXTS) for f in TEXT_FIELDS]
    multiselect = st.builds(
        _condition,
        st.just("Tags"),
        st.sampled_from(("include_all", "include_any", "exclude_all", "exclude_any")),
        st.one_of(tags, st.lists(tags, min_size=1, max_size=3)),
    )
    weighted = (
        *texts,
        *texts,
        _text_conditions("Stage", cased(STAGES), STAGES),
        multiselect,
        multiselect | _emptiness("Tags"),
        *(_number_conditions(f) for f in NUMBER_FIELDS),
        _listed(boolean, ("equal", "not_equal")).map(lambda cv: _condition("Active", *cv)),
        _date_conditions("Due", pools.date().map(lambda d: d.isoformat())),
        _date_conditions("Due", pools.date().map(lambda d: d.isoformat())),
        *(_date_conditions(f, instant) for f in DATETIME_FIELDS),
        _date_conditions("Seen_At", instant),
        *(_reference_conditions(f) for f in ("Parent", "Owner", "Created_By")),
        _field_conditions(),
        _field_conditions(),
        _field_conditions(),
    )
    # sampled_from picks branches uniformly (one_of favours its first ones).
    return st.sampled_from(weighted).flatmap(lambda strategy: strategy)


def criteria(pools: Pools, depth: int = 1) -> st.SearchStrategy[dict[str, Any]]:
    leaf = conditions(pools)
    if depth >= 4:
        return leaf
    group = st.builds(
        lambda op, children: {"group_operator": op, "group": children},
        st.sampled_from(("AND", "OR", "and", "Or")),
        st.lists(st.deferred(lambda: criteria(pools, depth + 1)), min_size=2, max_size=3),
    )
    return st.one_of(group, leaf) if depth == 1 else st.one_of(leaf, leaf, group)


@dataclass(frozen=True)
class Scenario:
    ctx: EvalContext
    records: list[dict[str, Any]]
    # Several trees per example: each example then checks many conditions on one table.
    criteria: list[dict[str, Any]]


@functools.cache
def scenarios_at(ctx: EvalContext) -> st.SearchStrategy[Scenario]:
    days = _days_around(ctx.today)
    pools = Pools(ctx, days, _instants(ctx, days))
    return st.builds(
        Scenario,
        st.just(ctx),
        st.lists(record_values(pools), max_size=12),
        st.lists(criteria(pools), min_size=1, max_size=8),
    )


def scenarios() -> st.SearchStrategy[Scenario]:
    return st.sampled_from(CONTEXTS).flatmap(scenarios_at)


# --- the property ---------------------------------------------------------------------------


def _as_given(values: dict[str, Any], drop: int) -> dict[str, Any]:
    """The record an in-process caller holds: some empty values simply absent."""
    empties = [k for k, v in values.items() if v is None]
    return {k: v for k, v in values.items() if not (v is None and empties.index(k) % 2 == drop)}


def subtrees(tree: Criteria) -> list[Criteria]:
    """The tree, its groups and its conditions: each is checked on its own."""
    found = [tree]
    if isinstance(tree, Group):
        for child in tree.children:
            found += subtrees(child)
    return found


def _answers(database: Database, scenario: Scenario, parts: list[Criteria]) -> Any:
    """Each part's SQL value per row (as a column: so a NULL would show), and the rows."""
    table = database.table.table
    columns = [
        compile_sql(part, database.table, scenario.ctx).label(f"c{i}")
        for i, part in enumerate(parts)
    ]
    with database.engine.begin() as conn:
        conn.execute(sa.delete(table))
        if scenario.records:
            rows = [
                {"id": i + 1, **to_row(MODULE, values)} for i, values in enumerate(scenario.records)
            ]
            conn.execute(sa.insert(table), rows)
        answers = conn.execute(sa.select(table.c.id, *columns).order_by(table.c.id)).all()
        selected = set(conn.execute(sa.select(table.c.id).where(columns[0].element)).scalars())
        stored = [
            from_row(MODULE, dict(row._mapping))
            for row in conn.execute(sa.select(table).order_by(table.c.id))
        ]
    return answers, selected, stored


def assert_agree(database: Database, scenario: Scenario) -> None:
    trees = [validate_criteria(parse_criteria(c), MODULE) for c in scenario.criteria]
    parts = [part for tree in trees for part in subtrees(tree)]
    answers, selected, stored = _answers(database, scenario, parts)
    given = [_as_given(values, i % 2) for i, values in enumerate(scenario.records)]
    for i, part in enumerate(parts):
        predicate = compile_predicate(part, MODULE, scenario.ctx)
        sql = [row[i + 1] for row in answers]
        assert None not in sql, ("NULL from SQL", to_json(part))
        assert [bool(v) for v in sql] == [predicate(r) for r in given], to_json(part)
        assert [bool(v) for v in sql] == [predicate(r) for r in stored], to_json(part)
    predicate = compile_predicate(trees[0], MODULE, scenario.ctx)
    assert selected == {i + 1 for i, r in enumerate(given) if predicate(r)}, to_json(trees[0])


# 2024-03-31 is the day Paris moves to summer time: 23 hours, from 23:00 UTC the day before.
PARIS_NOON = EvalContext(datetime(2024, 3, 31, 12, tzinfo=UTC), 1, "Europe/Paris")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario=scenarios())
def test_python_predicate_and_sql_condition_select_the_same_records(
    database: Database, scenario: Scenario
) -> None:
    assert_agree(database, scenario)


def _records(field: str, *values: Any) -> list[dict[str, Any]]:
    stamp = PARIS_NOON.now
    system = {"Owner": 1, "Created_By": 1, "Modified_By": 1}
    return [
        {**system, "Created_Time": stamp, "Modified_Time": stamp, field: value} for value in values
    ]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


EDGE_CASES = [
    pytest.param(
        _records("Name", "100%", "1000", "a_b", "axb"),
        _condition("Name", "contains", "0%"),
        {1},
        id="percent_is_a_plain_character",
    ),
    pytest.param(
        _records("Name", "100%", "1000", "a_b", "axb"),
        _condition("Name", "starts_with", "a_"),
        {3},
        id="underscore_is_a_plain_character",
    ),
    pytest.param(
        _records("Name", "ab", "xab", "b", None),
        _condition("Name", "ends_with", "xab"),
        {2},
        id="ends_with_a_needle_longer_than_the_value",
    ),
    pytest.param(
        _records("Name", "STRASSE", "Straße", "strasse", "Strase"),
        _condition("Name", "equal", "straße"),
        {1, 2, 3},
        id="sharp_s_folds_to_ss",
    ),
    pytest.param(
        _records("Name", "İSTANBUL", "istanbul", "ıstanbul"),
        _condition("Name", "contains", "STANBUL"),
        {1, 2, 3},
        id="dotted_and_dotless_i",
    ),
    pytest.param(
        _records("Name", "ΣΊΣΥΦΟΣ", "σίσυφος", "Σίσυφος"),
        _condition("Name", "ends_with", "ος"),
        {1, 2, 3},
        id="final_sigma",
    ),
    pytest.param(
        _records("Name", None, "", "x", "y"),
        _condition("Name", "not_equal", "x"),
        {1, 2, 4},
        id="an_empty_field_matches_not_equal",
    ),
    pytest.param(
        _records("Name", None, "", "x", "y"),
        _condition("Name", "not_contains", "x"),
        {4},
        id="an_empty_field_does_not_match_not_contains",
    ),
    pytest.param(
        _records("Name", None, "", "x"),
        {
            "group_operator": "OR",
            "group": [_condition("Name", "not_equal", "x"), _condition("Count", "greater_than", 1)],
        },
        {1, 2},
        id="not_and_or_compose_over_empty_columns",
    ),
    pytest.param(
        [{**r, "Ratio": 2.0**53} for r in _records("Count", 2**53 + 1, 2**53, 1)],
        _condition("Count", "equal", {"api_name": "Ratio"}, type="field"),
        {1, 2},
        id="integer_and_double_fields_compare_as_doubles",
    ),
    pytest.param(
        _records("Count", 2**63 - 1, -(2**63), 0),
        _condition("Count", "in", [2**63 - 1, "0"]),
        {1, 3},
        id="integers_at_the_64_bit_bounds",
    ),
    pytest.param(
        _records("Tags", ("a_b",), ("Red", "green"), ()),
        _condition("Tags", "exclude_any", ["red", "BLUE"]),
        {1, 2},
        id="exclude_any_never_matches_an_empty_multiselect",
    ),
    pytest.param(
        _records("Tags", ("a_b",), ("Red", "green"), ("b",)),
        _condition("Tags", "include_any", "A_B"),
        {1},
        id="multiselect_items_are_whole_items",
    ),
    pytest.param(
        _records("Due", date(2024, 3, 1), date(2024, 3, 31), date(2024, 4, 1), date(2024, 2, 29)),
        _condition("Due", "greater_than", "${THISMONTH}"),
        {3},
        id="greater_than_a_range_is_after_its_end",
    ),
    pytest.param(
        _records(
            "Seen_At",
            _utc("2024-03-30T23:00:00+00:00"),
            _utc("2024-03-31T23:59:59.999999+02:00"),
            _utc("2024-04-01T00:00:00+02:00"),
            _utc("2024-03-30T23:59:59+01:00"),
        ),
        _condition("Seen_At", "equal", "2024-03-31"),
        {1, 2},
        id="a_date_on_a_datetime_field_is_the_whole_day_in_the_time_zone",
    ),
    pytest.param(
        _records(
            "Seen_At",
            _utc("2024-03-30T23:00:00+00:00"),
            _utc("2024-03-31T23:59:59.999999+02:00"),
            _utc("2024-04-01T00:00:00+02:00"),
            _utc("2024-03-30T23:59:59+01:00"),
        ),
        _condition("Seen_At", "not_between", ["${TODAY}", "${TODAY}"]),
        {3, 4},
        id="not_between_today_and_today_is_outside_the_day",
    ),
    pytest.param(
        _records("Active", None, True, False),
        _condition("Active", "equal", "false"),
        {1, 3},
        id="a_missing_boolean_is_false",
    ),
    pytest.param(
        [{**r, "Owner": owner} for owner, r in enumerate(_records("Name", "a", "b"), start=1)],
        _condition("Owner", "not_in", ["${CURRENTUSER}"]),
        {2},
        id="current_user",
    ),
]


@pytest.mark.parametrize(("records", "criteria", "expected"), EDGE_CASES)
def test_both_evaluators_select_what_criteria_md_says_on_edge_cases(
    database: Database, records: list[dict[str, Any]], criteria: dict[str, Any], expected: set[int]
) -> None:
    assert_agree(database, Scenario(PARIS_NOON, records, [criteria]))
    tree = validate_criteria(parse_criteria(criteria), MODULE)
    _, selected, _ = _answers(database, Scenario(PARIS_NOON, records, [criteria]), [tree])
    assert selected == expected
