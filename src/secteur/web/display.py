"""Values as people read them (lists and detail pages) and as form inputs hold them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from secteur.api.wire import Names
from secteur.domain.directory import Directory
from secteur.domain.fields import DataType, Field, Kind

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF "}


@dataclass(frozen=True)
class Shown:
    """A value to show: its text, and where it links to (a record, a mail address, a site)."""

    text: str
    href: str | None = None
    kind: str = ""  # css hint: "number", "badge", "muted"


@dataclass(frozen=True)
class Reader:
    """What formatting depends on: names of looked-up records, users, zone and currency."""

    names: Names
    directory: Directory
    zone: str
    currency: str

    def show(self, f: Field, value: Any) -> Shown:
        if value is None or value == () or value == "":
            return Shown("")
        match f.kind:
            case Kind.REFERENCE:
                if f.data_type is DataType.LOOKUP:
                    name = self.names.name(f.lookup_module or "", value)
                    return Shown(name or "(not visible)", f"/m/{f.lookup_module}/{value}")
                user = self.directory.users.get(value)
                return Shown(user.full_name if user else f"user {value}")
            case Kind.DATETIME:
                assert isinstance(value, datetime)
                return Shown(value.astimezone(ZoneInfo(self.zone)).strftime("%d %b %Y %H:%M"))
            case Kind.DATE:
                return Shown(value.strftime("%d %b %Y") if isinstance(value, date) else str(value))
            case Kind.BOOLEAN:
                return Shown("Yes" if value else "No", kind="muted" if not value else "")
            case Kind.MULTISELECT:
                return Shown(", ".join(value), kind="badge")
            case Kind.PICKLIST:
                return Shown(str(value), kind="badge")
            case Kind.NUMBER:
                return Shown(self.number(f, value), kind="number")
        if f.data_type is DataType.EMAIL:
            return Shown(str(value), f"mailto:{value}")
        if f.data_type is DataType.WEBSITE:
            text = str(value)
            target = text if text.startswith(("http://", "https://")) else f"https://{text}"
            return Shown(text, target)
        return Shown(str(value))

    def number(self, f: Field, value: float | int) -> str:
        if f.data_type is DataType.CURRENCY:
            symbol = CURRENCY_SYMBOLS.get(self.currency, self.currency + " ")
            return f"{symbol}{value:,.2f}"
        if f.data_type is DataType.PERCENT:
            return f"{value:g} %"
        if f.data_type in (DataType.INTEGER, DataType.BIGINT):
            return f"{int(value):,}"
        return f"{value:,.{f.decimal_place or 2}f}"


def input_value(f: Field, value: Any, zone: str) -> str | list[str]:
    """What a form input holds for a stored value."""
    if value is None:
        return [] if f.kind is Kind.MULTISELECT else ""
    match f.kind:
        case Kind.DATETIME:
            assert isinstance(value, datetime)
            return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")
        case Kind.DATE:
            return value.isoformat() if isinstance(value, date) else str(value)
        case Kind.BOOLEAN:
            return "true" if value else ""
        case Kind.MULTISELECT:
            return list(value)
        case Kind.NUMBER:
            if f.data_type in (DataType.INTEGER, DataType.BIGINT):
                return str(int(value))
            return (
                f"{value:.{f.decimal_place or 2}f}"
                if f.data_type is DataType.CURRENCY
                else (f"{value:g}")
            )
    return str(value)
