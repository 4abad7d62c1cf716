"""Creating an org in an empty database, and keeping its schema up to date."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from secteur.adapters.db import directory_repo, forecast_triggers, metadata_repo, migrate
from secteur.adapters.db import tables as t
from secteur.adapters.db.records_schema import create_module_table, tables_for
from secteur.domain.catalog import standard_modules
from secteur.domain.directory import ADMIN_PERMISSIONS, ModuleAccess, Profile, UserStatus
from secteur.domain.fields import Module
from secteur.domain.forecasts.model import ForecastSettings
from secteur.domain.org import OrgType
from secteur.domain.passwords import hash_password
from secteur.services.app import Secteur
from secteur.services.errors import ServiceError

ROOT_ROLE = "CEO"


@dataclass(frozen=True)
class InitResult:
    org_id: int
    admin_id: int


# Where the org keeps its forecast settings (FC-1) in `org.settings`.
FORECAST_SETTINGS_KEY = "forecast"


def upgrade_schema(app: Secteur) -> str | None:
    """Apply pending migrations; returns the revision now current.

    The forecast triggers depend on the deals table's columns, which migrations do not know:
    an org created before them gets them here, with its forecast settings (ADR 0011).
    """
    with app.engine.connect() as conn:
        with conn.begin():
            migrate.upgrade(conn)
            if _has_org(conn) and not forecast_triggers.installed(conn):
                settings = conn.execute(sa.select(t.org.c.settings)).scalar_one() or {}
                modules = metadata_repo.load_modules(conn)
                deals = next(m for m in modules if m.api_name == "Deals")
                install_forecasts(
                    conn, deals, ForecastSettings.from_json(settings.get(FORECAST_SETTINGS_KEY))
                )
        return migrate.current_revision(conn)


def install_forecasts(conn: sa.Connection, deals: Module, settings: ForecastSettings) -> None:
    """The forecast cells' triggers for the settings' amount and date fields, cells rebuilt."""
    columns = forecast_triggers.forecast_columns(
        tables_for([deals])["Deals"], settings.amount_field, settings.date_field
    )
    forecast_triggers.install_forecast_triggers(conn, columns)


def _has_org(conn: sa.Connection) -> bool:
    if not sa.inspect(conn).has_table("org"):
        return False
    return conn.execute(sa.select(sa.func.count()).select_from(t.org)).scalar_one() > 0


def is_initialised(app: Secteur) -> bool:
    with app.engine.connect() as conn:
        return _has_org(conn)


def standard_profiles() -> tuple[Profile, Profile]:
    modules = {m.api_name: ModuleAccess() for m in standard_modules()}
    administrator = Profile(
        0,
        "Administrator",
        custom=False,
        admin=True,
        modules=modules,
        permissions=frozenset(ADMIN_PERMISSIONS),
        description="Full access to every record and every setting",
    )
    standard = Profile(
        0,
        "Standard",
        custom=False,
        admin=False,
        modules=modules,
        permissions=frozenset({"import", "export"}),
        description="Works records; no settings",
    )
    return administrator, standard


def init_org(
    app: Secteur,
    *,
    org_name: str,
    admin_email: str,
    admin_password: str | None,
    admin_last_name: str = "Administrator",
    admin_first_name: str | None = None,
    time_zone: str = "UTC",
    currency: str = "EUR",
    country: str | None = None,
    org_type: OrgType = OrgType.PRODUCTION,
) -> InitResult:
    """A fresh org: schema, standard modules, root role, the two profiles and the admin user."""
    upgrade_schema(app)
    if is_initialised(app):
        raise ServiceError("ALREADY_INITIALISED", "this database already holds an org")
    password_hash = hash_password(admin_password) if admin_password else None
    with app.write() as tx:
        now, conn = tx.now, tx.conn
        org_id = conn.execute(
            t.org.insert()
            .values(
                name=org_name,
                zgid=str(secrets.randbelow(10**9) + 10**9),
                time_zone=time_zone,
                currency=currency,
                country=country,
                type=org_type.value,
                primary_email=admin_email,
                settings={},
                **directory_repo.stamp(now, None),
            )
            .returning(t.org.c.id)
        ).scalar_one()
        for module in standard_modules():
            metadata_repo.insert_module(conn, module, now)
            create_module_table(conn, module)
            if module.api_name == "Deals":
                install_forecasts(conn, module, ForecastSettings())
        root = directory_repo.insert_role(
            conn, ROOT_ROLE, None, False, "Top of the role hierarchy", now, None
        )
        administrator, standard = standard_profiles()
        admin_profile = directory_repo.insert_profile(conn, administrator, now, None)
        directory_repo.insert_profile(conn, standard, now, None)
        admin_id = directory_repo.insert_user(
            conn,
            {
                "first_name": admin_first_name,
                "last_name": admin_last_name,
                "email": admin_email,
                "status": UserStatus.ACTIVE.value,
                "role_id": root,
                "profile_id": admin_profile,
                "time_zone": time_zone,
                "password_hash": password_hash,
            },
            now,
            None,
        )
        tx.metadata_changed()
    return InitResult(org_id=int(org_id), admin_id=admin_id)
