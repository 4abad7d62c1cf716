"""Record input: from wire values to canonical values, with Zoho's per-item errors.

Used alike by the API, CSV import and the web forms, so every entry point rejects the same
input with the same message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from secteur.domain.fields import EMPTY_BY_KIND, DataType, Field, Kind, Module
from secteur.domain.text import MULTISELECT_SEPARATOR

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^[0-9+()\-.\s/xX#*]{1,30}$")
# Keys a client may send that are not fields: the id of the record being updated, and
# Zoho's `$`-prefixed keys, which are server-maintained and ignored on input.
IGNORED_KEYS = frozenset({"id", "trigger", "duplicate_check_fields", "Tag", "Territories"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one item, in Zoho's terms."""

    code: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)


class InvalidValue(ValueError):
    def __init__(self, expected: str, message: str = "invalid data", **extra: Any) -> None:
        super().__init__(message)
        self.expected = expected
        self.message = message
        self.extra = extra


def _text(f: Field, value: Any) -> str | None:
    if type(value) is str:
        text = value
    elif isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidValue(f.data_type.value)
    else:
        text = str(value)
    if not text or text.isspace():
        return None
    if "\x00" in text:
        raise InvalidValue(f.data_type.value)
    limit = f.length
    if limit is not None and len(text) > limit:
        raise InvalidValue(f.data_type.value, "value exceeds maximum length", maximum_length=limit)
    if f.data_type is DataType.EMAIL and not EMAIL.match(text.strip()):
        raise InvalidValue("email")
    if f.data_type is DataType.PHONE and not PHONE.match(text.strip()):
        raise InvalidValue("phone")
    return text.strip() if f.data_type in (DataType.EMAIL, DataType.PHONE) else text


def _number(f: Field, value: Any) -> int | float | None:
    if isinstance(value, bool):
        raise InvalidValue(f.data_type.value)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped == "":
            return None
        # Python's int() and float() also read "1_000" and non-ASCII digits; a CRM must not.
        if "_" in stripped or not stripped.isascii():
            raise InvalidValue(f.data_type.value)
        try:
            value = int(stripped)
        except ValueError:
            try:
                value = float(stripped)
            except ValueError:
                raise InvalidValue(f.data_type.value) from None
    if not isinstance(value, int | float):
        raise InvalidValue(f.data_type.value)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidValue(f.data_type.value)
    if f.data_type in (DataType.INTEGER, DataType.BIGINT):
        if isinstance(value, float):
            if not value.is_integer():
                raise InvalidValue(f.data_type.value)
            value = int(value)
        bound = 2**31 - 1 if f.data_type is DataType.INTEGER else 2**63 - 1
        if not -bound - 1 <= value <= bound:
            raise InvalidValue(f.data_type.value, "value out of range")
        return int(value)
    if abs(value) >= 1e15:
        # Checked before converting: a huge JSON integer does not fit in a float at all.
        raise InvalidValue(f.data_type.value, "value out of range")
    number = float(value)
    if f.data_type is DataType.PERCENT and not 0 <= number <= 100:
        raise InvalidValue("percent", "value must be between 0 and 100")
    return number


def _boolean(f: Field, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValue("boolean")


def _date(f: Field, value: Any) -> date | None:
    if not isinstance(value, str):
        raise InvalidValue("date")
    text = value.strip()
    if text == "":
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise InvalidValue("date")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValue("date") from None


def _datetime(f: Field, value: Any, time_zone: str) -> datetime | None:
    if not isinstance(value, str):
        raise InvalidValue("datetime")
    if value.strip() == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidValue("datetime") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(time_zone))
    return parsed


def _picklist(f: Field, value: Any) -> str | None:
    if not isinstance(value, str):
        raise InvalidValue("picklist")
    if value.strip() == "":
        return None
    entry = f.picklist_value(value.strip())
    if entry is None:
        raise InvalidValue(
            "picklist", "invalid data", supported_values=[p.actual_value for p in f.picklist]
        )
    return entry.actual_value


def _multiselect(f: Field, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(";") if v.strip()]
    if not isinstance(value, list):
        raise InvalidValue("multiselectpicklist")
    chosen: list[str] = []
    for item in value:
        if not isinstance(item, str) or MULTISELECT_SEPARATOR in item:
            raise InvalidValue("multiselectpicklist")
        entry = f.picklist_value(item.strip())
        if entry is None:
            raise InvalidValue(
                "multiselectpicklist",
                "invalid data",
                supported_values=[p.actual_value for p in f.picklist],
            )
        if entry.actual_value not in chosen:
            chosen.append(entry.actual_value)
    return tuple(chosen)


