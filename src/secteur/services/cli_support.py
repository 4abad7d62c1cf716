"""Use cases that only the operator's command line offers."""

from __future__ import annotations

from secteur.domain.actor import actor_for
from secteur.domain.directory import User
from secteur.services import users
from secteur.services.app import Secteur, Tx
from secteur.services.errors import ServiceError


def admin_actor_user(tx: Tx, email: str | None) -> User:
    """The acting user of an operator command: the one named, else the first active admin."""
    directory = tx.state.directory
    if email is not None:
        found = next(
            (u for u in directory.users.values() if u.email.lower() == email.lower() and u.active),
            None,
        )
        if found is None:
            raise ServiceError("INVALID_DATA", f"no active user with e-mail {email}")
        return found
    admins = sorted(
        (u for u in directory.users.values() if u.active and directory.profile_of(u).admin),
        key=lambda u: u.id,
    )
    if not admins:
        raise ServiceError("INVALID_DATA", "the org has no active administrator")
    return admins[0]


def create_user_cli(
    app: Secteur,
    *,
    email: str,
    last_name: str,
    first_name: str | None,
    role: str | None,
    profile: str,
    password: str | None,
) -> int:
    with app.write() as tx:
        directory = tx.state.directory
        operator = actor_for(directory, admin_actor_user(tx, None).id, source="cli")
        assert operator is not None
        roles = directory.roles
        chosen_role = (
            roles.root
            if role is None
            else next((r for r in roles.roles.values() if r.name.lower() == role.lower()), None)
        )
        if chosen_role is None:
            raise ServiceError("INVALID_DATA", f"no role named {role}")
        chosen_profile = next(
            (p for p in directory.profiles.values() if p.name.lower() == profile.lower()), None
        )
        if chosen_profile is None:
            raise ServiceError("INVALID_DATA", f"no profile named {profile}")
        user_id = users.create_user(
            tx,
            operator,
            0,
            {
                "email": email,
                "last_name": last_name,
                "first_name": first_name,
                "role": {"id": chosen_role.id},
                "profile": {"id": chosen_profile.id},
            },
        )
        if password:
            users.set_password(tx, email, password)
        return user_id
