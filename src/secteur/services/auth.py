"""OAuth 2 as Zoho's accounts server speaks it: clients, grant codes, refresh and access tokens.

Every secret is a long random value shown once and stored only as its SHA-256 digest
(ADR 0004): a stolen database yields no usable token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.domain.scopes import InvalidScope, Scope, parse_scopes
from secteur.services.app import Tx
from secteur.services.errors import ServiceError

GRANT_TTL = timedelta(minutes=10)


class OAuthError(Exception):
    """An error of the token endpoint, answered as `{"error": code}`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token() -> str:
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


@dataclass(frozen=True)
class NewClient:
    client_id: str
    client_secret: str
    name: str


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scopes: str
    refresh_token: str | None = None


@dataclass(frozen=True)
class TokenOwner:
    """What a valid access token stands for."""

    user_id: int
    scopes: tuple[Scope, ...]


def normalise_scopes(text: str) -> str:
    try:
        return ",".join(str(s) for s in parse_scopes(text))
    except InvalidScope as exc:
        raise ServiceError("INVALID_DATA", str(exc), {"param_name": "scope"}) from exc


def create_client(tx: Tx, name: str, redirect_uri: str | None = None) -> NewClient:
    if not name.strip():
        raise ServiceError("INVALID_DATA", "a client needs a name", {"param_name": "name"})
    client_id = "1000." + secrets.token_hex(15).upper()
    secret = secrets.token_hex(21)
    tx.conn.execute(
        t.oauth_clients.insert().values(
            client_id=client_id,
            secret_hash=digest(secret),
            name=name.strip(),
            redirect_uri=redirect_uri,
            created_time=tx.now,
            modified_time=tx.now,
        )
    )
    return NewClient(client_id, secret, name.strip())


def _user_id(tx: Tx, email: str) -> int:
    row = tx.conn.execute(
        sa.select(t.users.c.id).where(
            t.users.c.email_key == email.lower(), t.users.c.status == "active"
        )
    ).first()
    if row is None:
        raise ServiceError(
            "INVALID_DATA", f"no active user with e-mail {email}", {"param_name": "user"}
        )
    return int(row[0])


class _Client(NamedTuple):
    id: int
    secret_hash: str
    revoked: bool


def _client_row(tx: Tx, client_id: str) -> _Client | None:
    clients = t.oauth_clients
    row = tx.conn.execute(
        sa.select(clients.c.id, clients.c.secret_hash, clients.c.revoked).where(
            clients.c.client_id == client_id
        )
    ).first()
    return None if row is None else _Client(int(row.id), str(row.secret_hash), bool(row.revoked))


def create_grant(tx: Tx, client_id: str, user_email: str, scope: str) -> str:
    """A one-time authorization code, as the consent screen would give (for scripts and tests)."""
    client = _client_row(tx, client_id)
    if client is None or client.revoked:
        raise ServiceError("INVALID_DATA", "unknown client", {"param_name": "client"})
    code = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
    tx.conn.execute(
        t.oauth_grants.insert().values(
            code_hash=digest(code),
            client_id=client.id,
            user_id=_user_id(tx, user_email),
            scopes=normalise_scopes(scope),
            expires_at=tx.now + GRANT_TTL,
            created_time=tx.now,
        )
    )
    return code


def issue_access_token(tx: Tx, user_email: str, scope: str, ttl: timedelta) -> IssuedToken:
    """An access token without a client (CLI, demo): limited by scopes and its lifetime."""
    scopes = normalise_scopes(scope)
    token = _token()
    tx.conn.execute(
        t.oauth_access_tokens.insert().values(
            token_hash=digest(token),
            user_id=_user_id(tx, user_email),
            scopes=scopes,
            expires_at=tx.now + ttl,
            created_time=tx.now,
        )
    )
    return IssuedToken(token, int(ttl.total_seconds()), scopes)


def _authenticate_client(tx: Tx, client_id: str, client_secret: str) -> int:
    client = _client_row(tx, client_id)
    if client is None or client.revoked:
        raise OAuthError("invalid_client")
    if not hmac.compare_digest(client.secret_hash, digest(client_secret)):
        raise OAuthError("invalid_client_secret")
    return int(client.id)


