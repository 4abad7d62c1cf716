"""criteria.md, "Comparators, by field type": what the compiled Python predicate decides."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from secteur.domain.catalog import standard_modules
from secteur.domain.criteria import EvalContext, compile_predicate, parse_criteria
from secteur.domain.fields import DataType, Field, Module, PicklistValue, column_for


def _extra(api_name: str, data_type: DataType, **more: Any) -> Field:
    return Field(api_name, api_name, data_type, column_for(api_name), **more)


def accounts() -> Module:
    """Accounts as a new org has them, with a field of each type the catalog lacks."""
    module = next(m for m in standard_modules() if m.api_name == "Accounts")
    tags = tuple(PicklistValue(v, v, i) for i, v in enumerate(("Red", "Green", "Straße")))
    for f in (
        _extra("Tags", DataType.MULTISELECTPICKLIST, picklist=tags),
        _extra("Active", DataType.BOOLEAN),
        _extra("Since", DataType.DATE),
        _extra("Renewal", DataType.DATE),
        _extra("Score", DataType.DOUBLE),
        _extra("Last_Seen", DataType.DATETIME),
        _extra("Manager", DataType.USERLOOKUP, lookup_module="users"),
    ):
        module = module.with_field(f)
    return module


ACCOUNTS = accounts()
# Sunday 31 March 2024, 14:00 in Paris — the day clocks go forward (a 23-hour day).
PARIS = EvalContext(datetime(2024, 3, 31, 12, tzinfo=UTC), 7, "Europe/Paris")


def cond(field: str, comparator: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"field": {"api_name": field}, "comparator": comparator, "value": value, **extra}


def matches(raw: dict[str, Any], record: dict[str, Any], ctx: EvalContext = PARIS) -> bool:
    return compile_predicate(parse_criteria(raw), ACCOUNTS, ctx)(record)


def which(
    raw: dict[str, Any], field: str, values: list[Any], ctx: EvalContext = PARIS
) -> list[Any]:
    """The values of `field` that match, one record each."""
    predicate = compile_predicate(parse_criteria(raw), ACCOUNTS, ctx)
    return [v for v in values if predicate({field: v})]


EMPTIES: list[Any] = [None, ""]


# --- empty fields ---------------------------------------------------------------------------

TEXT_COMPARATORS = [
    ("equal", "x"),
    ("in", ["x"]),
    ("starts_with", "x"),
    ("ends_with", "x"),
    ("contains", "x"),
    ("not_contains", "x"),
]


@pytest.mark.parametrize(("comparator", "value"), TEXT_COMPARATORS)
@pytest.mark.parametrize("empty", [None, "", "absent"])
def test_an_empty_text_field_matches_no_comparator_but_not_equal_and_not_in(
    comparator: str, value: Any, empty: Any
) -> None:
    record = {} if empty == "absent" else {"Billing_City": empty}
    assert not matches(cond("Billing_City", comparator, value), record)
    assert matches(cond("Billing_City", "not_equal", "x"), record)
    assert matches(cond("Billing_City", "not_in", ["x", "y"]), record)


@pytest.mark.parametrize(
    ("field", "comparator", "value", "empty"),
    [
        ("Employees", "greater_than", -1, None),
        ("Employees", "between", [-10, 10], None),
        ("Employees", "not_between", [1, 2], None),
        ("Since", "less_than", "2999-01-01", None),
        ("Since", "not_between", ["2000-01-01", "2000-01-02"], None),
        ("Last_Seen", "equal", "${THISMONTH}", None),
        ("Parent_Account", "in", [1], None),
        ("Tags", "exclude_all", ["Red"], ()),
        ("Tags", "exclude_any", ["Red"], None),
    ],
)
def test_an_empty_field_matches_nothing_but_negations(
    field: str, comparator: str, value: Any, empty: Any
) -> None:
    assert not matches(cond(field, comparator, value), {field: empty})


@pytest.mark.parametrize(
    ("field", "filled"),
    [
        ("Billing_City", "Lyon"),
        ("Employees", 0),
        ("Since", date(2024, 1, 1)),
        ("Tags", ("Red",)),
        ("Parent_Account", 5),
        ("Last_Seen", PARIS.now),
    ],
)
def test_empty_and_notempty_test_emptiness(field: str, filled: Any) -> None:
    empty: Any = () if field == "Tags" else None
    assert which(cond(field, "equal", "${EMPTY}"), field, [empty, filled]) == [empty]
    assert which(cond(field, "equal", "${NOTEMPTY}"), field, [empty, filled]) == [filled]
    assert which(cond(field, "not_equal", "${EMPTY}"), field, [empty, filled]) == [filled]
    assert which(cond(field, "not_equal", "${NOTEMPTY}"), field, [empty, filled]) == [empty]


# --- text and picklists ---------------------------------------------------------------------


def test_text_equality_ignores_case_as_fold_defines_it() -> None:
    values = ["France", "FRANCE", "france", "Francé", "Straße", "STRASSE"]
    assert which(cond("Billing_Country", "equal", "france"), "Billing_Country", values) == [
        "France",
        "FRANCE",
        "france",
    ]
    assert which(cond("Billing_Country", "equal", "strasse"), "Billing_Country", values) == [
        "Straße",
        "STRASSE",
    ]


def test_composed_and_decomposed_accents_are_equal() -> None:
    assert matches(cond("Billing_City", "equal", "Orle\u0301ans"), {"Billing_City": "ORLÉANS"})


def test_an_array_with_equal_means_in_and_with_not_equal_means_not_in() -> None:
    values = ["Lyon", "Paris", "Nice", None]
    assert which(cond("Billing_City", "equal", ["lyon", "NICE"]), "Billing_City", values) == [
        "Lyon",
        "Nice",
    ]
    assert which(cond("Billing_City", "not_equal", ["lyon", "NICE"]), "Billing_City", values) == [
        "Paris",
        None,
    ]


@pytest.mark.parametrize(
    ("comparator", "value", "expected"),
    [
        ("starts_with", "SAINT", ["Saint-Étienne", "saint-malo"]),
        ("ends_with", "MALO", ["saint-malo"]),
        ("contains", "ÉTIEN", ["Saint-Étienne"]),
        ("not_contains", "saint", ["Lyon"]),
    ],
)
def test_substring_comparators_ignore_case(
    comparator: str, value: str, expected: list[str]
) -> None:
    values = ["Saint-Étienne", "saint-malo", "Lyon", None]
    assert which(cond("Billing_City", comparator, value), "Billing_City", values) == expected


def test_percent_underscore_and_backslash_are_plain_characters() -> None:
    values = ["100%", "1000", "a_b", "axb", "a\\b"]
    assert which(cond("Account_Name", "contains", "0%"), "Account_Name", values) == ["100%"]
    assert which(cond("Account_Name", "contains", "_"), "Account_Name", values) == ["a_b"]
    assert which(cond("Account_Name", "ends_with", "\\b"), "Account_Name", values) == ["a\\b"]


def test_picklists_compare_like_text() -> None:
    values = ["Banking", "banking", "Energy", None]
    assert which(cond("Industry", "in", ["BANKING"]), "Industry", values) == ["Banking", "banking"]
    assert which(cond("Industry", "starts_with", "en"), "Industry", values) == ["Energy"]


# --- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comparator", "value", "expected"),
    [
        ("equal", 10, [10]),
        ("equal", [10, 20], [10, 20]),
        ("not_equal", 10, [-5, 0, 20, None]),
        ("in", ["0", 20], [0, 20]),
        ("not_in", [0], [-5, 10, 20, None]),
        ("greater_than", 10, [20]),
        ("greater_equal", "10", [10, 20]),
        ("less_than", 0, [-5]),
        ("less_equal", 0, [-5, 0]),
        ("between", [0, 10], [0, 10]),
        ("between", [10, 0], []),
        ("not_between", [0, 10], [-5, 20]),
    ],
)
def test_number_comparators(comparator: str, value: Any, expected: list[int]) -> None:
    values = [-5, 0, 10, 20, None]
    assert which(cond("Employees", comparator, value), "Employees", values) == expected


def test_doubles_compare_as_the_stored_doubles() -> None:
    assert matches(cond("Score", "equal", 2**53), {"Score": 2**53 + 1})
    # Exactly, without tolerance: 0.1 + 0.2 is stored as 0.30000000000000004.
    assert not matches(
        cond("Annual_Revenue", "between", ["0.1", 0.3]), {"Annual_Revenue": 0.1 + 0.2}
    )
    assert matches(cond("Annual_Revenue", "greater_than", 0.3), {"Annual_Revenue": 0.1 + 0.2})


# --- booleans -------------------------------------------------------------------------------


def test_a_missing_boolean_is_false() -> None:
    values = [True, False, None]
    assert which(cond("Active", "equal", False), "Active", values) == [False, None]
    assert which(cond("Active", "not_equal", "true"), "Active", values) == [False, None]
    assert which(cond("Active", "equal", True), "Active", values) == [True]
    assert which(cond("Active", "equal", [True, False]), "Active", values) == values


# --- dates ----------------------------------------------------------------------------------

SINCE = [
    *(date(2024, 3, d) for d in (1, 24, 30, 31)),
    date(2024, 2, 29),
    date(2024, 4, 1),
    date(2024, 1, 1),
    date(2024, 4, 7),
]


@pytest.mark.parametrize(
    ("value", "days"),
    [
        ("${TODAY}", [date(2024, 3, 31)]),
        ("${LAST_N_DAYS:7}", [date(2024, 3, 24), date(2024, 3, 30), date(2024, 3, 31)]),
        ("${NEXT_N_DAYS:7}", [date(2024, 3, 31), date(2024, 4, 1), date(2024, 4, 7)]),
        ("${THISMONTH}", [date(2024, 3, d) for d in (1, 24, 30, 31)]),
        (
            "${THISQUARTER}",
            [date(2024, 3, d) for d in (1, 24, 30, 31)] + [date(2024, 2, 29), date(2024, 1, 1)],
        ),
    ],
)
def test_predefined_dates_are_ranges_of_days_around_today_in_the_time_zone(
    value: str, days: list[date]
) -> None:
    assert sorted(which(cond("Since", "equal", value), "Since", SINCE)) == sorted(days)
    outside = [d for d in SINCE if d not in days]
    assert sorted(which(cond("Since", "not_equal", value), "Since", SINCE)) == sorted(outside)


def test_comparing_with_a_range_compares_with_its_ends() -> None:
    month = "${THISMONTH}"
    assert which(cond("Since", "greater_than", month), "Since", SINCE) == [
        date(2024, 4, 1),
        date(2024, 4, 7),
    ]
    assert which(cond("Since", "less_than", month), "Since", SINCE) == [
        date(2024, 2, 29),
        date(2024, 1, 1),
    ]
    assert which(cond("Since", "greater_equal", month), "Since", SINCE) == [
        d for d in SINCE if d >= date(2024, 3, 1)
    ]
    assert which(cond("Since", "less_equal", month), "Since", SINCE) == [
        d for d in SINCE if d <= date(2024, 3, 31)
    ]


def test_between_dates_is_inclusive_and_not_between_strictly_outside() -> None:
    window = ["2024-03-24", "${TODAY}"]
    assert which(cond("Since", "between", window), "Since", SINCE) == [
        date(2024, 3, 24),
        date(2024, 3, 30),
        date(2024, 3, 31),
    ]
    assert which(cond("Since", "not_between", window), "Since", SINCE) == [
        date(2024, 3, 1),
        date(2024, 2, 29),
        date(2024, 4, 1),
        date(2024, 1, 1),
        date(2024, 4, 7),
    ]


def test_today_depends_on_the_time_zone() -> None:
    # 2024-03-31 23:30 UTC is already 1 April in Kiritimati (UTC+14), still 31 March in Samoa.
    now = datetime(2024, 3, 31, 23, 30, tzinfo=UTC)
    today = cond("Since", "equal", "${TODAY}")
    ahead = EvalContext(now, None, "Pacific/Kiritimati")
    behind = EvalContext(now, None, "Pacific/Pago_Pago")
    assert which(today, "Since", SINCE, ahead) == [date(2024, 4, 1)]
    assert which(today, "Since", SINCE, behind) == [date(2024, 3, 31)]


# --- datetimes ------------------------------------------------------------------------------


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# Around Paris's 23-hour 31 March 2024 (00:00 CET = 23:00 UTC the day before; 24:00 CEST).
SEEN = [
    _at("2024-03-30T22:59:59.999999+00:00"),
    _at("2024-03-30T23:00:00+00:00"),
    _at("2024-03-31T23:59:59.999999+02:00"),
    _at("2024-04-01T00:00:00+02:00"),
]


@pytest.mark.parametrize(
    ("comparator", "value", "expected"),
    [
        ("equal", "2024-03-31", [1, 2]),
        ("not_equal", "2024-03-31", [0, 3]),
        ("greater_than", "2024-03-31", [3]),
        ("greater_equal", "2024-03-31", [1, 2, 3]),
        ("less_than", "2024-03-31", [0]),
        ("less_equal", "2024-03-31", [0, 1, 2]),
        ("equal", "${TODAY}", [1, 2]),
        ("between", ["2024-03-31", "2024-03-31"], [1, 2]),
        ("not_between", ["${TODAY}", "${TODAY}"], [0, 3]),
        ("equal", "2024-03-30T23:00:00Z", [1]),
        ("greater_than", "2024-03-31T00:00:00+01:00", [2, 3]),
        ("less_equal", "2024-03-31T00:00:00+01:00", [0, 1]),
    ],
)
def test_a_date_on_a_datetime_field_is_the_whole_day_in_the_time_zone(
    comparator: str, value: Any, expected: list[int]
) -> None:
    found = which(cond("Last_Seen", comparator, value), "Last_Seen", SEEN)
    assert found == [SEEN[i] for i in expected]


def test_instants_compare_whatever_zone_they_are_written_in() -> None:
    raw = cond("Created_Time", "equal", "2024-05-01T09:00:00+02:00")
    assert matches(raw, {"Created_Time": datetime(2024, 5, 1, 7, tzinfo=UTC)})


# --- lookups --------------------------------------------------------------------------------


def test_lookups_compare_by_id() -> None:
    values = [5, 6, None]
    assert which(cond("Parent_Account", "equal", {"id": "5"}), "Parent_Account", values) == [5]
    assert which(cond("Parent_Account", "not_in", ["5"]), "Parent_Account", values) == [6, None]


def test_the_current_user_is_the_context_s_user() -> None:
    mine = cond("Owner", "equal", "${CURRENTUSER}")
    assert which(mine, "Owner", [7, 8]) == [7]
    nobody = EvalContext(PARIS.now, None, "UTC")
    assert which(mine, "Owner", [7, 8], nobody) == []
    assert which(cond("Owner", "not_equal", "${CURRENTUSER}"), "Owner", [7, 8], nobody) == [7, 8]
    assert which(cond("Manager", "in", ["${CURRENTUSER}", 9]), "Manager", [7, 8, 9]) == [7, 9]


# --- multi-selects --------------------------------------------------------------------------

TAGS = [("Red",), ("red", "Green"), ("STRASSE",), (), None]


@pytest.mark.parametrize(
    ("comparator", "value", "expected"),
    [
        ("include_all", ["RED", "green"], [1]),
        ("include_any", ["red", "straße"], [0, 1, 2]),
        ("exclude_all", ["Red", "Green"], [2]),
        ("exclude_any", ["Red", "Green"], [0, 2]),
        ("include_any", "Green", [1]),
    ],
)
def test_multiselect_comparators_ignore_case(
    comparator: str, value: Any, expected: list[int]
) -> None:
    assert which(cond("Tags", comparator, value), "Tags", TAGS) == [TAGS[i] for i in expected]


# --- comparing two fields -------------------------------------------------------------------


def test_fields_compare_with_fields_of_a_compatible_kind() -> None:
    bigger = cond("Annual_Revenue", "greater_than", {"api_name": "Score"}, type="field")
    assert matches(bigger, {"Annual_Revenue": 10.0, "Score": 2.5})
    assert not matches(bigger, {"Annual_Revenue": 1.0, "Score": 2.5})
    same = cond("Billing_City", "equal", {"api_name": "Billing_State"}, type="field")
    assert matches(same, {"Billing_City": "Straße", "Billing_State": "STRASSE"})
    later = cond("Renewal", "greater_equal", {"api_name": "Since"}, type="field")
    assert matches(later, {"Renewal": date(2024, 1, 1), "Since": date(2024, 1, 1)})
    count = cond("Employees", "less_than", {"api_name": "Annual_Revenue"}, type="field")
    assert matches(count, {"Employees": 3, "Annual_Revenue": 3.5})


def test_an_empty_side_matches_only_not_equal() -> None:
    for record in ({"Billing_City": "Lyon"}, {"Billing_State": "Lyon"}, {}):
        assert not matches(
            cond("Billing_City", "equal", {"api_name": "Billing_State"}, type="field"), record
        )
        assert matches(
            cond("Billing_City", "not_equal", {"api_name": "Billing_State"}, type="field"), record
        )


# --- groups and compilation -----------------------------------------------------------------


def test_groups_combine_with_and_and_or() -> None:
    raw = {
        "group_operator": "OR",
        "group": [
            {
                "group_operator": "AND",
                "group": [
                    cond("Billing_Country", "equal", "France"),
                    cond("Employees", "greater_than", 100),
                ],
            },
            cond("Industry", "equal", "Banking"),
        ],
    }
    assert matches(raw, {"Billing_Country": "France", "Employees": 500})
    assert not matches(raw, {"Billing_Country": "France", "Employees": 50})
    assert matches(raw, {"Industry": "banking"})


def test_the_clock_is_read_from_the_context_once_at_compile_time() -> None:
    predicate = compile_predicate(
        parse_criteria(cond("Since", "equal", "${TODAY}")), ACCOUNTS, PARIS
    )
    assert predicate({"Since": date(2024, 3, 31)})
    assert predicate({"Since": date(2024, 3, 31)})
    later = EvalContext(datetime(2030, 1, 1, tzinfo=UTC), None, "UTC")
    assert not matches(cond("Since", "equal", "${TODAY}"), {"Since": date(2024, 3, 31)}, later)


def test_compiling_validates() -> None:
    from secteur.domain.criteria import CriteriaError

    with pytest.raises(CriteriaError):
        compile_predicate(parse_criteria(cond("Nope", "equal", "x")), ACCOUNTS, PARIS)


def test_the_context_refuses_naive_clocks_and_unknown_zones() -> None:
    with pytest.raises(ValueError):
        EvalContext(datetime(2024, 1, 1), None, "UTC")  # noqa: DTZ001 — the point of the test
    with pytest.raises(ValueError):
        EvalContext(PARIS.now, None, "Mars/Olympus_Mons")
