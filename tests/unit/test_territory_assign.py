"""Assignment of one record (TER-11 … TER-18) and its explanation (TER-27), on a pure tree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from secteur.domain.catalog import standard_modules
from secteur.domain.criteria import EvalContext, parse_criteria
from secteur.domain.fields import Module
from secteur.domain.territories import (
    Territory,
    Tree,
    assign_contact,
    assign_deal,
    compile_rules,
    explain_assignment,
)

CTX = EvalContext(datetime(2026, 11, 28, 12, tzinfo=UTC), None, "Europe/Paris")
MODULES = {m.api_name: m for m in standard_modules()}
ACCOUNTS: Module = MODULES["Accounts"]


def rule(field: str, comparator: str, value: Any) -> Any:
    return parse_criteria({"field": {"api_name": field}, "comparator": comparator, "value": value})


def accounts(criteria: Any) -> dict[str, Any]:
    return {"Accounts": criteria}


ROOT, EUROPE, FRANCE, PARIS, GERMANY, BIG, GROUP, GROUPED = 1, 2, 3, 4, 5, 6, 7, 8
TREE = Tree.of(
    [
        Territory(ROOT, "Org", None),
        Territory(
            EUROPE,
            "Europe",
            ROOT,
            1,
            rules=accounts(rule("Billing_Country", "in", ["France", "Germany"])),
        ),
        Territory(
            FRANCE, "France", EUROPE, 1, rules=accounts(rule("Billing_Country", "equal", "France"))
        ),
        Territory(
            PARIS, "Paris", FRANCE, 1, rules=accounts(rule("Billing_City", "equal", "Paris"))
        ),
        Territory(
            GERMANY,
            "Germany",
            EUROPE,
            2,
            rules=accounts(rule("Billing_Country", "equal", "Germany")),
        ),
        Territory(
            BIG, "Big", ROOT, 2, rules=accounts(rule("Annual_Revenue", "greater_than", 1_000_000))
        ),
        Territory(GROUP, "Structural group", ROOT, 3),
        Territory(GROUPED, "Banks", GROUP, 1, rules=accounts(rule("Industry", "equal", "Banking"))),
    ]
)
RULES = compile_rules(TREE, ACCOUNTS, CTX)


def assigned(record: dict[str, Any], cap: int = 10) -> tuple[int, ...]:
    result = RULES.assign(record, cap).territory_ids
    # The generated walker and the interpreter always agree.
    assert list(result) == RULES.descend(record, (TREE.root_id,))[:cap]
    return result


def test_TER_11_a_record_is_tested_against_children_only_if_it_matched_the_parent() -> None:
    # Paris's own rule matches, but the record is not in Europe: the subtree is skipped.
    assert assigned({"Billing_Country": "Spain", "Billing_City": "Paris"}) == ()


def test_TER_12_only_the_deepest_matching_territory_of_a_branch_is_assigned() -> None:
    assert assigned({"Billing_Country": "France", "Billing_City": "Paris"}) == (PARIS,)
    assert assigned({"Billing_Country": "France", "Billing_City": "Lyon"}) == (FRANCE,)


def test_TER_12_a_parent_is_assigned_when_none_of_its_children_match() -> None:
    # Italy is in Europe, and in none of Europe's sub-territories.
    tree = Tree.of(
        [
            Territory(1, "Org", None),
            Territory(
                2, "Europe", 1, rules=accounts(rule("Billing_Country", "in", ["France", "Italy"]))
            ),
            Territory(3, "France", 2, rules=accounts(rule("Billing_Country", "equal", "France"))),
        ]
    )
    rules = compile_rules(tree, ACCOUNTS, CTX)
    assert rules.assign({"Billing_Country": "Italy"}, 10).territory_ids == (2,)


def test_TER_13_every_branch_gives_its_deepest_match_in_pre_order() -> None:
    record = {
        "Billing_Country": "germany",
        "Annual_Revenue": 5_000_000.0,
        "Industry": "Banking",
    }
    assert assigned(record) == (GERMANY, BIG, GROUPED)


def test_TER_13_beyond_the_cap_the_first_in_pre_order_are_kept_and_the_rest_reported() -> None:
    record = {"Billing_Country": "Germany", "Annual_Revenue": 5_000_000.0, "Industry": "Banking"}
    result = RULES.assign(record, 2)
    assert result.territory_ids == (GERMANY, BIG)
    assert result.dropped == (GROUPED,)


def test_TER_14_a_record_matching_no_territory_gets_none() -> None:
    assert assigned({"Billing_Country": "Japan", "Annual_Revenue": 10.0}) == ()
    assert assigned({}) == ()


def test_TER_15_a_territory_without_a_rule_passes_records_through_and_is_never_assigned() -> None:
    assert assigned({"Industry": "Banking"}) == (GROUPED,)
    assert GROUP not in assigned({"Industry": "Chemicals"})
    assert ROOT not in assigned({"Industry": "Chemicals"})


def test_TER_10_the_compiled_rules_know_the_fields_they_read() -> None:
    assert RULES.fields == {"Billing_Country", "Billing_City", "Annual_Revenue", "Industry"}


def test_TER_17_a_contact_inherits_its_accounts_territories_filtered_by_contact_rules() -> None:
    contacts = MODULES["Contacts"]
    tree = Tree.of(
        [
            Territory(1, "Org", None),
            Territory(2, "A", 1, 1),
            Territory(3, "B", 1, 2, rules={"Contacts": rule("Mailing_Country", "equal", "France")}),
        ]
    )
    rules = compile_rules(tree, contacts, CTX)
    assert assign_contact(rules, {"Mailing_Country": "France"}, [3, 2], 10).territory_ids == (2, 3)
    assert assign_contact(rules, {"Mailing_Country": "Spain"}, [3, 2], 10).territory_ids == (2,)
    assert assign_contact(rules, {}, [], 10).territory_ids == ()
    capped = assign_contact(rules, {"Mailing_Country": "France"}, [2, 3], 1)
    assert capped.territory_ids == (2,) and capped.dropped == (3,)


def test_TER_18_without_the_deal_rule_a_deal_gets_the_first_candidate_in_pre_order() -> None:
    deals = MODULES["Deals"]
    rules = compile_rules(TREE, deals, CTX)
    assert assign_deal(rules, {}, [BIG, FRANCE], deal_rule=False).territory_ids == (FRANCE,)
    assert assign_deal(rules, {}, [], deal_rule=False).territory_ids == ()


def test_TER_18_with_the_deal_rule_the_deepest_match_of_the_first_candidate_that_yields_one() -> (
    None
):
    deals = MODULES["Deals"]
    tree = Tree.of(
        [
            Territory(1, "Org", None),
            Territory(2, "Europe", 1, 1, rules={"Deals": rule("Amount", "greater_than", 100.0)}),
            Territory(
                3, "Big deals", 2, 1, rules={"Deals": rule("Amount", "greater_than", 10_000.0)}
            ),
            Territory(4, "Americas", 1, 2),
            Territory(5, "Anything", 4, 1, rules={"Deals": rule("Amount", "greater_than", 0.0)}),
        ]
    )
    rules = compile_rules(tree, deals, CTX)
    assert assign_deal(rules, {"Amount": 50_000.0}, [4, 2], deal_rule=True).territory_ids == (3,)
    assert assign_deal(rules, {"Amount": 500.0}, [2, 4], deal_rule=True).territory_ids == (2,)
    # Europe refuses a small deal: the next candidate (a pass-through) yields its child.
    assert assign_deal(rules, {"Amount": 50.0}, [2, 4], deal_rule=True).territory_ids == (5,)
    assert assign_deal(rules, {"Amount": 50.0}, [2], deal_rule=True).territory_ids == ()


def test_TER_27_the_explanation_shows_visited_rules_values_skipped_subtrees_and_caps() -> None:
    record = {"Billing_Country": "Spain", "Annual_Revenue": 5_000_000.0, "Industry": "Banking"}
    trace, kept, dropped = explain_assignment(TREE, ACCOUNTS, record, CTX, cap=1)
    by_id = {entry.territory_id: entry for entry in trace}
    assert kept == [BIG] and dropped == [GROUPED]
    europe = by_id[EUROPE].to_json()
    assert europe["matched"] is False
    assert europe["conditions"] == [
        {
            "field": "Billing_Country",
            "comparator": "in",
            "value": ["France", "Germany"],
            "record_value": "Spain",
            "result": False,
        }
    ]
    assert by_id[FRANCE].skipped == "parent_not_matched"
    assert PARIS not in by_id  # below a skipped subtree's top: not visited at all
    assert by_id[BIG].assigned is True
    assert by_id[GROUPED].skipped == "cap"
    assert by_id[GROUP].rule is None and by_id[GROUP].matched is None


@pytest.mark.parametrize("depth", [5, 120])
def test_TER_11_deep_trees_assign_alike_with_generated_code_or_the_interpreter(depth: int) -> None:
    nodes = [Territory(1, "Org", None)]
    for level in range(depth):
        nodes.append(
            Territory(
                level + 2,
                f"L{level}",
                level + 1,
                rules=accounts(rule("Employees", "greater_than", level)),
            )
        )
    rules = compile_rules(Tree.of(nodes), ACCOUNTS, CTX)
    for employees in (0, 3, depth + 5):
        expected = [min(employees, depth) + 1] if employees > 0 else []
        assert list(rules.assign({"Employees": employees}, 10).territory_ids) == expected
