"""The fixed part of the schema. Module record tables are built from metadata in `records_schema`.

One database (a SQLite file or a PostgreSQL database/schema) holds one org: a sandbox is
another database, so no table carries an org id (ADR 0003).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from secteur.adapters.db.types import UTCDateTime, id_column, id_start, ref

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


def seed_id_sequence(connection: sa.Connection, table_name: str) -> None:
    """Make SQLite hand out the table's ids from its first id, as PostgreSQL's identity does."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
            (table_name, id_start(table_name) - 1),
        )


def _table(name: str, *columns: Any) -> sa.Table:
    """A table whose `id` is assigned by the database from its first id."""
    table = sa.Table(name, metadata, id_column(name), *columns, sqlite_autoincrement=True)

    @event.listens_for(table, "after_create")
    def _seed(target: sa.Table, connection: sa.Connection, **_: Any) -> None:
        seed_id_sequence(connection, target.name)

    return table


def _stamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_time", UTCDateTime, nullable=False),
        sa.Column("modified_time", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.BigInteger, nullable=True),
        sa.Column("modified_by", sa.BigInteger, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    ]


org = _table(
    "org",
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("zgid", sa.String(32), nullable=False),
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("country", sa.String(100), nullable=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("primary_email", sa.String(200), nullable=True),
    sa.Column("production_org_id", sa.BigInteger, nullable=True),
    # Bumped on every metadata change so that every process reloads its metadata cache.
    sa.Column("metadata_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("settings", sa.JSON, nullable=False, default=dict),
    *_stamps(),
)

roles = _table(
    "roles",
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("description", sa.String(500), nullable=True),
    ref("reporting_to", "roles.id", index=True),
    sa.Column("share_with_peers", sa.Boolean, nullable=False, server_default=sa.false()),
    *_stamps(),
)

profiles = _table(
    "profiles",
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("description", sa.String(500), nullable=True),
    sa.Column("custom", sa.Boolean, nullable=False),
    # {"admin": bool, "modules": {"Accounts": {"view": bool, "create": …}}, "permissions": {…}}
    sa.Column("permissions", sa.JSON, nullable=False),
    *_stamps(),
)

users = _table(
    "users",
    sa.Column("first_name", sa.String(100), nullable=True),
    sa.Column("last_name", sa.String(100), nullable=False),
    sa.Column("email", sa.String(200), nullable=False),
    # Lower-cased e-mail: the login and the uniqueness key.
    sa.Column("email_key", sa.String(200), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),
    ref("role_id", "roles.id", nullable=False, index=True),
    ref("profile_id", "profiles.id", nullable=False),
    ref("reporting_to", "users.id"),
    sa.Column("phone", sa.String(30), nullable=True),
    sa.Column("time_zone", sa.String(64), nullable=True),
    sa.Column("locale", sa.String(16), nullable=True),
    sa.Column("password_hash", sa.String(200), nullable=True),
    *_stamps(),
)

modules = _table(
    "modules",
    sa.Column("api_name", sa.String(50), nullable=False, unique=True),
    sa.Column("singular_label", sa.String(100), nullable=False),
    sa.Column("plural_label", sa.String(100), nullable=False),
    sa.Column("table_name", sa.String(60), nullable=False, unique=True),
    sa.Column("display_field", sa.String(50), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    *_stamps(),
)

fields = _table(
    "fields",
    ref("module_id", "modules.id", nullable=False, index=True),
    sa.Column("api_name", sa.String(50), nullable=False),
    sa.Column("api_name_key", sa.String(50), nullable=False),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("data_type", sa.String(32), nullable=False),
    sa.Column("column_name", sa.String(60), nullable=False),
    sa.Column("mandatory", sa.Boolean, nullable=False),
    sa.Column("custom", sa.Boolean, nullable=False),
    sa.Column("read_only", sa.Boolean, nullable=False),
    sa.Column("system", sa.Boolean, nullable=False),
    sa.Column("length", sa.Integer, nullable=True),
    sa.Column("decimal_place", sa.Integer, nullable=True),
    sa.Column("picklist", sa.JSON, nullable=False),
    sa.Column("lookup_module", sa.String(50), nullable=True),
    sa.Column("sequence", sa.Integer, nullable=False),
    *_stamps(),
    sa.UniqueConstraint("module_id", "api_name_key"),
)

layouts = _table(
    "layouts",
    ref("module_id", "modules.id", nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    *_stamps(),
)

# OAuth: every secret is stored as a SHA-256 digest of a high-entropy random value (ADR 0004).
oauth_clients = _table(
    "oauth_clients",
    sa.Column("client_id", sa.String(64), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("redirect_uri", sa.String(500), nullable=True),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    *_stamps(),
)

oauth_grants = _table(
    "oauth_grants",
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    ref("client_id", "oauth_clients.id", nullable=False),
    ref("user_id", "users.id", nullable=False),
    sa.Column("scopes", sa.String(2000), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),
    sa.Column("created_time", UTCDateTime, nullable=False),
)

oauth_refresh_tokens = _table(
    "oauth_refresh_tokens",
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    ref("client_id", "oauth_clients.id", nullable=False),
    ref("user_id", "users.id", nullable=False),
    sa.Column("scopes", sa.String(2000), nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("created_time", UTCDateTime, nullable=False),
)

oauth_access_tokens = _table(
    "oauth_access_tokens",
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    ref("client_id", "oauth_clients.id", nullable=True),
    ref("refresh_token_id", "oauth_refresh_tokens.id", index=True),
    ref("user_id", "users.id", nullable=False),
    sa.Column("scopes", sa.String(2000), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("created_time", UTCDateTime, nullable=False),
)

audit_events = _table(
    "audit_events",
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor_id", sa.BigInteger, nullable=True),
    # "record" or a configuration resource: "field", "role", "profile", "user", "org", …
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("module", sa.String(50), nullable=True),
    sa.Column("entity_id", sa.BigInteger, nullable=False),
    # "create", "update", "delete", "restore", …
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
    sa.Index("ix_audit_events_entity", "entity", "module", "entity_id", "id"),
)

# Side effects written in the saving transaction and delivered after commit (00-product.md step 7).
outbox = _table(
    "outbox",
    sa.Column("created_time", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("deliver_after", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.String(2000), nullable=True),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Index("ix_outbox_pending", "delivered_at", "deliver_after"),
)

# The recycle bin: a deleted record leaves its module table (so live queries and indexes never
# carry dead rows) and waits here, whole, to be listed or restored.
deleted_records = sa.Table(
    "deleted_records",
    metadata,
    sa.Column("module", sa.String(50), primary_key=True),
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("display_name", sa.String(255), nullable=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("owner_id", sa.BigInteger, nullable=True),
    sa.Column("created_by", sa.BigInteger, nullable=True),
    sa.Column("deleted_by", sa.BigInteger, nullable=True),
    sa.Column("deleted_time", UTCDateTime, nullable=False),
    sa.Index("ix_deleted_records_time", "module", "deleted_time"),
)


# Territories (territories.md). A deleted territory is archived, never removed: past forecasts
# and the audit trail still name it (TER-7).
territories = _table(
    "territories",
    sa.Column("name", sa.String(100), nullable=False),
    ref("parent_id", "territories.id", index=True),
    sa.Column("sequence", sa.Integer, nullable=False),
    ref("manager_id", "users.id"),
    sa.Column("permission", sa.String(20), nullable=False),
    sa.Column("description", sa.String(250), nullable=True),
    # Module api name → the rule's criteria JSON, as given (TER-5).
    sa.Column("rules", sa.JSON, nullable=False, default=dict),
    sa.Column("archived_time", UTCDateTime, nullable=True),
    *_stamps(),
)

territory_members = sa.Table(
    "territory_members",
    metadata,
    ref("territory_id", "territories.id", nullable=False),
    ref("user_id", "users.id", nullable=False, index=True),
    sa.Column("added_by", sa.BigInteger, nullable=True),
    sa.Column("added_time", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("territory_id", "user_id"),
)

# A record's territories: the automatic set (rules) and the manual set (people) side by side,
# never overwriting each other (TER-16, TER-21). Ids are unique across modules (ADR 0006).
record_territories = sa.Table(
    "record_territories",
    metadata,
    sa.Column("record_id", sa.BigInteger, nullable=False),
    ref("territory_id", "territories.id", nullable=False),
    sa.Column("module", sa.String(50), nullable=False),
    sa.Column("manual", sa.Boolean, nullable=False),
    sa.Column("assigned_by", sa.BigInteger, nullable=True),
    sa.Column("assigned_time", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("record_id", "territory_id"),
    # Visibility and `territory_id` list filters go from territories to records.
    sa.Index("ix_record_territories_territory", "territory_id", "module", "record_id"),
)

# Background jobs (run rules, previews…), claimed by exactly one worker (ADR 0008).
jobs = _table(
    "jobs",
    sa.Column("kind", sa.String(32), nullable=False),
    # "QUEUED" | "IN_PROGRESS" | "COMPLETED" | "FAILED"
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("progress_done", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("progress_total", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_by", sa.BigInteger, nullable=True),
    sa.Column("created_time", UTCDateTime, nullable=False),
    sa.Column("started_time", UTCDateTime, nullable=True),
    sa.Column("finished_time", UTCDateTime, nullable=True),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.String(2000), nullable=True),
    sa.Index("ix_jobs_pending", "status", "kind"),
)

# Web sessions (ADR 0010): the cookie holds a random token; only its digest is stored.
web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    ref("user_id", "users.id", nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_time", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

# Failed sign-ins by e-mail and by client address, for throttling across processes.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_login_failures_key_at", "key", "at"),
)

# One-time links to set a password (users created through the API, the CLI or the admin page).
password_links = sa.Table(
    "password_links",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    ref("user_id", "users.id", nullable=False, index=True),
    sa.Column("created_by", sa.BigInteger, nullable=True),
    sa.Column("created_time", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),
)

# Deals summed by (territory, owner, month, stage), kept by database triggers in the transaction
# of every write (ADR 0011, `forecast_triggers`). Integer cents, so that the sums never drift
# from a recomputation. territory_id 0: no territory; month yyyymm, 0: no date; stage '': none.
forecast_cells = sa.Table(
    "forecast_cells",
    metadata,
    sa.Column("territory_id", sa.BigInteger, nullable=False),
    sa.Column("owner_id", sa.BigInteger, nullable=False),
    sa.Column("month", sa.Integer, nullable=False),
    sa.Column("stage", sa.String(120), nullable=False),
    sa.Column("deals", sa.BigInteger, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("weighted_cents", sa.BigInteger, nullable=False),
    # Σ probability in hundredths of a percent: a quantity forecast's weighted pipeline.
    sa.Column("probability_sum", sa.BigInteger, nullable=False, server_default="0"),
    # Month first: every read is a period's months. On SQLite the table is the primary key's
    # b-tree itself (WITHOUT ROWID), which makes a trigger's upsert a third as costly.
    sa.PrimaryKeyConstraint("month", "territory_id", "owner_id", "stage"),
    # A member's figures read their own cells only (FC-10).
    sa.Index("ix_forecast_cells_owner", "owner_id", "month"),
    sqlite_with_rowid=False,
)

# Each active territory with itself and each of its ancestors (depth 0: itself), kept by
# triggers on `territories` (ADR 0012): a branch's totals and a subtree's members without
# recursion, which SQLite's triggers cannot do.
territory_ancestors = sa.Table(
    "territory_ancestors",
    metadata,
    sa.Column("territory_id", sa.BigInteger, nullable=False),
    sa.Column("ancestor_id", sa.BigInteger, nullable=False),
    sa.Column("depth", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("territory_id", "ancestor_id"),
    sa.Index("ix_territory_ancestors_ancestor", "ancestor_id", "territory_id"),
    sqlite_with_rowid=False,
)


def _rollup_tables(
    name: str, deltas: str, key: tuple[str, str, str], delta_index: tuple[str, ...]
) -> tuple[sa.Table, sa.Table]:
    """A rollup of the forecast cells (ADR 0012): its rows, keyed by `key` (its node, month
    and stage, in the key's order), and PostgreSQL's appended changes, unkeyed."""
    [node] = [k for k in key if k not in ("month", "stage")]

    def columns() -> list[sa.Column[Any]]:
        return [
            sa.Column(node, sa.BigInteger, nullable=False),
            sa.Column("month", sa.Integer, nullable=False),
            sa.Column("stage", sa.String(120), nullable=False),
            *(
                sa.Column(m, sa.BigInteger, nullable=False)
                for m in ("deals", "amount_cents", "weighted_cents", "probability_sum")
            ),
        ]

    rows = sa.Table(
        name, metadata, *columns(), sa.PrimaryKeyConstraint(*key), sqlite_with_rowid=False
    )
    changes = sa.Table(
        deltas, metadata, *columns(), sa.Index(f"ix_{deltas}_{delta_index[-1]}", *delta_index)
    )
    return rows, changes


# The forecast cells of a territory and all its descendants, by month and stage (ADR 0012): a
# root summary reads a few rows instead of every territory's. SQLite's triggers add to these
# rows; PostgreSQL's append to `forecast_branch_deltas` instead (no row every writer waits
# for), which the worker folds in here. A branch's totals are its rows plus its deltas.
forecast_branches, forecast_branch_deltas = _rollup_tables(
    "forecast_branches",
    "forecast_branch_deltas",
    ("territory_id", "month", "stage"),
    ("territory_id", "month"),
)
# Each owner's cells by month and stage, kept alike (ADR 0012): what role forecasts read.
forecast_owner_totals, forecast_owner_deltas = _rollup_tables(
    "forecast_owner_totals", "forecast_owner_deltas", ("month", "owner_id", "stage"), ("month",)
)

# Forecasts (forecasts.md): one per (hierarchy kind, period) (FC-3). The period is kept with the
# fiscal calendar it was created under, so that a later change of the fiscal-year settings does
# not silently move an existing forecast's months.
forecasts = _table(
    "forecasts",
    sa.Column("hierarchy", sa.String(16), nullable=False),  # "territory" | "role"
    sa.Column("period", sa.String(16), nullable=False),  # "2027-Q1" | "2027-03"
    sa.Column("period_kind", sa.String(16), nullable=False),  # "quarterly" | "monthly"
    sa.Column("fiscal_year_start_month", sa.Integer, nullable=False),
    sa.Column("fiscal_year_naming", sa.String(8), nullable=False),
    # FC-13: {"territories": [ids], "roles": [ids], "users": [ids]}
    sa.Column("exclusions", sa.JSON, nullable=False),
    *_stamps(),
    sa.UniqueConstraint("hierarchy", "period"),
)

# FC-4: a node's target (user_id 0) or a member's target within the node. Hundredths of the
# forecast's unit (cents of revenue, or hundredths of a deal), so that sums are exact.
forecast_targets = sa.Table(
    "forecast_targets",
    metadata,
    ref("forecast_id", "forecasts.id", nullable=False),
    sa.Column("node_id", sa.BigInteger, nullable=False),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("set_by", sa.BigInteger, nullable=True),
    sa.Column("set_time", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("forecast_id", "node_id", "user_id"),
)

# FC-12 Beyond: a forecast's summary rows as they were at a moment, to compare with later.
forecast_snapshots = _table(
    "forecast_snapshots",
    ref("forecast_id", "forecasts.id", nullable=False, index=True),
    sa.Column("taken_time", UTCDateTime, nullable=False),
    sa.Column("taken_by", sa.BigInteger, nullable=True),
    sa.Column("scheduled", sa.Boolean, nullable=False),
    sa.Column("rows", sa.JSON, nullable=False),
)
