"""Record forms: posted inputs to the item an API client would send, and the service's
per-item problems back to messages beside the fields they concern."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from secteur.domain.fields import Field, Kind, Module
from secteur.services.records import ItemResult
from secteur.web.deps import Form

# Fields a person edits on a record form, in a sensible order (mandatory and name first).
HIDDEN_ON_FORMS = frozenset({"Territories"})

EXPECTED = {
    "integer": "a whole number",
    "bigint": "a whole number",
    "double": "a number",
    "currency": "an amount such as 1250.50",
    "percent": "a percentage between 0 and 100",
    "date": "a date",
    "datetime": "a date and time",
    "email": "an e-mail address such as name@example.com",
    "phone": "a phone number",
    "boolean": "yes or no",
}


def form_fields(module: Module) -> list[Field]:
    fields = [
        f
        for f in module.writable_fields.values()
        if f.api_name not in HIDDEN_ON_FORMS and f.kind is not Kind.TERRITORIES
    ]
    # The record's name first, then who owns it, then the layout's order.
    return sorted(
        fields,
        key=lambda f: (f.api_name != module.display_field, f.api_name != "Owner", f.sequence),
    )


def _datetime(text: str, zone: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # refused by validation with the API's message
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.isoformat()


def item_from(module: Module, form: Form, zone: str) -> dict[str, Any]:
    """The record item for `write_records`, as the API would receive it."""
    item: dict[str, Any] = {}
    for f in form_fields(module):
        name = f.api_name
        if f.kind is Kind.BOOLEAN:
            item[name] = form.get(name) == "true"
            continue
        if not form.has(name):
            continue
        if f.kind is Kind.MULTISELECT:
            item[name] = [v for v in form.all(name) if v]
            continue
        text = form.get(name)
        if f.kind is Kind.REFERENCE:
            item[name] = {"id": text.strip()} if text.strip() else None
        elif f.kind is Kind.DATETIME and text.strip():
            item[name] = _datetime(text.strip(), zone)
        else:
            item[name] = text if text.strip() else None
    return item


@dataclass(frozen=True)
class Problems:
    """What went wrong with a save: a message per field, and those not tied to one."""

    by_field: Mapping[str, str]
    general: tuple[str, ...]

    @property
    def any(self) -> bool:
        return bool(self.by_field or self.general)


def problems_of(module: Module, result: ItemResult) -> Problems:
    details = dict(result.details)
    name = details.get("api_name")
    f = module.field(str(name)) if name else None
    message = result.message
    expected = EXPECTED.get(str(details.get("expected_data_type", "")))
    if expected:
        message = f"{message} — expected {expected}"
    if "maximum_length" in details:
        message = f"{message} (at most {details['maximum_length']} characters)"
    if f is not None:
        return Problems({f.api_name: message}, (f"{f.label}: {message}",))
    return Problems({}, (message,))
