"""The records-search form of criteria: `((Billing_Country:equals:France)and(Employees:in:1,2))`.

It parses to the same tree as the JSON form with string values (validation then types them).
Inside a value, `\\(`, `\\)`, `\\,` and `\\\\` stand for the character itself; an unescaped
comma separates the values of a list (`in`, `between`, or `equal` with several values).
"""

from __future__ import annotations

from secteur.domain.criteria.errors import CriteriaError, Problem
from secteur.domain.criteria.model import Condition, Criteria, Group, Operator, Scalar, Value
from secteur.domain.criteria.parse import predefined, value_type_of

# The search API's spelling of comparators that the JSON form spells differently.
COMPARATOR_ALIASES = {"equals": "equal"}
ESCAPABLE = "(),\\"


def parse_search_string(text: str) -> Criteria:
    """The criteria tree of a search string; a syntax error names its position in `text`."""
    parser = _Parser(text)
    tree = parser.expression()
    parser.skip_spaces()
    if parser.at < len(text):
        raise parser.error("unexpected text after the criteria")
    return tree


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def error(self, message: str, at: int | None = None) -> CriteriaError:
        position = self.at if at is None else at
        return CriteriaError(
            [
                Problem(
                    "INVALID_DATA",
                    f"{message} (at position {position})",
                    {"param_name": "criteria", "position": position},
                )
            ]
        )

    def skip_spaces(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def expression(self) -> Criteria:
        self.skip_spaces()
        if self.peek() != "(":
            raise self.error("expected '('")
        self.at += 1
        self.skip_spaces()
        if self.peek() != "(":
            return self.condition()
        children = [self.expression()]
        operator: Operator | None = None
        while True:
            self.skip_spaces()
            if self.peek() == ")":
                self.at += 1
                break
            start = self.at
            word = self.word().upper()
            if word not in ("AND", "OR"):
                raise self.error("expected 'and', 'or' or ')'", start)
            if operator is not None and word != operator:
                raise self.error("mixing 'and' and 'or' needs parentheses", start)
            operator = "AND" if word == "AND" else "OR"
            children.append(self.expression())
        if operator is None:
            return children[0]
        return Group(operator, tuple(children))

    def word(self) -> str:
        start = self.at
        while self.at < len(self.text) and self.text[self.at].isalpha():
            self.at += 1
        return self.text[start : self.at]

    def condition(self) -> Condition:
        start = self.at
        chars: list[tuple[str, bool]] = []  # (character, escaped)
        while True:
            char = self.peek()
            if char == "":
                raise self.error("a condition is not closed by ')'", start - 1)
            if (
                char == "\\"
                and self.at + 1 < len(self.text)
                and self.text[self.at + 1] in ESCAPABLE
            ):
                chars.append((self.text[self.at + 1], True))
                self.at += 2
                continue
            if char == "(":
                raise self.error("write '(' in a value as '\\('")
            self.at += 1
            if char == ")":
                break
            chars.append((char, False))
        colons = [i for i, (char, escaped) in enumerate(chars) if char == ":" and not escaped]
        if len(colons) < 2:
            raise self.error("a condition reads (field:comparator:value)", start)
        field = "".join(c for c, _ in chars[: colons[0]]).strip()
        comparator = "".join(c for c, _ in chars[colons[0] + 1 : colons[1]]).strip().lower()
        if not field or not comparator:
            raise self.error("a condition reads (field:comparator:value)", start)
        value = self.value(chars[colons[1] + 1 :], start)
        comparator = COMPARATOR_ALIASES.get(comparator, comparator)
        return Condition(field, comparator, value, value_type_of(value))

    def value(self, chars: list[tuple[str, bool]], start: int) -> Value:
        parts: list[list[str]] = [[]]
        for char, escaped in chars:
            if char == "," and not escaped:
                parts.append([])
            else:
                parts[-1].append(char)
        items: list[Scalar] = []
        for part in parts:
            text = "".join(part)
            found = predefined(text)
            if isinstance(found, Problem):
                raise self.error(found.message, start)
            items.append(text if found is None else found)
        return items[0] if len(items) == 1 else tuple(items)
