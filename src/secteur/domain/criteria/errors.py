"""Problems found in criteria, with Zoho's error codes and details."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

ProblemCode: TypeAlias = Literal[
    "INVALID_DATA", "NOT_SUPPORTED", "DEPENDENT_MISMATCH", "DEPENDENT_FIELD_MISSING"
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a criteria tree, located by `details["json_path"]`."""

    code: ProblemCode
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": dict(self.details)}


class CriteriaError(ValueError):
    """Criteria that cannot be parsed or do not fit their module; `problems` lists every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("a CriteriaError needs at least one problem")
        super().__init__("; ".join(f"{p.code}: {p.message}" for p in self.problems))

    @property
    def first(self) -> Problem:
        return self.problems[0]
