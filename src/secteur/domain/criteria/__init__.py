"""Criteria: the one condition language of Secteur (Zoho CRM criteria JSON), see criteria.md.

    tree = parse_criteria(json_obj)              # or parse_search_string("((A:equals:x)…)")
    bound = validate_criteria(tree, module)      # CriteriaError with Zoho codes and paths
    matches = compile_predicate(bound, module, EvalContext(now, user_id, "Europe/Paris"))
    matches(record)                              # record: api_name → canonical value

The SQL evaluator (`secteur.adapters.db.criteria_sql.compile_sql`) gives the same answers.
"""

from secteur.domain.criteria.context import EvalContext
from secteur.domain.criteria.errors import CriteriaError, Problem
from secteur.domain.criteria.evaluate import Predicate, compile_predicate
from secteur.domain.criteria.explain import ConditionTrace, Explanation, GroupTrace, explain
from secteur.domain.criteria.model import (
    Condition,
    Criteria,
    FieldRef,
    Group,
    Predefined,
    Value,
    to_json,
)
from secteur.domain.criteria.parse import parse_criteria
from secteur.domain.criteria.search_string import parse_search_string
from secteur.domain.criteria.validate import validate_criteria

__all__ = [
    "Condition",
    "ConditionTrace",
    "Criteria",
    "CriteriaError",
    "EvalContext",
    "Explanation",
    "FieldRef",
    "Group",
    "GroupTrace",
    "Predefined",
    "Predicate",
    "Problem",
    "Value",
    "compile_predicate",
    "explain",
    "parse_criteria",
    "parse_search_string",
    "to_json",
    "validate_criteria",
]
