"""Request dependencies: the application, and the authenticated caller inside a transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from secteur.domain.actor import Actor, actor_for
from secteur.domain.scopes import Access, Category
from secteur.services import auth
from secteur.services.access import scope_mismatch
from secteur.services.app import Secteur, Tx
from secteur.services.errors import NoPermission, ServiceError

TOKEN_PREFIXES = ("zoho-oauthtoken ", "bearer ")


def invalid_token() -> ServiceError:
    return ServiceError("INVALID_TOKEN", "invalid oauth token", {}, status=401)


def get_app(request: Request) -> Secteur:
    app: Secteur = request.app.state.secteur
    return app


@dataclass(frozen=True)
class Caller:
    """The bearer of the request's token; opens transactions in which it is an `Actor`."""

    app: Secteur
    token: str | None

    @contextmanager
    def _open(self, write: bool) -> Iterator[tuple[Tx, Actor]]:
        if not self.token:
            raise invalid_token()
        with self.app.write() if write else self.app.read() as tx:
            owner = auth.authenticate(tx, self.token)
            actor = (
                None
                if owner is None
                else actor_for(tx.state.directory, owner.user_id, scopes=owner.scopes, source="api")
            )
            if actor is None:
                raise invalid_token()
            yield tx, actor

    @contextmanager
    def read(self) -> Iterator[tuple[Tx, Actor]]:
        with self._open(write=False) as opened:
            yield opened

    @contextmanager
    def write(self) -> Iterator[tuple[Tx, Actor]]:
        with self._open(write=True) as opened:
            yield opened


def get_caller(request: Request) -> Caller:
    header = request.headers.get("authorization", "")
    token = None
    for prefix in TOKEN_PREFIXES:
        if header.lower().startswith(prefix):
            token = header[len(prefix) :].strip() or None
    return Caller(get_app(request), token)


CallerDep = Annotated[Caller, Depends(get_caller)]
AppDep = Annotated[Secteur, Depends(get_app)]


def require_scope(actor: Actor, category: Category, resource: str | None, access: Access) -> None:
    if not actor.scope_allows(category, resource, access):
        raise scope_mismatch()


def require_permission(actor: Actor, permission: str) -> None:
    if not actor.profile.may(permission):
        raise NoPermission("permission denied", {"permissions": [permission]})
