"""Signing in to the web UI: sessions, login throttling and one-time "set password" links.

Secrets (session tokens, link tokens) are random values handed out once; only their SHA-256
digests are stored, as for API tokens (ADR 0004, ADR 0010).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.domain.directory import User, UserStatus
from secteur.domain.passwords import WeakPassword, hash_password, verify_password
from secteur.services.app import Tx
from secteur.services.auth import digest
from secteur.services.errors import ServiceError

# Failures counted over this window; past a limit, sign-in is refused without checking.
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_CLIENT = 30
PASSWORD_LINK_TTL = timedelta(hours=72)


class SignInRefused(Exception):
    """Wrong e-mail or password, or too many failures; the message is safe to show."""


@dataclass(frozen=True)
class Session:
    user_id: int
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class NewSession:
    token: str
    session: Session


def _user_by_email(tx: Tx, email: str) -> tuple[int, str | None] | None:
    users = t.users
    row = tx.conn.execute(
        sa.select(users.c.id, users.c.password_hash).where(
            users.c.email_key == email.strip().lower(),
            users.c.status == UserStatus.ACTIVE.value,
        )
    ).first()
    return None if row is None else (int(row.id), row.password_hash)


def _failures(tx: Tx, key: str) -> int:
    since = tx.now - THROTTLE_WINDOW
    query = (
        sa.select(sa.func.count())
        .select_from(t.login_failures)
        .where(t.login_failures.c.key == key, t.login_failures.c.at > since)
    )
    return int(tx.conn.execute(query).scalar_one())


def _keys(email: str, client: str) -> tuple[str, str]:
    return "email:" + email.strip().lower()[:240], "client:" + client[:240]


def throttled(tx: Tx, email: str, client: str) -> bool:
    by_email, by_client = _keys(email, client)
    return (
        _failures(tx, by_email) >= MAX_FAILURES_PER_EMAIL
        or _failures(tx, by_client) >= MAX_FAILURES_PER_CLIENT
    )


def record_failure(tx: Tx, email: str, client: str) -> None:
    """Written in its own transaction by the caller, so that a refused sign-in still counts."""
    tx.conn.execute(
        t.login_failures.insert(), [{"key": key, "at": tx.now} for key in _keys(email, client)]
    )
    # Old failures no longer count; keep the table small.
    tx.conn.execute(t.login_failures.delete().where(t.login_failures.c.at < tx.now - timedelta(1)))


def sign_in(tx: Tx, email: str, password: str, client: str) -> NewSession:
    """A new session for the user, or `SignInRefused` (the caller records the failure)."""
    if throttled(tx, email, client):
        # Checked before the password: a guesser learns nothing while throttled.
        raise SignInRefused(
            "Too many failed sign-in attempts. Wait 15 minutes, or ask an administrator "
            "for a new password link."
        )
    found = _user_by_email(tx, email)
    if not verify_password(found[1] if found else None, password) or found is None:
        raise SignInRefused("The e-mail or the password is not right.")
    by_email, _ = _keys(email, client)
    tx.conn.execute(t.login_failures.delete().where(t.login_failures.c.key == by_email))
    return _open_session(tx, found[0])


def _open_session(tx: Tx, user_id: int) -> NewSession:
    settings = tx.app.settings
    token = secrets.token_urlsafe(32)
    session = Session(
        user_id,
        secrets.token_urlsafe(32),
        tx.now + timedelta(hours=settings.session_max_hours),
    )
    tx.conn.execute(
        t.web_sessions.insert().values(
            token_hash=digest(token),
            user_id=user_id,
            csrf_token=session.csrf_token,
            created_time=tx.now,
            last_seen=tx.now,
            expires_at=session.expires_at,
        )
    )
    return NewSession(token, session)


def current(tx: Tx, token: str) -> Session | None:
    """The live session of a cookie token; None when unknown, idle too long or expired.

    Refreshes `last_seen` at most once a minute, so reading pages rarely writes.
    """
    sessions = t.web_sessions
    row = tx.conn.execute(sa.select(sessions).where(sessions.c.token_hash == digest(token))).first()
    if row is None:
        return None
    idle = timedelta(minutes=tx.app.settings.session_idle_minutes)
    if row.expires_at <= tx.now or row.last_seen + idle <= tx.now:
        return None
    if tx.now - row.last_seen > timedelta(minutes=1):
        tx.conn.execute(
            sessions.update()
            .where(sessions.c.token_hash == row.token_hash)
            .values(last_seen=tx.now)
        )
    return Session(int(row.user_id), str(row.csrf_token), row.expires_at)


def csrf_matches(session: Session, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(session.csrf_token, given)


def sign_out(tx: Tx, token: str) -> None:
    tx.conn.execute(t.web_sessions.delete().where(t.web_sessions.c.token_hash == digest(token)))


def end_sessions_of(tx: Tx, user_id: int) -> None:
    """After a password change: every other browser must sign in again."""
    tx.conn.execute(t.web_sessions.delete().where(t.web_sessions.c.user_id == user_id))


# --- set-password links -------------------------------------------------------------------


def create_password_link(tx: Tx, user: User, created_by: int | None) -> str:
    """A one-time token to set the user's password; earlier unused links stop working."""
    if not user.active:
        raise ServiceError(
            "INVALID_DATA", "only an active user can set a password", {"id": str(user.id)}
        )
    links = t.password_links
    tx.conn.execute(
        links.update()
        .where(links.c.user_id == user.id, links.c.used_at.is_(None))
        .values(used_at=tx.now)
    )
    token = secrets.token_urlsafe(32)
    tx.conn.execute(
        links.insert().values(
            token_hash=digest(token),
            user_id=user.id,
            created_by=created_by,
            created_time=tx.now,
            expires_at=tx.now + PASSWORD_LINK_TTL,
        )
    )
    return token


def password_link_user(tx: Tx, token: str) -> int | None:
    """The user a live link is for; None for unknown, used or expired links."""
    links = t.password_links
    row = tx.conn.execute(
        sa.select(links.c.user_id, links.c.expires_at, links.c.used_at).where(
            links.c.token_hash == digest(token)
        )
    ).first()
    if row is None or row.used_at is not None or row.expires_at <= tx.now:
        return None
    return int(row.user_id)


def use_password_link(tx: Tx, token: str, password: str) -> NewSession:
    """Set the password, spend the link, end other sessions and sign the user in."""
    user_id = password_link_user(tx, token)
    if user_id is None:
        raise ServiceError("INVALID_DATA", "this link has expired or was already used", {})
    try:
        hashed = hash_password(password)
    except WeakPassword as exc:
        raise ServiceError("INVALID_DATA", str(exc), {"param_name": "password"}) from exc
    spent = tx.conn.execute(
        t.password_links.update()
        .where(t.password_links.c.token_hash == digest(token), t.password_links.c.used_at.is_(None))
        .values(used_at=tx.now)
    )
    if spent.rowcount != 1:  # used by a concurrent request
        raise ServiceError("INVALID_DATA", "this link has expired or was already used", {})
    tx.conn.execute(
        t.users.update()
        .where(t.users.c.id == user_id)
        .values(password_hash=hashed, modified_time=tx.now)
    )
    end_sessions_of(tx, user_id)
    return _open_session(tx, user_id)


def users_with_password(tx: Tx) -> frozenset[int]:
    """Ids of the users who have set a password (the others sign in only after a link)."""
    rows = tx.conn.execute(sa.select(t.users.c.id).where(t.users.c.password_hash.is_not(None)))
    return frozenset(int(row.id) for row in rows)
