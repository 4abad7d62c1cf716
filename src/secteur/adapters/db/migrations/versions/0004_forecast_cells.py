"""forecast cells

Revision ID: 0004
Revises: 0003

The triggers that keep the cells depend on the deals table's columns and the org's forecast
settings; `services.setup.upgrade_schema` installs them (and fills the cells) after migrating.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecast_cells",
        sa.Column("territory_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=120), nullable=False),
        sa.Column("deals", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("weighted_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "territory_id", "owner_id", "stage", name=op.f("pk_forecast_cells")
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    from secteur.adapters.db.forecast_triggers import drop_forecast_triggers

    drop_forecast_triggers(op.get_bind())
    op.drop_table("forecast_cells")
