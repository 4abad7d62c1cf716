"""What evaluation depends on besides the record: the clock, the current user, the time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from secteur.domain.criteria.model import (
    LAST_N_DAYS,
    NEXT_N_DAYS,
    THISMONTH,
    THISQUARTER,
    TODAY,
    Predefined,
)


@dataclass(frozen=True, slots=True)
class EvalContext:
    """`now` (aware) and `time_zone` (IANA name) place "today"; `user_id` is ${CURRENTUSER}."""

    now: datetime
    user_id: int | None
    time_zone: str

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("EvalContext.now must be an aware datetime")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.time_zone!r}") from exc

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def start_of(self, day: date) -> datetime:
        """The first instant of `day` in the time zone, in UTC."""
        return datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC)


def day_range(value: Predefined, today: date) -> tuple[date, date]:
    """The first and last day (inclusive) a predefined date value stands for."""
    if value.name == TODAY:
        return today, today
    if value.name == LAST_N_DAYS:
        return _shift(today, -(value.days or 0)), today
    if value.name == NEXT_N_DAYS:
        return today, _shift(today, value.days or 0)
    if value.name == THISMONTH:
        return today.replace(day=1), _month_end(today.year, today.month)
    if value.name == THISQUARTER:
        first_month = 3 * ((today.month - 1) // 3) + 1
        return date(today.year, first_month, 1), _month_end(today.year, first_month + 2)
    raise ValueError(f"{value} is not a date value")


def _shift(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)
