"""Condition values → the canonical type of their field (what a record holds for that field).

Each function returns the canonical value, or a message saying what was expected.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal

from secteur.domain.fields import DataType, Field, Kind, PicklistValue
from secteur.domain.text import MULTISELECT_SEPARATOR, fold

CanonicalScalar = str | int | float | bool | date | datetime

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Dates outside these years are refused: their day bounds could not be stored in UTC.
MIN_YEAR, MAX_YEAR = 1000, 9998

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^\d{1,19}$")


class UnfitValueError(Exception):
    """A value that does not fit its field; the message says why."""


def coerce(f: Field, raw: CanonicalScalar, *, in_picklist: bool) -> CanonicalScalar:
    """The canonical value of `raw` for field `f`, or UnfitValueError.

    `in_picklist`: whether a picklist value must be one of the field's values (equality and
    membership tests) rather than a fragment (starts_with, contains…).
    """
    match f.kind:
        case Kind.TEXT:
            return _text(raw)
        case Kind.PICKLIST | Kind.MULTISELECT:
            text = _text(raw)
            if f.kind is Kind.MULTISELECT and MULTISELECT_SEPARATOR in text:
                raise UnfitValueError("a multi-select value cannot contain the separator character")
            return _picklist(f, text) if in_picklist else text
        case Kind.NUMBER:
            return _number(f, raw)
        case Kind.BOOLEAN:
            return _boolean(raw)
        case Kind.DATE:
            return _date(raw)
        case Kind.DATETIME:
            return _datetime(raw)
        case Kind.REFERENCE:
            return _id(raw)
        case Kind.TERRITORIES:
            raise UnfitValueError("territories cannot be filtered here")


def _text(raw: CanonicalScalar) -> str:
    if isinstance(raw, str):
        if not raw:
            raise UnfitValueError(
                "a value cannot be empty; use ${EMPTY} to test for an empty field"
            )
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    raise UnfitValueError("expected text")


def picklist_entry(f: Field, value: str) -> PicklistValue | None:
    """The entry of `f`'s picklist a value names, compared as every text comparison is (fold)."""
    wanted = fold(value)
    for entry in f.picklist:
        if fold(entry.actual_value) == wanted or fold(entry.display_value) == wanted:
            return entry
    return None


def _picklist(f: Field, value: str) -> str:
    if not f.picklist:
        return value
    entry = picklist_entry(f, value)
    if entry is None:
        raise UnfitValueError(f"{value!r} is not a value of the picklist {f.api_name}")
    return entry.actual_value


def _number(f: Field, raw: CanonicalScalar) -> int | float:
    integral = f.data_type in (DataType.INTEGER, DataType.BIGINT)
    expected = "expected an integer" if integral else "expected a number"
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise UnfitValueError(expected)
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) > 64 or not _NUMBER.match(text):
            raise UnfitValueError(expected)
        number: int | float | Decimal = int(text) if text.lstrip("+-").isdigit() else Decimal(text)
    else:
        number = raw
    if integral:
        if isinstance(number, float) and not math.isfinite(number):
            raise UnfitValueError(expected)
        if isinstance(number, Decimal) and number.adjusted() > 18:
            raise UnfitValueError("the integer is out of range")
        if number != int(number):
            raise UnfitValueError(expected)
        value = int(number)
        if not INT64_MIN <= value <= INT64_MAX:
            raise UnfitValueError("the integer is out of range")
        return value
    try:
        result = float(number)
    except OverflowError:
        raise UnfitValueError("the number is out of range") from None
    if not math.isfinite(result):
        raise UnfitValueError("the number is out of range")
    return result


def _boolean(raw: CanonicalScalar) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise UnfitValueError("expected true or false")


def _date(raw: CanonicalScalar) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return _in_years(raw)
    if isinstance(raw, str) and _DATE.match(raw.strip()):
        try:
            return _in_years(date.fromisoformat(raw.strip()))
        except ValueError:
            pass
    raise UnfitValueError("expected a date (YYYY-MM-DD)")


def _datetime(raw: CanonicalScalar) -> datetime | date:
    """An instant in UTC, or a date (the whole day, in the evaluation's time zone)."""
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, date) or (isinstance(raw, str) and _DATE.match(raw.strip())):
        return _date(raw)
    elif isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise UnfitValueError("expected a date-time (ISO-8601 with a UTC offset)") from None
    else:
        raise UnfitValueError("expected a date-time (ISO-8601 with a UTC offset)")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise UnfitValueError("a date-time needs a UTC offset (e.g. 2024-05-01T09:00:00+02:00)")
    _in_years(moment.date())
    return moment.astimezone(UTC)


def _in_years(day: date) -> date:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise UnfitValueError(f"dates must fall in the years {MIN_YEAR}–{MAX_YEAR}")
    return day


def _id(raw: CanonicalScalar) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and _ID.match(raw.strip()):
        value = int(raw.strip())
    else:
        raise UnfitValueError("expected a record id")
    if not 0 < value <= INT64_MAX:
        raise UnfitValueError("expected a record id")
    return value
