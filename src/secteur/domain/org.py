"""The organisation (tenant) a database holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class OrgType(StrEnum):
    PRODUCTION = "production"
    SANDBOX = "sandbox"


@dataclass(frozen=True, slots=True)
class Org:
    id: int
    name: str
    zgid: str
    time_zone: str
    currency: str
    type: OrgType
    created_time: datetime
    country: str | None = None
    primary_email: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    version: int = 1
