"""Fiscal periods: "2027-Q1" (quarterly) or "2027-03" (monthly), named by the fiscal year.

A fiscal year starts in `fiscal_year_start_month`; it is named by the calendar year it starts
in ("start") or ends in ("end"). Months are yyyymm integers, as the aggregates key them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class PeriodError(ValueError):
    pass


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


@dataclass(frozen=True, slots=True)
class Period:
    """A fiscal quarter or a fiscal month: `fiscal_year`, `index` (1–4 or 1–12), `kind`."""

    kind: str  # "quarterly" | "monthly"
    fiscal_year: int
    index: int
    start_month: int = 1
    naming: str = "start"

    @classmethod
    def parse(cls, text: str, kind: str, start_month: int = 1, naming: str = "start") -> Period:
        pattern = QUARTER if kind == "quarterly" else MONTH
        found = pattern.match(text.strip())
        if found is None:
            example = "2027-Q1" if kind == "quarterly" else "2027-03"
            raise PeriodError(f"a {kind} period is written like {example}")
        year, index = int(found.group(1)), int(found.group(2))
        if not 1900 <= year <= 9998:
            raise PeriodError("the year is out of range")
        return cls(kind, year, index, start_month, naming)

    @classmethod
    def containing(
        cls, day: date, kind: str, start_month: int = 1, naming: str = "start"
    ) -> Period:
        offset = (day.month - start_month) % 12  # months since the fiscal year began
        start_year = day.year if day.month >= start_month else day.year - 1
        fiscal_year = start_year if naming == "start" or start_month == 1 else start_year + 1
        index = offset // 3 + 1 if kind == "quarterly" else offset + 1
        return cls(kind, fiscal_year, index, start_month, naming)

    @property
    def key(self) -> str:
        if self.kind == "quarterly":
            return f"{self.fiscal_year}-Q{self.index}"
        return f"{self.fiscal_year}-{self.index:02d}"

    @property
    def _start_year(self) -> int:
        """The calendar year the fiscal year starts in."""
        if self.naming == "end" and self.start_month != 1:
            return self.fiscal_year - 1
        return self.fiscal_year

    def months(self) -> tuple[int, int]:
        """First and last month (yyyymm) of the period."""
        first_offset = (self.index - 1) * 3 if self.kind == "quarterly" else self.index - 1
        length = 3 if self.kind == "quarterly" else 1
        y1, m1 = _shift(self._start_year, self.start_month, first_offset)
        y2, m2 = _shift(y1, m1, length - 1)
        return y1 * 100 + m1, y2 * 100 + m2

    def label(self) -> str:
        first, last = self.months()
        names = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
        a = f"{names[first % 100 - 1]} {first // 100}"
        b = f"{names[last % 100 - 1]} {last // 100}"
        prefix = f"FY{self.fiscal_year} " + (
            f"Q{self.index}" if self.kind == "quarterly" else f"M{self.index}"
        )
        return f"{prefix} ({a}" + ("" if first == last else f" – {b}") + ")"

    def year_periods(self) -> list[Period]:
        """Every period of the same fiscal year, in order."""
        count = 4 if self.kind == "quarterly" else 12
        return [
            Period(self.kind, self.fiscal_year, i, self.start_month, self.naming)
            for i in range(1, count + 1)
        ]

    def next(self) -> Period:
        count = 4 if self.kind == "quarterly" else 12
        if self.index < count:
            return Period(
                self.kind, self.fiscal_year, self.index + 1, self.start_month, self.naming
            )
        return Period(self.kind, self.fiscal_year + 1, 1, self.start_month, self.naming)