def _new_access(tx: Tx, client: int, user: int, scopes: str, refresh_id: int | None) -> str:
    token = _token()
    ttl = timedelta(seconds=tx.app.settings.access_token_ttl_seconds)
    tx.conn.execute(
        t.oauth_access_tokens.insert().values(
            token_hash=digest(token),
            client_id=client,
            refresh_token_id=refresh_id,
            user_id=user,
            scopes=scopes,
            expires_at=tx.now + ttl,
            created_time=tx.now,
        )
    )
    return token


def exchange_code(tx: Tx, client_id: str, client_secret: str, code: str) -> IssuedToken:
    client = _authenticate_client(tx, client_id, client_secret)
    grants = t.oauth_grants
    grant = tx.conn.execute(sa.select(grants).where(grants.c.code_hash == digest(code))).first()
    if grant is None or grant.client_id != client or grant.used_at is not None:
        raise OAuthError("invalid_code")
    if grant.expires_at < tx.now:
        raise OAuthError("invalid_code")
    # A code is good once: a second exchange finds it used, even under a race.
    used = tx.conn.execute(
        grants.update()
        .where(grants.c.id == grant.id, grants.c.used_at.is_(None))
        .values(used_at=tx.now)
    )
    if used.rowcount != 1:
        raise OAuthError("invalid_code")
    refresh = _token()
    refresh_id = tx.conn.execute(
        t.oauth_refresh_tokens.insert()
        .values(
            token_hash=digest(refresh),
            client_id=client,
            user_id=grant.user_id,
            scopes=grant.scopes,
            created_time=tx.now,
        )
        .returning(t.oauth_refresh_tokens.c.id)
    ).scalar_one()
    access = _new_access(tx, client, grant.user_id, grant.scopes, refresh_id)
    return IssuedToken(access, tx.app.settings.access_token_ttl_seconds, grant.scopes, refresh)


def refresh(tx: Tx, client_id: str, client_secret: str, refresh_token: str) -> IssuedToken:
    client = _authenticate_client(tx, client_id, client_secret)
    tokens = t.oauth_refresh_tokens
    row = tx.conn.execute(
        sa.select(tokens).where(tokens.c.token_hash == digest(refresh_token))
    ).first()
    if row is None or row.client_id != client or row.revoked_at is not None:
        raise OAuthError("invalid_code")
    access = _new_access(tx, client, row.user_id, row.scopes, row.id)
    return IssuedToken(access, tx.app.settings.access_token_ttl_seconds, row.scopes)


def store_refresh_token(tx: Tx, client_id: str, user_email: str, scope: str) -> str:
    """A refresh token for a client and user directly (CLI: set up an integration)."""
    client = _client_row(tx, client_id)
    if client is None or client.revoked:
        raise ServiceError("INVALID_DATA", "unknown client", {"param_name": "client"})
    token = _token()
    tx.conn.execute(
        t.oauth_refresh_tokens.insert().values(
            token_hash=digest(token),
            client_id=client.id,
            user_id=_user_id(tx, user_email),
            scopes=normalise_scopes(scope),
            created_time=tx.now,
        )
    )
    return token


def revoke(tx: Tx, token: str) -> bool:
    """Revoke a refresh token (with every access token it issued) or an access token."""
    hashed = digest(token)
    refresh_tokens, access_tokens = t.oauth_refresh_tokens, t.oauth_access_tokens
    row = tx.conn.execute(
        sa.select(refresh_tokens.c.id).where(refresh_tokens.c.token_hash == hashed)
    ).first()
    if row is not None:
        tx.conn.execute(
            refresh_tokens.update().where(refresh_tokens.c.id == row.id).values(revoked_at=tx.now)
        )
        tx.conn.execute(
            access_tokens.update()
            .where(access_tokens.c.refresh_token_id == row.id, access_tokens.c.revoked_at.is_(None))
            .values(revoked_at=tx.now)
        )
        return True
    result = tx.conn.execute(
        access_tokens.update()
        .where(access_tokens.c.token_hash == hashed, access_tokens.c.revoked_at.is_(None))
        .values(revoked_at=tx.now)
    )
    return result.rowcount == 1


def authenticate(tx: Tx, token: str) -> TokenOwner | None:
    """The owner of a live access token; None for unknown, expired or revoked tokens."""
    tokens = t.oauth_access_tokens
    row = tx.conn.execute(
        sa.select(
            tokens.c.user_id, tokens.c.scopes, tokens.c.expires_at, tokens.c.revoked_at
        ).where(tokens.c.token_hash == digest(token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= tx.now:
        return None
    return TokenOwner(int(row.user_id), parse_scopes(row.scopes))
