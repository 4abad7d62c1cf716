"""The list filter builder: rows from a query string become the criteria tree of criteria.md,
which the criteria engine validates like any API criteria."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secteur.domain.catalog import standard_modules
from secteur.domain.criteria import parse_criteria, validate_criteria
from secteur.domain.fields import Module
from secteur.web import filters


def module(name: str) -> Module:
    return next(m for m in standard_modules() if m.api_name == name)


ACCOUNTS = module("Accounts")
DEALS = module("Deals")


def test_rows_are_read_by_index_and_rows_without_a_field_are_dropped() -> None:
    flt = filters.parse(
        [
            ("f0", "Billing_Country"),
            ("o0", "is"),
            ("v0", "France"),
            ("f1", ""),
            ("o1", "contains"),
            ("f2", "Industry"),
            ("o2", "is"),
            ("v2", "Retail"),
            ("v2", "Banking"),
            ("match", "any"),
        ]
    )
    assert flt.rows == (
        filters.Row("Billing_Country", "is", ("France",)),
        filters.Row("Industry", "is", ("Retail", "Banking")),
    )
    assert flt.match == "any"


def test_one_row_is_a_single_condition_and_several_rows_a_group() -> None:
    one = filters.Filter((filters.Row("Billing_Country", "contains", ("fra",)),))
    assert filters.to_criteria(ACCOUNTS, one, "UTC") == {
        "field": {"api_name": "Billing_Country"},
        "comparator": "contains",
        "value": "fra",
    }
    two = filters.Filter(
        (
            filters.Row("Billing_Country", "is", ("France",)),
            filters.Row("Annual_Revenue", "gt", ("1000000",)),
        ),
        "any",
    )
    criteria = filters.to_criteria(ACCOUNTS, two, "UTC")
    assert criteria == {
        "group_operator": "OR",
        "group": [
            {"field": {"api_name": "Billing_Country"}, "comparator": "equal", "value": "France"},
            {
                "field": {"api_name": "Annual_Revenue"},
                "comparator": "greater_than",
                "value": 1000000.0,
            },
        ],
    }


def test_is_any_of_several_picklist_values_is_equal_with_an_array() -> None:
    flt = filters.Filter((filters.Row("Stage", "is", ("Qualification", "Needs Analysis")),))
    assert filters.to_criteria(DEALS, flt, "UTC") == {
        "field": {"api_name": "Stage"},
        "comparator": "equal",
        "value": ["Qualification", "Needs Analysis"],
    }


def test_is_empty_takes_no_value_and_uses_the_predefined_empty() -> None:
    flt = filters.Filter((filters.Row("Phone", "empty"),))
    assert filters.to_criteria(ACCOUNTS, flt, "UTC") == {
        "field": {"api_name": "Phone"},
        "comparator": "equal",
        "value": "${EMPTY}",
    }


def test_a_local_date_time_gets_the_readers_time_zone() -> None:
    flt = filters.Filter((filters.Row("Created_Time", "gt", ("2026-03-01T09:30",)),))
    criteria = filters.to_criteria(ACCOUNTS, flt, "Europe/Paris")
    assert criteria is not None
    assert criteria["value"] == "2026-03-01T09:30:00+01:00"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (filters.Row("Nope", "is", ("x",)), "There is no field Nope"),
        (filters.Row("Annual_Revenue", "gt", ("lots",)), "Annual Revenue: “lots” is not a number"),
        (filters.Row("Annual_Revenue", "between", ("1",)), "give two values"),
        (filters.Row("Billing_City", "is", ()), "Billing City: give a value"),
        (filters.Row("Billing_City", "??", ("x",)), "choose how to compare"),
    ],
)
def test_a_row_that_cannot_be_a_condition_names_the_field(row: filters.Row, message: str) -> None:
    with pytest.raises(filters.FilterProblem, match=message):
        filters.to_criteria(ACCOUNTS, filters.Filter((row,)), "UTC")


def test_params_reproduce_the_filter() -> None:
    flt = filters.Filter(
        (filters.Row("Industry", "is", ("Retail", "Banking")), filters.Row("Phone", "empty")),
        "any",
    )
    pairs = [
        (k, v)
        for k, value in flt.params().items()
        for v in (value if isinstance(value, list) else [value])
    ]
    assert filters.parse(pairs) == flt


def _row_for(name: str) -> st.SearchStrategy[filters.Row]:
    f = ACCOUNTS.field(name)
    assert f is not None
    ops = filters.operators(f)

    def values(op: filters.Operator) -> st.SearchStrategy[tuple[str, ...]]:
        if op.arity == 0:
            return st.just(())
        if f.picklist:
            choices = [p.actual_value for p in f.picklist]
            return st.lists(st.sampled_from(choices), min_size=1, max_size=3).map(tuple)
        if f.kind.value == "number":
            number = st.integers(0, 10**9).map(str)
            return st.tuples(number, number) if op.arity == 2 else st.tuples(number)
        if f.kind.value in ("date", "datetime"):
            years = st.dates(date(1000, 1, 1), date(9998, 12, 31))
            day = years.map(
                lambda d: d.isoformat() if f.kind.value == "date" else d.isoformat() + "T10:00"
            )
            return st.tuples(day, day) if op.arity == 2 else st.tuples(day)
        if f.kind.value == "boolean":
            return st.sampled_from([("true",), ("false",)])
        text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1)
        return st.tuples(text.filter(str.strip))

    return st.sampled_from(ops).flatmap(
        lambda op: values(op).map(lambda vs: filters.Row(name, op.key, vs))
    )


SIMPLE_FIELDS = [
    f.api_name
    for f in filters.filterable(ACCOUNTS)
    if f.kind.value not in ("reference", "multiselect")
]


@given(
    st.lists(st.sampled_from(SIMPLE_FIELDS).flatmap(_row_for), min_size=1, max_size=5),
    st.sampled_from(["all", "any"]),
)
def test_every_filter_the_builder_can_show_is_valid_criteria(
    rows: list[filters.Row], match: str
) -> None:
    criteria = filters.to_criteria(ACCOUNTS, filters.Filter(tuple(rows), match), "Europe/Paris")
    validate_criteria(parse_criteria(criteria), ACCOUNTS)


def test_a_flat_rule_becomes_rows_and_back_to_the_same_meaning() -> None:
    rule = {
        "group_operator": "or",
        "group": [
            {"field": {"api_name": "Industry"}, "comparator": "in", "value": ["Retail", "Banking"]},
            {"field": {"api_name": "Annual_Revenue"}, "comparator": "greater_than", "value": 10.0},
            {"field": {"api_name": "Phone"}, "comparator": "equal", "value": "${EMPTY}"},
        ],
    }
    flt = filters.from_criteria(ACCOUNTS, rule)
    assert flt == filters.Filter(
        (
            filters.Row("Industry", "is", ("Retail", "Banking")),
            filters.Row("Annual_Revenue", "gt", ("10",)),
            filters.Row("Phone", "empty"),
        ),
        "any",
    )
    assert filters.to_criteria(ACCOUNTS, flt, "UTC") == {
        "group_operator": "OR",
        "group": [
            {
                "field": {"api_name": "Industry"},
                "comparator": "equal",
                "value": ["Retail", "Banking"],
            },
            {"field": {"api_name": "Annual_Revenue"}, "comparator": "greater_than", "value": 10.0},
            {"field": {"api_name": "Phone"}, "comparator": "equal", "value": "${EMPTY}"},
        ],
    }


def test_a_nested_rule_or_a_predefined_value_needs_the_json_editor() -> None:
    nested = {
        "group_operator": "AND",
        "group": [
            {"field": {"api_name": "Phone"}, "comparator": "equal", "value": "${EMPTY}"},
            {
                "group_operator": "OR",
                "group": [
                    {"field": {"api_name": "Rating"}, "comparator": "equal", "value": "Active"},
                    {"field": {"api_name": "Rating"}, "comparator": "equal", "value": "Acquired"},
                ],
            },
        ],
    }
    assert filters.from_criteria(ACCOUNTS, nested) is None
    today = {"field": {"api_name": "Created_Time"}, "comparator": "equal", "value": "${TODAY}"}
    assert filters.from_criteria(ACCOUNTS, today) is None


def test_rules_read_as_sentences() -> None:
    rule = {
        "group_operator": "AND",
        "group": [
            {"field": {"api_name": "Billing_Country"}, "comparator": "equal", "value": "France"},
            {
                "group_operator": "OR",
                "group": [
                    {
                        "field": {"api_name": "Annual_Revenue"},
                        "comparator": "between",
                        "value": [1, 5],
                    },
                    {
                        "field": {"api_name": "Phone"},
                        "comparator": "not_equal",
                        "value": "${EMPTY}",
                    },
                ],
            },
        ],
    }
    assert filters.sentence(ACCOUNTS, rule) == (
        "Billing Country is France and (Annual Revenue is between 1 and 5 or Phone is not empty)"
    )
