"""Record input: wire values to canonical values for every data type, with per-item errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from secteur.domain.catalog import standard_modules
from secteur.domain.fields import (
    DEFAULT_LENGTH,
    MULTISELECT_SEPARATOR,
    DataType,
    Field,
    Module,
    PicklistValue,
    column_for,
)
from secteur.domain.records import InvalidValue, clean_item, coerce, derive, reference_id

ZONE = "Europe/Paris"


def field(data_type: DataType, api_name: str = "F", **extra: Any) -> Field:
    extra.setdefault("length", DEFAULT_LENGTH.get(data_type))
    return Field(api_name, api_name, data_type, column_for(api_name), **extra)


COLOURS = tuple(PicklistValue(v, v, i + 1) for i, v in enumerate(("Red", "Green", "Blue")))


def ok(f: Field, value: Any) -> Any:
    return coerce(f, value, time_zone=ZONE)


def bad(f: Field, value: Any) -> InvalidValue:
    with pytest.raises(InvalidValue) as caught:
        coerce(f, value, time_zone=ZONE)
    return caught.value


# --- text-like ----------------------------------------------------------------------------


@pytest.mark.parametrize("data_type", [DataType.TEXT, DataType.TEXTAREA, DataType.WEBSITE])
def test_text_is_kept_as_sent(data_type: DataType) -> None:
    assert ok(field(data_type), "  Acme Corp ") == "  Acme Corp "


def test_a_number_sent_to_a_text_field_becomes_its_text() -> None:
    assert ok(field(DataType.TEXT), 42) == "42"
    assert ok(field(DataType.TEXT), 1.5) == "1.5"


@pytest.mark.parametrize("value", ["", "   ", None])
def test_blank_text_is_empty(value: Any) -> None:
    assert ok(field(DataType.TEXT), value) is None


@pytest.mark.parametrize("value", [True, ["a"], {"a": 1}])
def test_text_refuses_booleans_lists_and_objects(value: Any) -> None:
    assert bad(field(DataType.TEXT), value).expected == "text"


def test_text_refuses_the_nul_character() -> None:
    bad(field(DataType.TEXT), "a\x00b")


def test_text_longer_than_the_field_length_is_refused_with_the_maximum() -> None:
    f = field(DataType.TEXT, length=5)
    assert ok(f, "abcde") == "abcde"
    problem = bad(f, "abcdef")
    assert problem.message == "value exceeds maximum length"
    assert problem.extra == {"maximum_length": 5}


def test_a_textarea_holds_32000_characters() -> None:
    f = field(DataType.TEXTAREA)
    assert ok(f, "x" * 32000) == "x" * 32000
    bad(f, "x" * 32001)


def test_an_email_is_trimmed_and_must_look_like_one() -> None:
    f = field(DataType.EMAIL)
    assert ok(f, " ada@acme.test ") == "ada@acme.test"
    for wrong in ("ada", "ada@acme", "ada @acme.test", "@acme.test"):
        assert bad(f, wrong).expected == "email"


def test_a_phone_is_trimmed_and_holds_digits_and_punctuation_only() -> None:
    f = field(DataType.PHONE)
    assert ok(f, " +33 (1) 23-45.67 x89 ") == "+33 (1) 23-45.67 x89"
    assert bad(f, "call me").expected == "phone"
    bad(f, "1" * 31)


# --- numbers ------------------------------------------------------------------------------


def test_an_integer_accepts_integers_integral_floats_and_numeric_strings() -> None:
    f = field(DataType.INTEGER)
    assert ok(f, 12) == 12
    assert ok(f, 12.0) == 12 and isinstance(ok(f, 12.0), int)
    assert ok(f, " -7 ") == -7
    assert ok(f, "") is None


@pytest.mark.parametrize("value", [12.5, "12.5", "twelve", True, [1], "1e999", "nan"])
def test_an_integer_refuses_fractions_words_and_booleans(value: Any) -> None:
    assert bad(field(DataType.INTEGER), value).expected == "integer"


def test_an_integer_must_fit_in_32_bits() -> None:
    f = field(DataType.INTEGER)
    assert ok(f, 2**31 - 1) == 2**31 - 1
    assert ok(f, -(2**31)) == -(2**31)
    assert bad(f, 2**31).message == "value out of range"


def test_a_bigint_must_fit_in_64_bits() -> None:
    f = field(DataType.BIGINT)
    assert ok(f, 2**40) == 2**40
    bad(f, 2**63)


@pytest.mark.parametrize("data_type", [DataType.DOUBLE, DataType.CURRENCY])
def test_decimal_types_become_floats(data_type: DataType) -> None:
    f = field(data_type)
    assert ok(f, 3) == 3.0 and isinstance(ok(f, 3), float)
    assert ok(f, "1250.75") == 1250.75
    assert ok(f, -0.5) == -0.5


@pytest.mark.parametrize("data_type", [DataType.DOUBLE, DataType.CURRENCY, DataType.PERCENT])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), "inf", "abc", False, 1e15])
def test_decimal_types_refuse_non_finite_huge_and_non_numbers(
    data_type: DataType, value: Any
) -> None:
    assert bad(field(data_type), value).expected == data_type.value


@pytest.mark.parametrize(
    "data_type",
    [DataType.INTEGER, DataType.BIGINT, DataType.DOUBLE, DataType.CURRENCY, DataType.PERCENT],
)
def test_a_json_integer_too_big_for_a_float_is_out_of_range(data_type: DataType) -> None:
    assert bad(field(data_type), 10**400).message == "value out of range"


def test_a_percent_lies_between_0_and_100() -> None:
    f = field(DataType.PERCENT)
    assert ok(f, 0) == 0.0 and ok(f, 100) == 100.0 and ok(f, "12.5") == 12.5
    assert bad(f, 100.01).message == "value must be between 0 and 100"
    bad(f, -1)


# --- booleans, dates ----------------------------------------------------------------------


def test_a_boolean_takes_json_booleans_and_the_words_true_and_false() -> None:
    f = field(DataType.BOOLEAN)
    assert ok(f, True) is True and ok(f, False) is False
    assert ok(f, " TRUE ") is True and ok(f, "false") is False


@pytest.mark.parametrize("value", [1, 0, "yes", "", [True]])
def test_a_boolean_refuses_numbers_and_other_words(value: Any) -> None:
    assert bad(field(DataType.BOOLEAN), value).expected == "boolean"


def test_a_date_is_an_iso_calendar_date() -> None:
    f = field(DataType.DATE)
    assert ok(f, "2024-02-29") == date(2024, 2, 29)
    assert ok(f, " ") is None


@pytest.mark.parametrize(
    "value", ["2023-02-29", "2024-2-1", "29/02/2024", "20240229", "2024-02-29T10:00:00", 20240229]
)
def test_a_date_refuses_impossible_days_and_other_formats(value: Any) -> None:
    assert bad(field(DataType.DATE), value).expected == "date"


def test_a_datetime_keeps_its_offset() -> None:
    value = ok(field(DataType.DATETIME), "2024-03-01T10:30:00+02:00")
    assert value == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
    assert value.utcoffset() == timedelta(hours=2)


def test_a_datetime_without_offset_is_read_in_the_given_time_zone() -> None:
    value = ok(field(DataType.DATETIME), "2024-07-01T10:00:00")
    assert value == datetime(2024, 7, 1, 10, 0, tzinfo=ZoneInfo(ZONE))
    assert value.astimezone(UTC).hour == 8


@pytest.mark.parametrize("value", ["tomorrow", "2024-13-01T00:00:00", 1700000000])
def test_a_datetime_refuses_what_is_not_iso_8601(value: Any) -> None:
    assert bad(field(DataType.DATETIME), value).expected == "datetime"


# --- picklists ----------------------------------------------------------------------------


def test_a_picklist_value_is_matched_ignoring_case_and_stored_as_the_actual_value() -> None:
    f = field(DataType.PICKLIST, picklist=COLOURS)
    assert ok(f, "green") == "Green"
    assert ok(f, " BLUE ") == "Blue"
    assert ok(f, "") is None


def test_a_value_outside_the_picklist_is_refused_with_the_supported_values() -> None:
    problem = bad(field(DataType.PICKLIST, picklist=COLOURS), "Purple")
    assert problem.expected == "picklist"
    assert problem.extra == {"supported_values": ["Red", "Green", "Blue"]}


def test_a_picklist_matches_display_values_too() -> None:
    f = field(DataType.PICKLIST, picklist=(PicklistValue("Hot lead", "HOT", 1),))
    assert ok(f, "hot lead") == "HOT"


def test_a_multiselect_keeps_the_order_given_without_repeats() -> None:
    f = field(DataType.MULTISELECTPICKLIST, picklist=COLOURS)
    assert ok(f, ["blue", "Red", "BLUE"]) == ("Blue", "Red")


def test_a_multiselect_accepts_zoho_semicolon_text() -> None:
    f = field(DataType.MULTISELECTPICKLIST, picklist=COLOURS)
    assert ok(f, "Red;Green;") == ("Red", "Green")


def test_an_empty_checkbox_is_false() -> None:
    assert ok(field(DataType.BOOLEAN), None) is False


def test_an_empty_multiselect_is_an_empty_tuple() -> None:
    f = field(DataType.MULTISELECTPICKLIST, picklist=COLOURS)
    assert ok(f, None) == ()
    assert ok(f, []) == ()


@pytest.mark.parametrize(
    "value", [["Red", "Purple"], [1], {"Red": True}, 7, [f"Red{MULTISELECT_SEPARATOR}Green"]]
)
def test_a_multiselect_refuses_unknown_values_and_non_lists(value: Any) -> None:
    problem = bad(field(DataType.MULTISELECTPICKLIST, picklist=COLOURS), value)
    assert problem.expected == "multiselectpicklist"


# --- references ---------------------------------------------------------------------------


@pytest.mark.parametrize("data_type", [DataType.LOOKUP, DataType.USERLOOKUP, DataType.OWNERLOOKUP])
def test_a_reference_takes_an_object_a_number_or_a_numeric_string(data_type: DataType) -> None:
    f = field(data_type)
    big = 3652397000000123456
    assert ok(f, {"id": str(big)}) == big
    assert ok(f, {"id": big, "name": "ignored"}) == big
    assert ok(f, big) == big
    assert ok(f, f" {big} ") == big


@pytest.mark.parametrize("value", [None, {"id": None}, {"id": ""}, "", {}])
def test_an_empty_reference_is_none(value: Any) -> None:
    assert ok(field(DataType.LOOKUP), value) is None


@pytest.mark.parametrize(
    "value", [0, -5, 2**63, "abc", "12a", True, {"id": True}, 1.5, [1], {"id": {"id": 1}}]
)
def test_a_reference_refuses_what_is_not_a_positive_64_bit_id(value: Any) -> None:
    assert bad(field(DataType.LOOKUP), value).expected == "jsonobject"


def test_reference_id_is_what_the_services_use_for_ids() -> None:
    assert reference_id({"id": "12"}) == 12
    with pytest.raises(InvalidValue):
        reference_id("x")


def test_territories_cannot_be_set_through_record_input() -> None:
    assert bad(field(DataType.TERRITORIES), [{"id": "1"}]).expected == "jsonarray"


# --- clean_item ---------------------------------------------------------------------------

MODULES = {m.api_name: m for m in standard_modules()}
ACCOUNTS, DEALS = MODULES["Accounts"], MODULES["Deals"]


def clean(module: Module, raw: dict[str, Any], *, creating: bool = True) -> Any:
    return clean_item(module, raw, index=3, creating=creating, time_zone=ZONE)


def test_a_clean_item_converts_each_value_under_its_canonical_api_name() -> None:
    item = clean(ACCOUNTS, {"account_name": "Acme", "EMPLOYEES": "12", "Industry": "software"})
    assert item.problems == ()
    assert item.values == {"Account_Name": "Acme", "Employees": 12, "Industry": "Software"}


def test_an_unknown_key_is_an_invalid_data_problem_with_its_json_path() -> None:
    item = clean(ACCOUNTS, {"Account_Name": "Acme", "Colour": "red"})
    assert [(p.code, p.message, dict(p.details)) for p in item.problems] == [
        (
            "INVALID_DATA",
            "invalid field api_name",
            {"api_name": "Colour", "json_path": "$.data[3].Colour"},
        ),
    ]


def test_a_bad_value_names_the_field_the_path_and_the_expected_type() -> None:
    item = clean(ACCOUNTS, {"Account_Name": "Acme", "Employees": "many"})
    assert [dict(p.details) for p in item.problems] == [
        {
            "api_name": "Employees",
            "json_path": "$.data[3].Employees",
            "expected_data_type": "integer",
        },
    ]
    assert "Employees" not in item.values


def test_every_problem_of_an_item_is_reported() -> None:
    item = clean(ACCOUNTS, {"Employees": "x", "Rating": "Great", "Colour": 1})
    assert sorted((p.code, p.details["api_name"]) for p in item.problems) == [
        ("INVALID_DATA", "Colour"),
        ("INVALID_DATA", "Employees"),
        ("INVALID_DATA", "Rating"),
        ("MANDATORY_NOT_FOUND", "Account_Name"),
    ]


def test_a_mandatory_field_missing_or_blank_on_create_is_mandatory_not_found() -> None:
    for raw in ({}, {"Account_Name": "  "}, {"Account_Name": None}):
        item = clean(ACCOUNTS, raw)
        assert [(p.code, dict(p.details)) for p in item.problems] == [
            (
                "MANDATORY_NOT_FOUND",
                {"api_name": "Account_Name", "json_path": "$.data[3].Account_Name"},
            ),
        ]


def test_an_update_checks_only_the_mandatory_fields_it_sends() -> None:
    assert clean(DEALS, {"Amount": 10}, creating=False).problems == ()
    blanked = clean(DEALS, {"Deal_Name": ""}, creating=False)
    assert [p.details["api_name"] for p in blanked.problems] == ["Deal_Name"]


def test_the_collection_name_appears_in_json_paths() -> None:
    item = clean_item(ACCOUNTS, {}, index=0, creating=True, time_zone=ZONE, collection="rows")
    assert item.problems[0].details["json_path"] == "$.rows[0].Account_Name"


def test_ids_zoho_dollar_keys_and_server_maintained_fields_are_ignored() -> None:
    raw = {
        "Account_Name": "Acme",
        "id": "1",
        "$approved": False,
        "Created_By": {"id": "9"},
        "Created_Time": "2020-01-01T00:00:00Z",
        "Territories": [],
        "trigger": [],
    }
    item = clean(ACCOUNTS, raw)
    assert item.problems == () and item.values == {"Account_Name": "Acme"}


def test_a_new_record_has_its_unsent_checkboxes_false() -> None:
    flags = Field("Vip", "Vip", DataType.BOOLEAN, column_for("Vip"), custom=True)
    module = ACCOUNTS.with_field(flags)
    assert clean(module, {"Account_Name": "Acme"}).values == {"Account_Name": "Acme", "Vip": False}
    assert clean(module, {"Account_Name": "Acme", "vip": True}).values["Vip"] is True
    assert clean(module, {"Phone": "1"}, creating=False).values == {"Phone": "1"}


def test_read_only_fields_are_ignored_on_input() -> None:
    item = clean(
        DEALS,
        {
            "Deal_Name": "D",
            "Stage": "Qualification",
            "Closing_Date": "2025-01-01",
            "Expected_Revenue": 5,
        },
    )
    assert "Expected_Revenue" not in item.values


def test_the_owner_is_the_one_system_field_a_client_sets() -> None:
    item = clean(ACCOUNTS, {"Account_Name": "Acme", "Owner": {"id": "77"}})
    assert item.values["Owner"] == 77


# --- derive (Deals) -----------------------------------------------------------------------


def test_a_stage_sets_its_probability_and_the_expected_revenue() -> None:
    derived = derive(DEALS, {}, {"Stage": "Negotiation/Review", "Amount": 1000.0})
    assert derived["Probability"] == 90.0
    assert derived["Expected_Revenue"] == 900.0


@pytest.mark.parametrize(
    ("stage", "probability"),
    [
        ("Qualification", 10),
        ("Needs Analysis", 20),
        ("Value Proposition", 40),
        ("Id. Decision Makers", 60),
        ("Perception Analysis", 70),
        ("Proposal/Price Quote", 75),
        ("Negotiation/Review", 90),
        ("Closed Won", 100),
        ("Closed Lost", 0),
        ("Closed Lost to Competition", 0),
    ],
)
def test_every_stage_has_the_probability_of_core_md(stage: str, probability: int) -> None:
    assert derive(DEALS, {}, {"Stage": stage})["Probability"] == float(probability)


def test_a_probability_sent_with_the_stage_wins_over_the_stage_default() -> None:
    derived = derive(DEALS, {}, {"Stage": "Qualification", "Probability": 55.0, "Amount": 200.0})
    assert derived["Probability"] == 55.0
    assert derived["Expected_Revenue"] == 110.0


def test_changing_the_amount_alone_recomputes_revenue_with_the_stored_probability() -> None:
    before = {"Stage": "Value Proposition", "Probability": 40.0, "Amount": 100.0}
    assert derive(DEALS, before, {"Amount": 250.0}) == {"Amount": 250.0, "Expected_Revenue": 100.0}


def test_expected_revenue_is_empty_without_an_amount() -> None:
    assert derive(DEALS, {}, {"Stage": "Closed Won"})["Expected_Revenue"] is None


def test_expected_revenue_is_rounded_to_cents() -> None:
    derived = derive(DEALS, {}, {"Amount": 10.01, "Probability": 33.0})
    assert derived["Expected_Revenue"] == 3.3


def test_a_change_that_touches_neither_amount_nor_probability_derives_nothing() -> None:
    before = {"Stage": "Closed Won", "Probability": 100.0, "Amount": 5.0}
    assert derive(DEALS, before, {"Deal_Name": "Renamed"}) == {"Deal_Name": "Renamed"}


def test_other_modules_derive_nothing() -> None:
    assert derive(ACCOUNTS, {}, {"Account_Name": "Acme"}) == {"Account_Name": "Acme"}