def reference_id(value: Any) -> int | None:
    """The id in `{"id": …}`, a number or a numeric string; None for empty."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool):
        raise InvalidValue("jsonobject")
    if isinstance(value, int) and 0 < value < 2**63:
        return value
    if isinstance(value, str) and value.strip().isdigit() and 0 < int(value.strip()) < 2**63:
        return int(value.strip())
    raise InvalidValue("jsonobject")


def _territories(f: Field, value: Any) -> Any:
    raise InvalidValue("jsonarray", "territories are assigned through assign_territories")


# One converter per kind; those that need the time zone take it as a keyword.
_BY_KIND: dict[Kind, Callable[..., Any]] = {
    Kind.TEXT: _text,
    Kind.NUMBER: _number,
    Kind.BOOLEAN: _boolean,
    Kind.DATE: _date,
    Kind.PICKLIST: _picklist,
    Kind.MULTISELECT: _multiselect,
    Kind.REFERENCE: lambda f, value: reference_id(value),
    Kind.TERRITORIES: _territories,
}


def coerce(f: Field, value: Any, *, time_zone: str) -> Any:
    """The canonical value of `value` for field `f`, or InvalidValue."""
    if value is None:
        return EMPTY_BY_KIND.get(f.kind)
    if f.kind is Kind.DATETIME:
        return _datetime(f, value, time_zone)
    return _BY_KIND[f.kind](f, value)


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == ()


@dataclass(frozen=True)
class CleanItem:
    """One item of a write, checked: the canonical values it sets, or what is wrong with it."""

    values: Mapping[str, Any]
    problems: tuple[Problem, ...]


def clean_item(
    module: Module,
    raw: Mapping[str, Any],
    *,
    index: int,
    creating: bool,
    time_zone: str,
    collection: str = "data",
) -> CleanItem:
    """Check one record of a write and convert its values (no I/O: references are checked later).

    `creating` makes mandatory fields required; on update only the fields sent are checked.
    """
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    writable = module.writable_fields
    for key, value in raw.items():
        f = writable.get(key)
        if f is not None:
            try:
                values[f.api_name] = coerce(f, value, time_zone=time_zone)
            except InvalidValue as bad:
                details = {
                    "api_name": f.api_name,
                    "json_path": f"$.{collection}[{index}].{key}",
                    "expected_data_type": bad.expected,
                    **bad.extra,
                }
                problems.append(Problem("INVALID_DATA", bad.message, details))
            continue
        if key.startswith("$") or key in IGNORED_KEYS:
            continue
        f = module.field(key)
        if f is None:
            problems.append(
                Problem(
                    "INVALID_DATA",
                    "invalid field api_name",
                    {"api_name": key, "json_path": f"$.{collection}[{index}].{key}"},
                )
            )
            continue
        if f.read_only or (f.system and f.api_name != "Owner"):
            continue
        try:
            values[f.api_name] = coerce(f, value, time_zone=time_zone)
        except InvalidValue as bad:
            details = {
                "api_name": f.api_name,
                "json_path": f"$.{collection}[{index}].{key}",
                "expected_data_type": bad.expected,
                **bad.extra,
            }
            problems.append(Problem("INVALID_DATA", bad.message, details))
    if creating:
        for f in module.checkbox_fields:
            if f.api_name not in values:
                values[f.api_name] = False
    for f in module.mandatory_fields:
        sent = f.api_name in values
        if (creating and (not sent or is_empty(values[f.api_name]))) or (
            not creating and sent and is_empty(values[f.api_name])
        ):
            problems.append(
                Problem(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    {"api_name": f.api_name, "json_path": f"$.{collection}[{index}].{f.api_name}"},
                )
            )
    return CleanItem(values, tuple(problems))


def derive(module: Module, before: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Values the server maintains from others, added to `changes` (Deals: probability, revenue).

    A stage change sets the stage's probability unless the client sent one; Expected_Revenue
    is always Amount × Probability.
    """
    result = dict(changes)
    if module.api_name != "Deals":
        return result
    stage_field = module.field("Stage")
    if "Stage" in changes and "Probability" not in changes and stage_field is not None:
        entry = stage_field.picklist_value(changes["Stage"]) if changes["Stage"] else None
        if entry is not None and entry.probability is not None:
            result["Probability"] = float(entry.probability)
    merged = {**before, **result}
    amount, probability = merged.get("Amount"), merged.get("Probability")
    if "Amount" in result or "Probability" in result:
        result["Expected_Revenue"] = (
            None if amount is None or probability is None else round(amount * probability / 100, 2)
        )
    return result


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as stored: system attributes plus canonical field values by api_name."""

    id: int
    owner_id: int
    created_by: int
    modified_by: int
    created_time: datetime
    modified_time: datetime
    version: int
    values: Mapping[str, Any]
    approval_state: str | None = None
    process_flow: bool = False

    def field_values(self) -> dict[str, Any]:
        """Every value a criteria tree can read, system fields included."""
        return {
            **self.values,
            "Owner": self.owner_id,
            "Created_By": self.created_by,
            "Modified_By": self.modified_by,
            "Created_Time": self.created_time,
            "Modified_Time": self.modified_time,
        }
