"""forecast branches

Revision ID: 0006
Revises: 0005

The territory-ancestor table, the branch and owner totals of ADR 0012, and Σ probability in the
forecast cells (a quantity forecast's weighted pipeline). Their triggers and contents are the
forecast triggers' (`forecast_triggers.installed` is false until then):
`services.setup.upgrade_schema` reinstalls them after migrating, which fills every new table and
column.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MEASURES = ("deals", "amount_cents", "weighted_cents", "probability_sum")


def _branch_columns(node: str = "territory_id") -> list[sa.Column[Any]]:
    return [
        sa.Column(node, sa.BigInteger(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=120), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in MEASURES),
    ]


def upgrade() -> None:
    from secteur.adapters.db.forecast_triggers import drop_forecast_triggers

    drop_forecast_triggers(op.get_bind())
    with op.batch_alter_table("forecast_cells") as batch:
        batch.add_column(
            sa.Column("probability_sum", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_index("ix_forecast_cells_owner", "forecast_cells", ["owner_id", "month"])
    op.create_table(
        "territory_ancestors",
        sa.Column("territory_id", sa.BigInteger(), nullable=False),
        sa.Column("ancestor_id", sa.BigInteger(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("territory_id", "ancestor_id", name=op.f("pk_territory_ancestors")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_territory_ancestors_ancestor", "territory_ancestors", ["ancestor_id", "territory_id"]
    )
    op.create_table(
        "forecast_branches",
        *_branch_columns(),
        sa.PrimaryKeyConstraint(
            "territory_id", "month", "stage", name=op.f("pk_forecast_branches")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table("forecast_branch_deltas", *_branch_columns())
    op.create_index(
        "ix_forecast_branch_deltas_branch", "forecast_branch_deltas", ["territory_id", "month"]
    )
    op.create_table(
        "forecast_owner_totals",
        *_branch_columns("owner_id"),
        sa.PrimaryKeyConstraint(
            "month", "owner_id", "stage", name=op.f("pk_forecast_owner_totals")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table("forecast_owner_deltas", *_branch_columns("owner_id"))
    op.create_index("ix_forecast_owner_deltas_month", "forecast_owner_deltas", ["month"])


def downgrade() -> None:
    from secteur.adapters.db.forecast_triggers import drop_forecast_triggers

    drop_forecast_triggers(op.get_bind())
    op.drop_table("forecast_owner_deltas")
    op.drop_table("forecast_owner_totals")
    op.drop_table("forecast_branch_deltas")
    op.drop_table("forecast_branches")
    op.drop_table("territory_ancestors")
    op.drop_index("ix_forecast_cells_owner", table_name="forecast_cells")
    with op.batch_alter_table("forecast_cells") as batch:
        batch.drop_column("probability_sum")
