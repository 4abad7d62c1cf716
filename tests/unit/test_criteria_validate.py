"""criteria.md, "Validation": every problem with Zoho's code and the offending path."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from secteur.domain.catalog import standard_modules
from secteur.domain.criteria import (
    Condition,
    CriteriaError,
    FieldRef,
    Group,
    Predefined,
    parse_criteria,
    parse_search_string,
    to_json,
    validate_criteria,
)
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
        _extra("Score", DataType.DOUBLE),
        _extra("Manager", DataType.USERLOOKUP, lookup_module="users"),
        Field("Territories", "Territories", DataType.TERRITORIES, "territories"),
    ):
        module = module.with_field(f)
    return module


ACCOUNTS = accounts()


def cond(field: str, comparator: str | None, value: Any, **extra: Any) -> dict[str, Any]:
    raw = {"field": {"api_name": field}, "value": value, **extra}
    if comparator is not None:
        raw["comparator"] = comparator
    return raw


def valid(raw: dict[str, Any]) -> Any:
    return validate_criteria(parse_criteria(raw), ACCOUNTS)


def problems(raw: Any) -> list[tuple[str, dict[str, Any]]]:
    tree = raw if isinstance(raw, Condition | Group) else parse_criteria(raw)
    with pytest.raises(CriteriaError) as exc:
        validate_criteria(tree, ACCOUNTS)
    return [(p.code, p.details) for p in exc.value.problems]


def only(raw: Any) -> tuple[str, dict[str, Any]]:
    found = problems(raw)
    assert len(found) == 1, found
    return found[0]


# --- binding: canonical names and values ----------------------------------------------------


def test_field_names_are_bound_to_the_module_s_spelling_and_id() -> None:
    bound = valid(cond("billing_country", "equal", "France"))
    assert bound == Condition("Billing_Country", "equal", "France")
    assert to_json(bound)["field"] == {"api_name": "Billing_Country", "id": "3652397000000101009"}


def test_numbers_given_as_strings_are_coerced_to_the_field_s_type() -> None:
    assert valid(cond("Annual_Revenue", "greater_than", "1000000")).value == 1000000.0
    assert valid(cond("Employees", "between", ["10", 20.0])).value == (10, 20)
    assert isinstance(valid(cond("Annual_Revenue", "equal", 5)).value, float)


def test_picklist_values_are_canonicalised_to_the_defined_value() -> None:
    assert valid(cond("Industry", "in", ["banking", "FOOD & BEVERAGE"])).value == (
        "Banking",
        "Food & Beverage",
    )


def test_picklist_fragments_are_not_checked_against_the_picklist() -> None:
    assert valid(cond("Industry", "starts_with", "ban")).value == "ban"


def test_in_takes_a_single_value_as_a_list_of_one() -> None:
    assert valid(cond("Billing_Country", "in", "France")).value == ("France",)


def test_booleans_may_be_strings() -> None:
    assert valid(cond("Active", "equal", "TRUE")).value is True


def test_datetimes_are_converted_to_utc_and_dates_stay_dates() -> None:
    moment = valid(cond("Created_Time", "greater_than", "2024-05-01T09:00:00+02:00")).value
    assert moment == datetime(2024, 5, 1, 7, tzinfo=UTC)
    assert moment.utcoffset().total_seconds() == 0
    assert valid(cond("Created_Time", "equal", "2024-05-01")).value == date(2024, 5, 1)


def test_lookup_ids_may_be_numbers_strings_or_objects() -> None:
    bound = valid(cond("Parent_Account", "in", [5, "6", {"id": "7"}]))
    assert bound.value == (5, 6, 7)


def test_the_current_user_applies_to_owner_and_user_lookups() -> None:
    assert valid(cond("Owner", "equal", "${CURRENTUSER}")).value == Predefined("CURRENTUSER")
    assert valid(cond("Manager", "in", ["${CURRENTUSER}", 5])).value == (
        Predefined("CURRENTUSER"),
        5,
    )


def test_the_search_string_and_the_json_bind_to_the_same_tree() -> None:
    text = "((Billing_Country:equals:France)and(Annual_Revenue:greater_than:1000000))"
    raw = {
        "group_operator": "and",
        "group": [
            cond("Billing_Country", "equal", "France"),
            cond("Annual_Revenue", "greater_than", 1000000),
        ],
    }
    assert validate_criteria(parse_search_string(text), ACCOUNTS) == valid(raw)


def test_validating_a_validated_tree_changes_nothing() -> None:
    raw = {
        "group_operator": "OR",
        "group": [
            cond("Created_Time", "between", ["2024-01-01", "2024-05-01T10:00:00Z"]),
            cond("Industry", "not_in", ["banking"]),
            cond("Tags", "include_any", ["red"]),
            cond("Owner", "equal", "${CURRENTUSER}"),
            cond("Employees", "less_equal", {"api_name": "Annual_Revenue"}, type="field"),
        ],
    }
    bound = valid(raw)
    assert validate_criteria(bound, ACCOUNTS) == bound
    assert valid(to_json(bound)) == bound


# --- problems -------------------------------------------------------------------------------


def test_an_unknown_field_is_invalid_data_naming_it() -> None:
    assert only(cond("Nope", "equal", "x")) == (
        "INVALID_DATA",
        {"api_name": "Nope", "json_path": "$.field"},
    )


def test_a_field_that_cannot_be_filtered_is_not_supported() -> None:
    code, details = only(cond("Territories", "equal", "x"))
    assert (code, details["api_name"]) == ("NOT_SUPPORTED", "Territories")


def test_a_missing_comparator_is_dependent_field_missing() -> None:
    tree = Condition("Billing_Country", "", "France")
    assert only(tree) == (
        "DEPENDENT_FIELD_MISSING",
        {"api_name": "Billing_Country", "json_path": "$.comparator"},
    )


@pytest.mark.parametrize(
    ("field", "comparator", "supported"),
    [
        (
            "Billing_Country",
            "greater_than",
            [
                "equal",
                "not_equal",
                "in",
                "not_in",
                "starts_with",
                "ends_with",
                "contains",
                "not_contains",
            ],
        ),
        (
            "Employees",
            "contains",
            [
                "equal",
                "not_equal",
                "in",
                "not_in",
                "greater_than",
                "greater_equal",
                "less_than",
                "less_equal",
                "between",
                "not_between",
            ],
        ),
        (
            "Created_Time",
            "in",
            [
                "equal",
                "not_equal",
                "greater_than",
                "greater_equal",
                "less_than",
                "less_equal",
                "between",
                "not_between",
            ],
        ),
        ("Active", "in", ["equal", "not_equal"]),
        ("Owner", "starts_with", ["equal", "not_equal", "in", "not_in"]),
        (
            "Tags",
            "contains",
            ["equal", "not_equal", "include_all", "include_any", "exclude_all", "exclude_any"],
        ),
        (
            "Billing_Country",
            "like",
            [
                "equal",
                "not_equal",
                "in",
                "not_in",
                "starts_with",
                "ends_with",
                "contains",
                "not_contains",
            ],
        ),
    ],
)
def test_a_comparator_outside_the_type_s_table_is_a_dependent_mismatch(
    field: str, comparator: str, supported: list[str]
) -> None:
    code, details = only(cond(field, comparator, "1"))
    assert code == "DEPENDENT_MISMATCH"
    assert details["supported_values"] == supported
    assert details["json_path"] == "$.comparator"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (cond("Employees", "equal", "many"), "integer"),
        (cond("Employees", "equal", 1.5), "integer"),
        (cond("Employees", "equal", 2**63), "integer"),
        (cond("Annual_Revenue", "less_than", "1e999"), "currency"),
        (cond("Annual_Revenue", "less_than", True), "currency"),
        (cond("Active", "equal", "yes"), "boolean"),
        (cond("Since", "equal", "01/05/2024"), "date"),
        (cond("Since", "equal", "2024-05-01T10:00:00+00:00"), "date"),
        (cond("Created_Time", "equal", "2024-05-01T10:00:00"), "datetime"),
        (cond("Parent_Account", "equal", "abc"), "lookup"),
        (cond("Billing_Country", "equal", ""), "text"),
    ],
)
def test_a_value_of_the_wrong_type_is_invalid_data_with_the_expected_type(
    raw: dict[str, Any], expected: str
) -> None:
    code, details = only(raw)
    assert (code, details["expected_data_type"], details["json_path"]) == (
        "INVALID_DATA",
        expected,
        "$.value",
    )


def test_the_offending_item_of_a_list_is_named() -> None:
    code, details = only(cond("Employees", "in", [1, "two", 3]))
    assert (code, details["json_path"]) == ("INVALID_DATA", "$.value[1]")


@pytest.mark.parametrize("value", [[1], [1, 2, 3], 5])
def test_between_without_exactly_two_values_is_a_dependent_mismatch(value: Any) -> None:
    code, details = only(cond("Employees", "between", value))
    assert (code, details["expected_data_type"]) == ("DEPENDENT_MISMATCH", "jsonarray")


def test_a_list_for_a_single_value_comparator_is_a_dependent_mismatch() -> None:
    code, _ = only(cond("Billing_Country", "starts_with", ["a", "b"]))
    assert code == "DEPENDENT_MISMATCH"


def test_lists_hold_one_to_five_hundred_values() -> None:
    assert only(cond("Employees", "in", []))[0] == "INVALID_DATA"
    assert only(cond("Employees", "in", list(range(501))))[0] == "INVALID_DATA"
    assert len(valid(cond("Employees", "in", list(range(500)))).value) == 500


def test_a_picklist_value_outside_the_picklist_is_invalid_data() -> None:
    assert only(cond("Industry", "equal", "Basket Weaving")) == (
        "INVALID_DATA",
        {"api_name": "Industry", "json_path": "$.value", "expected_data_type": "picklist"},
    )


def test_a_multiselect_value_outside_the_picklist_is_invalid_data() -> None:
    assert only(cond("Tags", "include_all", ["red", "Blue"]))[1]["json_path"] == "$.value[1]"


def test_emptiness_applies_with_equal_and_not_equal_only_and_never_to_booleans() -> None:
    assert only(cond("Billing_Country", "contains", "${EMPTY}"))[0] == "DEPENDENT_MISMATCH"
    assert only(cond("Active", "equal", "${EMPTY}"))[0] == "DEPENDENT_MISMATCH"
    assert only(cond("Employees", "in", ["${NOTEMPTY}"]))[0] == "INVALID_DATA"
    assert valid(cond("Tags", "not_equal", "${EMPTY}")).value == Predefined("EMPTY")


def test_multiselect_equality_takes_only_emptiness() -> None:
    code, details = only(cond("Tags", "equal", "Red"))
    assert (code, details["supported_values"]) == (
        "DEPENDENT_MISMATCH",
        ["${EMPTY}", "${NOTEMPTY}"],
    )


def test_predefined_values_apply_only_to_their_types() -> None:
    code, details = only(cond("Billing_Country", "equal", "${TODAY}"))
    assert (code, details["supported_values"]) == ("DEPENDENT_MISMATCH", [])
    code, details = only(cond("Parent_Account", "equal", "${CURRENTUSER}"))
    assert code == "DEPENDENT_MISMATCH"
    assert only(cond("Since", "equal", "${LAST_N_DAYS:0}"))[0] == "INVALID_DATA"
    assert only(Condition("Since", "equal", Predefined("LAST_N_DAYS")))[0] == "INVALID_DATA"


def test_field_comparisons_need_a_known_field_of_a_compatible_kind() -> None:
    assert only(cond("Employees", "equal", {"api_name": "Nope"}, type="field"))[0] == (
        "INVALID_DATA"
    )
    code, details = only(cond("Employees", "equal", {"api_name": "Since"}, type="field"))
    assert (code, details["expected_data_type"]) == ("DEPENDENT_MISMATCH", "integer")
    assert only(cond("Billing_City", "contains", {"api_name": "Billing_State"}, type="field"))[
        0
    ] == ("DEPENDENT_MISMATCH")
    assert only(cond("Tags", "equal", {"api_name": "Tags"}, type="field"))[0] == "NOT_SUPPORTED"
    assert valid(cond("Industry", "equal", {"api_name": "account_name"}, type="field")).value == (
        FieldRef("Account_Name")
    )


def _nest(depth: int) -> dict[str, Any]:
    leaf = cond("Billing_Country", "equal", "France")
    tree = {"group_operator": "AND", "group": [leaf, leaf]}
    for _ in range(depth - 1):
        tree = {"group_operator": "AND", "group": [leaf, tree]}
    return tree


def test_groups_nest_five_deep_and_no_deeper() -> None:
    valid(_nest(5))
    assert only(_nest(6)) == (
        "INVALID_DATA",
        {"json_path": "$.group[1].group[1].group[1].group[1].group[1]"},
    )


@pytest.mark.parametrize("size", [1, 26])
def test_a_group_holds_two_to_twenty_five_criteria(size: int) -> None:
    leaf = cond("Billing_Country", "equal", "France")
    raw = {
        "group_operator": "AND",
        "group": [cond("Employees", "equal", 1), {"group_operator": "OR", "group": [leaf] * size}],
    }
    assert only(raw) == ("INVALID_DATA", {"json_path": "$.group[1].group"})
    valid({"group_operator": "OR", "group": [leaf] * 25})


def test_every_problem_of_a_tree_is_reported_with_its_path() -> None:
    raw = {
        "group_operator": "AND",
        "group": [
            cond("Nope", "equal", "x"),
            cond("Employees", "contains", "3"),
            cond("Industry", "equal", "Nope"),
        ],
    }
    found = problems(raw)
    assert [(code, d["json_path"]) for code, d in found] == [
        ("INVALID_DATA", "$.group[0].field"),
        ("DEPENDENT_MISMATCH", "$.group[1].comparator"),
        ("INVALID_DATA", "$.group[2].value"),
    ]


def test_a_criteria_error_serialises_its_problems() -> None:
    with pytest.raises(CriteriaError) as exc:
        valid(cond("Nope", "equal", "x"))
    assert exc.value.problems[0].to_json() == {
        "code": "INVALID_DATA",
        "message": "Nope is not a field of Accounts",
        "details": {"api_name": "Nope", "json_path": "$.field"},
    }
