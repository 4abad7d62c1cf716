"""A territory tree's rules for one module as one generated Python function.

Generated source is built only from values the code controls: field api names and literals go
through `repr`, and every other constant (sets, closures for field-to-field comparisons) is
passed in the function's globals — nothing from a rule is ever pasted in as code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from secteur.domain.criteria.evaluate import FLOAT_TYPES, compile_node
from secteur.domain.criteria.plan import (
    All,
    AnyOf,
    BoolIs,
    Compare,
    Const,
    FieldCompare,
    IsEmpty,
    MultiHas,
    Node,
    Not,
    OneOf,
    TextHas,
    TextIn,
)
from secteur.domain.fields import Field
from secteur.domain.territories.tree import Tree
from secteur.domain.text import MULTISELECT_SEPARATOR, fold, fold_multiselect

Walker = Callable[[Mapping[str, Any]], list[int]]


class _Source:
    def __init__(self) -> None:
        self.constants: dict[str, Any] = {}
        self.loads: dict[tuple[str, str], str] = {}  # (api name, form) → local variable
        self.prelude: list[str] = []

    def constant(self, value: Any) -> str:
        """`value` as source: a literal when it can be one (Python keeps literals, and sets
        of literals after `in`, as the code's constants: no global lookup per test), else a
        global of the generated module."""
        literal = _literal(value)
        if literal is not None:
            return literal
        name = f"c{len(self.constants)}"
        self.constants[name] = value
        return name

    def members(self, values: Any) -> str:
        """A set to test membership in: a set display of literals (folded into a frozenset
        constant by the compiler) when every value is a literal."""
        literals = [_literal(v) for v in values]
        if values and all(item is not None for item in literals):
            return "{" + ", ".join(str(item) for item in literals) + "}"
        return self.constant(frozenset(values))

    def local(self, f: Field, form: str) -> str:
        """A local holding the field's value in `form`: raw, folded text, multi, float."""
        key = (f.api_name, form)
        if key in self.loads:
            return self.loads[key]
        raw_key = (f.api_name, "raw")
        if raw_key not in self.loads:
            raw = f"v{len(self.loads)}"
            self.loads[raw_key] = raw
            self.prelude.append(f"{raw} = r.get({f.api_name!r})")
        raw = self.loads[raw_key]
        if form == "raw":
            return raw
        name = f"{form[0]}{len(self.loads)}"
        self.loads[key] = name
        if form == "text":
            self.prelude.append(f"{name} = fold({raw}) if isinstance({raw}, str) else None")
        elif form == "multi":
            self.prelude.append(f"{name} = fold_multiselect({raw}) if {raw} else None")
        else:  # number: None when empty, float for the types the database stores as floats
            cast = "float({})" if f.data_type in FLOAT_TYPES else "{}"
            self.prelude.append(
                f"{name} = None if {raw} is None or {raw} == '' else " + cast.format(raw)
            )
        return name

    def expression(self, node: Node) -> str:
        match node:
            case Const(value=value):
                return repr(bool(value))
            case Not(node=inner):
                return f"(not {self.expression(inner)})"
            case All(nodes=nodes):
                return "(" + " and ".join(self.expression(n) for n in nodes) + ")"
            case AnyOf(nodes=nodes):
                return "(" + " or ".join(self.expression(n) for n in nodes) + ")"
            case IsEmpty(field=f):
                v = self.local(f, "raw")
                return f"({v} is None or {v} == '' or {v} == ())"
            case TextIn(field=f, values=values):
                return f"({self.local(f, 'text')} in {self.members(values)})"
            case TextHas(field=f, mode=mode, value=needle):
                s = self.local(f, "text")
                c = self.constant(needle)
                test = {"starts": f"{s}.startswith({c})", "ends": f"{s}.endswith({c})"}.get(
                    mode, f"{c} in {s}"
                )
                return f"({s} is not None and {test})"
            case MultiHas(field=f, item=item):
                m = self.local(f, "multi")
                c = self.constant(MULTISELECT_SEPARATOR + item + MULTISELECT_SEPARATOR)
                return f"({m} is not None and {c} in {m})"
            case Compare(field=f, op=op, value=literal):
                n = self.local(f, "number")
                op_text = "==" if op == "=" else op
                return f"({n} is not None and {n} {op_text} {self.constant(literal)})"
            case OneOf(field=f, values=values):
                n = self.local(f, "number")
                return f"({n} is not None and {n} in {self.members(values)})"
            case BoolIs(field=f, value=wanted):
                return f"(bool({self.local(f, 'raw')}) is {wanted!r})"
            case FieldCompare():
                return f"{self.constant(compile_node(node))}(r)"
        raise TypeError(f"cannot generate code for {node!r}")


def _literal(value: Any) -> str | None:
    """Source for a str, int or finite float; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int):
        return repr(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return None


def generate_walker(tree: Tree, plans: Mapping[int, Node]) -> Walker:
    """`walk(record)` → the deepest matching territories in pre-order, uncapped."""
    source = _Source()
    body: list[str] = []

    def emit(tid: int, indent: int) -> None:
        pad = "    " * indent
        plan = plans.get(tid)
        children = tree.children[tid]
        if plan is None:  # pass-through (TER-15): descend, never assigned
            for child in children:
                emit(child, indent)
            return
        body.append(f"{pad}if {source.expression(plan)}:")
        inner = pad + "    "
        if not children:
            body.append(f"{inner}out.append({tid})")
            return
        # One mark per nesting depth, not per territory: a local per territory would make
        # the frame of a big tree's walker larger than CPython's frame chunk, and every call
        # would then allocate memory.
        mark = f"k{indent}"
        body.append(f"{inner}{mark} = len(out)")
        for child in children:
            emit(child, indent + 1)
        body.append(f"{inner}if len(out) == {mark}:")
        body.append(f"{inner}    out.append({tid})")

    emit(tree.root_id, 1)
    lines = ["def walk(r):", *("    " + p for p in source.prelude), "    out = []", *body]
    lines.append("    return out")
    namespace: dict[str, Any] = {
        "fold": fold,
        "fold_multiselect": fold_multiselect,
        "isinstance": isinstance,
        "str": str,
        "bool": bool,
        "float": float,
        "len": len,
        **source.constants,
    }
    exec(compile("\n".join(lines), "<territory rules>", "exec"), namespace)
    walker: Walker = namespace["walk"]
    return walker
