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


def _rollup_tables(
    name: str, deltas: str, key: tuple[str, str, str], delta_index: tuple[str, ...]
) -> None:
    [node] = [k for k in key if k not in ("month", "stage")]

    def columns() -> list[sa.Column[Any]]:
        return [
            sa.Column(node, sa.BigInteger(), nullable=False),
            sa.Column("month", sa.Integer(), nullable=False),
            sa.Column("stage", sa.String(length=120), nullable=False),
            *(sa.Column(m, sa.BigInteger(), nullable=False) for m in MEASURES),
        ]

    op.create_table(
        name,
        *columns(),
        sa.PrimaryKeyConstraint(*key, name=op.f(f"pk_{name}")),
        sqlite_with_rowid=False,
    )
    op.create_table(deltas, *columns())
    op.create_index(f"ix_{deltas}_{delta_index[-1]}", deltas, list(delta_index))


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
    _rollup_tables(
        "forecast_branches",
        "forecast_branch_deltas",
        ("territory_id", "month", "stage"),
        ("territory_id", "month"),
    )
    _rollup_tables(
        "forecast_owner_totals", "forecast_owner_deltas", ("month", "owner_id", "stage"), ("month",)
    )


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
