"""Settings pages, shared parts: the administrators-only guard, the sub-navigation, and the
service's per-item problems turned into messages beside the fields they concern.

The pages themselves live in `settings_users`, `settings_fields`, `settings_roles` and
`settings_profiles`; each calls the services the API calls, so a page never accepts what the API
would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from secteur.services.errors import NoPermission, NotFound, ServiceError
from secteur.web.deps import PageRoute, Viewer, viewer

router = APIRouter(route_class=PageRoute, include_in_schema=False)

SECTIONS = (
    ("users", "Users", "/settings/users"),
    ("fields", "Fields", "/settings/fields"),
    ("roles", "Roles", "/settings/roles"),
    ("profiles", "Profiles", "/settings/profiles"),
    ("territories", "Territories", "/territories/settings"),
)
MAX_ID = 2**63 - 1


def admin_only(v: Viewer) -> Viewer:
    """Settings are for administrators: anyone else gets the 403 page."""
    if not v.actor.admin:
        raise NoPermission("only administrators may change settings")
    return v


def chrome(v: Viewer, section: str) -> dict[str, Any]:
    """The frame of a settings page: the top bar with Settings current, and the sub-navigation."""
    return {**v.chrome("settings"), "sections": SECTIONS, "section": section}


def id_of(text: str) -> int:
    """A path id; anything else is a page that does not exist."""
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID):
        raise NotFound()
    return int(text)


def optional_id(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID else None


def delete_with_transfer(
    v: Viewer,
    transfer_to: str,
    delete: Callable[[int | None], None],
    refused: Callable[[str], Response],
    done: str,
) -> Response:
    """A delete whose holders move to `transfer_to` (roles, profiles): the service's refusal
    (400) shown on the confirmation page, nothing changed; otherwise on to `done`."""
    try:
        with v.tx.conn.begin_nested():
            delete(optional_id(transfer_to))
    except ServiceError as exc:
        if exc.status != 400:
            raise
        return refused(sentence(exc.message))
    return RedirectResponse(done, 303)


def sentence(message: str) -> str:
    """A service message ("invalid email") as a sentence on a page ("Invalid email.")."""
    text = message.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


# Friendlier words for the bare messages a form meets most; the service's own otherwise.
_WORDS = {
    "required field not found": "Required.",
    "duplicate data": "Already in use: choose another.",
}


@dataclass
class Problems:
    """What a form shows after a refused save: messages by input name, and the rest on top."""

    by_field: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.by_field or self.general)


def problems_of(
    exc: ServiceError, inputs: Iterable[str], aliases: Mapping[str, str] | None = None
) -> Problems:
    """Place a service error beside the input it concerns (by its `api_name`), else on top.

    `aliases` maps the API's names to the form's input names where they differ.
    """
    names = set(inputs)
    key = str(exc.details.get("api_name") or exc.details.get("param_name") or "")
    key = (aliases or {}).get(key, key)
    if key in names:
        return Problems({key: _WORDS.get(exc.message) or sentence(exc.message)})
    return Problems(general=[sentence(exc.message)])


@router.get("/settings")
def settings_home(request: Request) -> Response:
    with viewer(request) as v:
        admin_only(v)
    return RedirectResponse("/settings/users", 303)
