"""Modules and fields: the metadata every record, rule and API answer is shaped by.

Pure values. Storage (which column holds which field) is decided here too, because the
column name is part of a field's identity for its whole life: a field's column never changes
once the field exists, even if its label does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any

from secteur.domain.text import MULTISELECT_SEPARATOR as MULTISELECT_SEPARATOR
from secteur.domain.text import fold


class DataType(StrEnum):
    """Zoho `data_type` names. The SDK type-checks values against them."""

    TEXT = "text"
    TEXTAREA = "textarea"
    EMAIL = "email"
    PHONE = "phone"
    WEBSITE = "website"
    INTEGER = "integer"
    BIGINT = "bigint"
    DOUBLE = "double"
    CURRENCY = "currency"
    PERCENT = "percent"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    PICKLIST = "picklist"
    MULTISELECTPICKLIST = "multiselectpicklist"
    LOOKUP = "lookup"
    USERLOOKUP = "userlookup"
    OWNERLOOKUP = "ownerlookup"
    TERRITORIES = "territories"


class Kind(StrEnum):
    """How a value behaves in comparisons, storage and criteria — fewer cases than data types."""

    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    PICKLIST = "picklist"
    MULTISELECT = "multiselect"
    REFERENCE = "reference"
    TERRITORIES = "territories"


KIND_OF: dict[DataType, Kind] = {
    DataType.TEXT: Kind.TEXT,
    DataType.TEXTAREA: Kind.TEXT,
    DataType.EMAIL: Kind.TEXT,
    DataType.PHONE: Kind.TEXT,
    DataType.WEBSITE: Kind.TEXT,
    DataType.INTEGER: Kind.NUMBER,
    DataType.BIGINT: Kind.NUMBER,
    DataType.DOUBLE: Kind.NUMBER,
    DataType.CURRENCY: Kind.NUMBER,
    DataType.PERCENT: Kind.NUMBER,
    DataType.BOOLEAN: Kind.BOOLEAN,
    DataType.DATE: Kind.DATE,
    DataType.DATETIME: Kind.DATETIME,
    DataType.PICKLIST: Kind.PICKLIST,
    DataType.MULTISELECTPICKLIST: Kind.MULTISELECT,
    DataType.LOOKUP: Kind.REFERENCE,
    DataType.USERLOOKUP: Kind.REFERENCE,
    DataType.OWNERLOOKUP: Kind.REFERENCE,
    DataType.TERRITORIES: Kind.TERRITORIES,
}

# Zoho's json_type per data type (the SDK reads it to decide how to (de)serialise).
JSON_TYPE: dict[DataType, str] = {
    DataType.TEXT: "string",
    DataType.TEXTAREA: "string",
    DataType.EMAIL: "string",
    DataType.PHONE: "string",
    DataType.WEBSITE: "string",
    DataType.INTEGER: "integer",
    DataType.BIGINT: "string",
    DataType.DOUBLE: "double",
    DataType.CURRENCY: "double",
    DataType.PERCENT: "double",
    DataType.BOOLEAN: "boolean",
    DataType.DATE: "string",
    DataType.DATETIME: "string",
    DataType.PICKLIST: "string",
    DataType.MULTISELECTPICKLIST: "jsonarray",
    DataType.LOOKUP: "jsonobject",
    DataType.USERLOOKUP: "jsonobject",
    DataType.OWNERLOOKUP: "jsonobject",
    DataType.TERRITORIES: "jsonarray",
}

# Data types an admin may give a custom field.
CUSTOM_FIELD_TYPES: frozenset[DataType] = frozenset(
    {
        DataType.TEXT,
        DataType.TEXTAREA,
        DataType.EMAIL,
        DataType.PHONE,
        DataType.WEBSITE,
        DataType.INTEGER,
        DataType.DOUBLE,
        DataType.CURRENCY,
        DataType.PERCENT,
        DataType.BOOLEAN,
        DataType.DATE,
        DataType.DATETIME,
        DataType.PICKLIST,
        DataType.MULTISELECTPICKLIST,
        DataType.LOOKUP,
        DataType.USERLOOKUP,
    }
)

# Default maximum length of text-like values, per data type (Zoho's defaults).
DEFAULT_LENGTH: dict[DataType, int] = {
    DataType.TEXT: 255,
    DataType.TEXTAREA: 32000,
    DataType.EMAIL: 100,
    DataType.PHONE: 30,
    DataType.WEBSITE: 255,
    DataType.PICKLIST: 120,
    DataType.INTEGER: 9,
    DataType.BIGINT: 19,
    DataType.DOUBLE: 16,
    DataType.CURRENCY: 16,
    DataType.PERCENT: 5,
}


API_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")


# What an unset field holds, by kind. A checkbox is never empty (Zoho): unset is false, as the
# criteria engine reads it too; a multi-select holds no values.
EMPTY_BY_KIND: dict[Kind, Any] = {Kind.MULTISELECT: (), Kind.BOOLEAN: False}


@dataclass(frozen=True, slots=True)
class PicklistValue:
    display_value: str
    actual_value: str
    sequence_number: int
    probability: int | None = None
    forecast_category: str | None = None
    id: int = 0


@dataclass(frozen=True, slots=True)
class Field:
    """A typed attribute of a module."""

    api_name: str
    label: str
    data_type: DataType
    column: str
    id: int = 0
    mandatory: bool = False
    custom: bool = False
    read_only: bool = False
    system: bool = False
    length: int | None = None
    decimal_place: int | None = None
    picklist: tuple[PicklistValue, ...] = ()
    lookup_module: str | None = None
    sequence: int = 0
    version: int = 1
    # Derived from the data type once: read on every value of every record written.
    kind: Kind = field(init=False, repr=False, compare=False)
    folded: bool = field(init=False, repr=False, compare=False)
    _picklist_index: dict[str, PicklistValue] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kind = KIND_OF[self.data_type]
        object.__setattr__(self, "kind", kind)
        # Text-like fields have a case-folded shadow column for case-insensitive comparisons.
        object.__setattr__(self, "folded", kind in (Kind.TEXT, Kind.PICKLIST, Kind.MULTISELECT))
        index: dict[str, PicklistValue] = {}
        for entry in self.picklist:
            index.setdefault(fold(entry.actual_value), entry)
        for entry in self.picklist:
            index.setdefault(fold(entry.display_value), entry)
        object.__setattr__(self, "_picklist_index", index)

    @property
    def json_type(self) -> str:
        return JSON_TYPE[self.data_type]

    @property
    def fold_column(self) -> str:
        return f"{self.column}__ci"

    def picklist_value(self, value: str) -> PicklistValue | None:
        """The picklist entry for a value, matched case-insensitively as Zoho does."""
        return self._picklist_index.get(fold(value))


@dataclass(frozen=True)
class Module:
    api_name: str
    singular_label: str
    plural_label: str
    id: int
    table: str
    display_field: str
    fields: tuple[Field, ...] = field(default=())
    sequence: int = 0

    def field(self, api_name: str) -> Field | None:
        """The field named `api_name`, matched case-insensitively as Zoho does."""
        found = self._by_name.get(api_name)
        return found if found is not None else self._by_key.get(api_name.casefold())

    @cached_property
    def _by_name(self) -> dict[str, Field]:
        return {f.api_name: f for f in self.fields}

    @cached_property
    def _by_key(self) -> dict[str, Field]:
        return {f.api_name.casefold(): f for f in self.fields}

    def with_field(self, new: Field) -> Module:
        return replace(self, fields=(*self.fields, new))

    @cached_property
    def data_fields(self) -> tuple[Field, ...]:
        """Fields a client writes (not system-maintained)."""
        return tuple(f for f in self.fields if not f.system)

    @cached_property
    def writable_fields(self) -> dict[str, Field]:
        """Fields a client sets, by their exact api name (the owner is the one system field)."""
        return {
            f.api_name: f
            for f in self.fields
            if not f.read_only
            and (not f.system or f.api_name == "Owner")
            and f.kind is not Kind.TERRITORIES
        }

    @cached_property
    def checkbox_fields(self) -> tuple[Field, ...]:
        """Writable booleans: a new record that does not set one holds false."""
        return tuple(f for f in self.data_fields if f.kind is Kind.BOOLEAN and not f.read_only)

    @cached_property
    def mandatory_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.mandatory)

    @cached_property
    def reference_fields(self) -> tuple[Field, ...]:
        """Lookups and user fields (the owner included): values that name other things."""
        return tuple(f for f in self.fields if f.kind is Kind.REFERENCE)

    @cached_property
    def empty_values(self) -> dict[str, Any]:
        """What each stored data field holds when nothing was given (a new record's base)."""
        return {
            f.api_name: EMPTY_BY_KIND.get(f.kind)
            for f in self.data_fields
            if f.kind is not Kind.TERRITORIES
        }


def column_for(api_name: str) -> str:
    """The storage column of a non-system field: stable, lower-case, prefix-free of clashes."""
    return f"f_{api_name.lower()}"
