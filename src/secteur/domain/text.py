"""Case-insensitive text, defined once for every evaluator (criteria.md: text ignores case)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# Multi-select values are stored joined by this separator in the folded column, so that
# "includes X" is a substring test on both databases. Picklist values may not contain it.
MULTISELECT_SEPARATOR = "\x1f"


def fold(value: str) -> str:
    """The comparison key of a text value: NFC-normalised, then Unicode case-folded.

    Stored beside every text-like value, so SQL compares exactly what Python compares.
    """
    return unicodedata.normalize("NFC", value).casefold()


def fold_multiselect(values: Iterable[str]) -> str | None:
    """The searchable form of a multi-select value: folded items between separators."""
    items = [fold(v) for v in values]
    if not items:
        return None
    return MULTISELECT_SEPARATOR + MULTISELECT_SEPARATOR.join(items) + MULTISELECT_SEPARATOR
