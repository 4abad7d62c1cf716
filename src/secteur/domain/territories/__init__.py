"""Territories: the tree, its rules, and the assignment engine (territories.md).

    tree = Tree.of(territories)                          # the whole hierarchy, validated
    rules = compile_rules(tree, module, ctx)             # once per configuration version
    rules.assign(record)                                 # → Assignment (TER-10 … TER-16)
    explain_assignment(tree, module, record, ctx, cap)   # → the TER-27 trace

`bulk.assign_columns` gives the same answers for many records at once, column-wise.
"""

from secteur.domain.territories.assign import (
    Assignment,
    CompiledRules,
    assign_contact,
    assign_deal,
    compile_rules,
)
from secteur.domain.territories.explain import TraceEntry, explain_assignment
from secteur.domain.territories.model import (
    RULE_KEYS,
    Limits,
    Permission,
    Territory,
    TerritorySettings,
    TreeError,
)
from secteur.domain.territories.tree import Tree

__all__ = [
    "RULE_KEYS",
    "Assignment",
    "CompiledRules",
    "Limits",
    "Permission",
    "Territory",
    "TerritorySettings",
    "TraceEntry",
    "Tree",
    "TreeError",
    "assign_contact",
    "assign_deal",
    "compile_rules",
    "explain_assignment",
]
