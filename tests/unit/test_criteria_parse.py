"""criteria.md, "Shape": Zoho criteria JSON and the records-search string parse to one tree."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secteur.domain.criteria import (
    Condition,
    CriteriaError,
    FieldRef,
    Group,
    Predefined,
    parse_criteria,
    parse_search_string,
    to_json,
)


def cond(field: str, comparator: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"field": {"api_name": field}, "comparator": comparator, "value": value, **extra}


def problem(exc: pytest.ExceptionInfo[CriteriaError], index: int = 0) -> tuple[str, Any]:
    found = exc.value.problems[index]
    return found.code, found.details.get("json_path", found.details.get("position"))


# --- JSON -----------------------------------------------------------------------------------


def test_a_condition_parses_to_a_condition_with_its_field_api_name() -> None:
    tree = parse_criteria(
        {
            "field": {"api_name": "Billing_Country", "id": "42"},
            "comparator": "equal",
            "value": "France",
        }
    )
    assert tree == Condition("Billing_Country", "equal", "France")
    assert isinstance(tree, Condition)
    assert tree.field_id == "42"


def test_a_group_parses_with_a_case_insensitive_operator() -> None:
    tree = parse_criteria(
        {"group_operator": "or", "group": [cond("A", "equal", "x"), cond("B", "equal", "y")]}
    )
    assert tree == Group("OR", (Condition("A", "equal", "x"), Condition("B", "equal", "y")))


def test_zoho_responses_with_null_group_keys_parse_as_conditions() -> None:
    raw = {**cond("A", "equal", "x"), "group_operator": None, "group": None}
    assert parse_criteria(raw) == Condition("A", "equal", "x")


def test_lists_become_tuples_and_lookups_given_as_objects_become_their_id() -> None:
    tree = parse_criteria(cond("Owner", "in", [{"id": "7", "name": "Ann"}, 8]))
    assert tree == Condition("Owner", "in", ("7", 8))


def test_predefined_values_are_recognised_in_any_value_and_typed_pre_defined() -> None:
    tree = parse_criteria(cond("Created_Time", "equal", "${LAST_N_DAYS:7}"))
    assert tree == Condition("Created_Time", "equal", Predefined("LAST_N_DAYS", 7), "pre_defined")


def test_a_field_value_compares_with_another_field() -> None:
    tree = parse_criteria(cond("Amount", "greater_than", {"api_name": "Budget"}, type="field"))
    assert tree == Condition("Amount", "greater_than", FieldRef("Budget"), "field")


def test_to_json_gives_back_the_zoho_json() -> None:
    raw = {
        "group_operator": "AND",
        "group": [
            {"field": {"api_name": "A", "id": "1"}, "comparator": "in", "value": ["x", "y"]},
            cond("B", "equal", "${TODAY}", type="pre_defined"),
            cond("C", "less_than", {"api_name": "D"}, type="field"),
        ],
    }
    assert to_json(parse_criteria(raw)) == raw


def test_to_json_writes_dates_in_iso_and_big_integers_as_text() -> None:
    tree = Condition("Owner", "in", (3652397000001000001, 5, date(2024, 5, 1)))
    assert to_json(tree)["value"] == ["3652397000001000001", 5, "2024-05-01"]


@pytest.mark.parametrize(
    ("raw", "code", "path"),
    [
        ("not an object", "INVALID_DATA", "$"),
        ({"comparator": "equal", "value": "x"}, "DEPENDENT_FIELD_MISSING", "$.field"),
        ({"field": {"api_name": "A"}, "value": "x"}, "DEPENDENT_FIELD_MISSING", "$.comparator"),
        ({"field": {"api_name": "A"}, "comparator": "equal"}, "DEPENDENT_FIELD_MISSING", "$.value"),
        (cond("A", "equal", "x", type="formula"), "INVALID_DATA", "$.type"),
        (cond("A", "equal", [["x"]]), "INVALID_DATA", "$.value[0]"),
        (cond("A", "equal", float("nan")), "INVALID_DATA", "$.value"),
        (cond("A", "equal", "${LAST_N_DAYS:many}"), "INVALID_DATA", "$.value"),
        (cond("A", "equal", "x", type="field"), "INVALID_DATA", "$.value"),
        ({"group_operator": "XOR", "group": []}, "INVALID_DATA", "$.group_operator"),
        ({"group_operator": "AND", "group": {}}, "INVALID_DATA", "$.group"),
        (
            {"group_operator": "AND", "group": [cond("A", "equal", "x"), {"field": "B"}]},
            "DEPENDENT_FIELD_MISSING",
            "$.group[1].comparator",
        ),
    ],
)
def test_malformed_json_is_invalid_data_or_missing_with_the_offending_path(
    raw: object, code: str, path: str
) -> None:
    with pytest.raises(CriteriaError) as exc:
        parse_criteria(raw)
    assert problem(exc) == (code, path)


def test_every_shape_problem_is_reported_at_once() -> None:
    raw = {"group_operator": "AND", "group": [{"field": "A"}, {"comparator": "equal"}]}
    with pytest.raises(CriteriaError) as exc:
        parse_criteria(raw)
    paths = [p.details["json_path"] for p in exc.value.problems]
    assert paths == [
        "$.group[0].comparator",
        "$.group[0].value",
        "$.group[1].field",
        "$.group[1].value",
    ]


def test_paths_start_from_the_caller_s_root() -> None:
    with pytest.raises(CriteriaError) as exc:
        parse_criteria({"field": "A"}, json_path="$.territories[0].account_rule_criteria")
    assert problem(exc) == (
        "DEPENDENT_FIELD_MISSING",
        "$.territories[0].account_rule_criteria.comparator",
    )


# --- search strings -------------------------------------------------------------------------


def test_the_search_string_of_criteria_md_parses_to_the_json_tree() -> None:
    text = "((Billing_Country:equals:France)and(Annual_Revenue:greater_than:1000000))"
    json_tree = parse_criteria(
        {
            "group_operator": "AND",
            "group": [
                cond("Billing_Country", "equal", "France"),
                cond("Annual_Revenue", "greater_than", "1000000"),
            ],
        }
    )
    assert parse_search_string(text) == json_tree


def test_a_single_condition_and_redundant_parentheses() -> None:
    assert parse_search_string("(Last_Name:equals:Burns)") == Condition(
        "Last_Name", "equal", "Burns"
    )
    assert parse_search_string(" ( (Last_Name:equals:Burns) ) ") == Condition(
        "Last_Name", "equal", "Burns"
    )


def test_or_and_nesting() -> None:
    tree = parse_search_string("((A:equals:1)OR((B:equals:2)and(C:equals:3)))")
    assert tree == Group(
        "OR",
        (
            Condition("A", "equal", "1"),
            Group("AND", (Condition("B", "equal", "2"), Condition("C", "equal", "3"))),
        ),
    )


def test_a_chain_of_one_operator_is_one_group() -> None:
    tree = parse_search_string("((A:equals:1)and(B:equals:2)and(C:equals:3))")
    assert isinstance(tree, Group)
    assert len(tree.children) == 3


def test_escaped_parentheses_commas_and_backslashes_are_plain_characters() -> None:
    tree = parse_search_string(r"(Account_Name:equals:Smith \(UK\)\, Ltd \\ Co)")
    assert tree == Condition("Account_Name", "equal", r"Smith (UK), Ltd \ Co")


def test_unescaped_commas_separate_the_values_of_a_list() -> None:
    assert parse_search_string("(Industry:in:Banking,Energy)") == Condition(
        "Industry", "in", ("Banking", "Energy")
    )
    assert parse_search_string("(Employees:between:10,20)") == Condition(
        "Employees", "between", ("10", "20")
    )


def test_colons_after_the_comparator_belong_to_the_value() -> None:
    assert parse_search_string("(Website:starts_with:https://a.example)") == Condition(
        "Website", "starts_with", "https://a.example"
    )
    assert parse_search_string("(Created_Time:equal:${LAST_N_DAYS:3})") == Condition(
        "Created_Time", "equal", Predefined("LAST_N_DAYS", 3), "pre_defined"
    )


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("Last_Name:equals:Burns", 0),
        ("(Last_Name:equals:Burns", 0),
        ("(Last_Name-equals-Burns)", 1),
        ("((A:equals:1)xor(B:equals:2))", 13),
        ("((A:equals:1)and(B:equals:2)or(C:equals:3))", 28),
        ("(A:equals:f(x))", 11),
        ("(A:equals:1) trailing", 13),
    ],
)
def test_a_bad_search_string_is_invalid_data_at_a_position(text: str, position: int) -> None:
    with pytest.raises(CriteriaError) as exc:
        parse_search_string(text)
    assert problem(exc) == ("INVALID_DATA", position)


# JSON criteria whose values are search-string expressible (text, no leading/trailing issue).
_names = st.sampled_from(("Account_Name", "Billing_City", "Industry", "Employees"))
_texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=8)
_conditions = st.builds(
    cond,
    _names,
    st.sampled_from(("equal", "not_equal", "in", "starts_with", "contains", "between")),
    st.one_of(_texts, st.lists(_texts, min_size=2, max_size=3)),
)
_trees = st.recursive(
    _conditions,
    lambda children: st.builds(
        lambda op, group: {"group_operator": op, "group": group},
        st.sampled_from(("AND", "OR")),
        st.lists(children, min_size=2, max_size=3),
    ),
    max_leaves=6,
)


def _escape(text: str) -> str:
    return "".join("\\" + c if c in "(),\\" else c for c in text)


def _search_string(raw: dict[str, Any]) -> str:
    if "group" in raw:
        joiner = "and" if raw["group_operator"] == "AND" else "or"
        return "(" + joiner.join(_search_string(child) for child in raw["group"]) + ")"
    value = raw["value"]
    items = value if isinstance(value, list) else [value]
    return f"({raw['field']['api_name']}:{raw['comparator']}:{','.join(map(_escape, items))})"


@given(_trees)
def test_any_json_tree_and_its_search_string_parse_to_the_same_tree(raw: dict[str, Any]) -> None:
    """Values that look like ${…} are predefined in both forms, so they agree too."""
    try:
        expected = parse_criteria(raw)
    except CriteriaError:
        with pytest.raises(CriteriaError):
            parse_search_string(_search_string(raw))
        return
    assert parse_search_string(_search_string(raw)) == expected
