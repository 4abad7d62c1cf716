"""forecasts, targets and snapshots

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from secteur.adapters.db.tables import seed_id_sequence
from secteur.adapters.db.types import UTCDateTime, id_start

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _id(table: str) -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.Identity(always=False, start=id_start(table)),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "forecasts",
        _id("forecasts"),
        sa.Column("hierarchy", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("period_kind", sa.String(length=16), nullable=False),
        sa.Column("fiscal_year_start_month", sa.Integer(), nullable=False),
        sa.Column("fiscal_year_naming", sa.String(length=8), nullable=False),
        sa.Column("exclusions", sa.JSON(), nullable=False),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.Column("modified_time", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("modified_by", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecasts")),
        sa.UniqueConstraint("hierarchy", "period", name=op.f("uq_forecasts_hierarchy_period")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "forecast_targets",
        sa.Column("forecast_id", sa.BigInteger(), nullable=False),
        sa.Column("node_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("set_by", sa.BigInteger(), nullable=True),
        sa.Column("set_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["forecast_id"],
            ["forecasts.id"],
            name=op.f("fk_forecast_targets_forecast_id_forecasts"),
        ),
        sa.PrimaryKeyConstraint(
            "forecast_id", "node_id", "user_id", name=op.f("pk_forecast_targets")
        ),
    )
    op.create_table(
        "forecast_snapshots",
        _id("forecast_snapshots"),
        sa.Column("forecast_id", sa.BigInteger(), nullable=False),
        sa.Column("taken_time", UTCDateTime(), nullable=False),
        sa.Column("taken_by", sa.BigInteger(), nullable=True),
        sa.Column("scheduled", sa.Boolean(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["forecast_id"],
            ["forecasts.id"],
            name=op.f("fk_forecast_snapshots_forecast_id_forecasts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_snapshots")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("forecast_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forecast_snapshots_forecast_id"), ["forecast_id"], unique=False
        )
    for table in ("forecasts", "forecast_snapshots"):
        seed_id_sequence(op.get_bind(), table)


def downgrade() -> None:
    with op.batch_alter_table("forecast_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forecast_snapshots_forecast_id"))
    op.drop_table("forecast_snapshots")
    op.drop_table("forecast_targets")
    op.drop_table("forecasts")
