"""criteria.md, "Explain": for each condition the value seen and the result, as JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from secteur.domain.catalog import standard_modules
from secteur.domain.criteria import (
    CriteriaError,
    EvalContext,
    compile_predicate,
    explain,
    parse_criteria,
)

ACCOUNTS = next(m for m in standard_modules() if m.api_name == "Accounts")
CTX = EvalContext(datetime(2024, 5, 15, 9, tzinfo=UTC), 7, "Europe/Paris")


def cond(field: str, comparator: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"field": {"api_name": field}, "comparator": comparator, "value": value, **extra}


RULE = {
    "group_operator": "and",
    "group": [
        cond("Billing_Country", "equal", "France"),
        {
            "group_operator": "OR",
            "group": [
                cond("Annual_Revenue", "greater_than", "1000000"),
                cond("Owner", "equal", "${CURRENTUSER}"),
            ],
        },
    ],
}


def test_each_condition_reports_the_value_seen_and_its_result() -> None:
    record = {"Billing_Country": "FRANCE", "Annual_Revenue": 50.0, "Owner": 7}
    explanation = explain(parse_criteria(RULE), ACCOUNTS, record, CTX)
    assert explanation.to_json() == {
        "matched": True,
        "criteria": {
            "json_path": "$",
            "group_operator": "AND",
            "result": True,
            "group": [
                {
                    "json_path": "$.group[0]",
                    "field": {"api_name": "Billing_Country"},
                    "comparator": "equal",
                    "value": "France",
                    "seen": "FRANCE",
                    "result": True,
                },
                {
                    "json_path": "$.group[1]",
                    "group_operator": "OR",
                    "result": True,
                    "group": [
                        {
                            "json_path": "$.group[1].group[0]",
                            "field": {"api_name": "Annual_Revenue"},
                            "comparator": "greater_than",
                            "value": 1000000.0,
                            "seen": 50.0,
                            "result": False,
                        },
                        {
                            "json_path": "$.group[1].group[1]",
                            "field": {"api_name": "Owner"},
                            "comparator": "equal",
                            "value": "${CURRENTUSER}",
                            "type": "pre_defined",
                            "seen": 7,
                            "result": True,
                            "resolved": "7",
                        },
                    ],
                },
            ],
        },
    }


def test_every_condition_is_evaluated_even_after_the_answer_is_known() -> None:
    explanation = explain(parse_criteria(RULE), ACCOUNTS, {"Billing_Country": "Spain"}, CTX)
    assert explanation.matched is False
    outcome = explanation.to_json()["criteria"]
    assert [c["result"] for c in outcome["group"][1]["group"]] == [False, False]
    assert outcome["group"][1]["group"][0]["seen"] is None


def test_predefined_dates_show_the_days_they_stood_for() -> None:
    raw = cond("Created_Time", "between", ["${LAST_N_DAYS:7}", "${TODAY}"])
    record = {"Created_Time": datetime(2024, 5, 10, tzinfo=UTC)}
    trace = explain(parse_criteria(raw), ACCOUNTS, record, CTX).to_json()["criteria"]
    assert trace["seen"] == "2024-05-10T00:00:00+00:00"
    assert trace["resolved"] == [
        {"from": "2024-05-08", "to": "2024-05-15", "time_zone": "Europe/Paris"},
        {"from": "2024-05-15", "to": "2024-05-15", "time_zone": "Europe/Paris"},
    ]


def test_a_field_comparison_shows_both_values() -> None:
    raw = cond("Billing_City", "equal", {"api_name": "Billing_State"}, type="field")
    trace = explain(
        parse_criteria(raw), ACCOUNTS, {"Billing_City": "Paris", "Billing_State": "PARIS"}, CTX
    ).to_json()["criteria"]
    assert (trace["seen"], trace["other_seen"], trace["result"]) == ("Paris", "PARIS", True)


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"Billing_Country": "france", "Annual_Revenue": 2e6},
        {"Owner": 7, "Billing_Country": "F"},
    ],
)
def test_the_explanation_agrees_with_the_predicate_and_is_json(record: dict[str, Any]) -> None:
    tree = parse_criteria(RULE)
    explanation = explain(tree, ACCOUNTS, record, CTX)
    assert explanation.matched == compile_predicate(tree, ACCOUNTS, CTX)(record)
    json.dumps(explanation.to_json())


def test_a_date_on_a_datetime_field_is_shown_as_the_date_given() -> None:
    raw = cond("Created_Time", "equal", "2024-05-15")
    record = {"Created_Time": datetime(2024, 5, 15, 10, tzinfo=UTC)}
    trace = explain(parse_criteria(raw), ACCOUNTS, record, CTX).to_json()["criteria"]
    assert trace["value"] == date(2024, 5, 15).isoformat()
    assert trace["result"] is True


def test_explaining_invalid_criteria_raises_the_validation_error() -> None:
    with pytest.raises(CriteriaError):
        explain(parse_criteria(cond("Nope", "equal", 1)), ACCOUNTS, {}, CTX)
