"""territories and jobs

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from secteur.adapters.db.tables import seed_id_sequence
from secteur.adapters.db.types import UTCDateTime, id_start

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False, start=id_start("jobs")),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("progress_done", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("progress_total", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.Column("started_time", UTCDateTime(), nullable=True),
        sa.Column("finished_time", UTCDateTime(), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_pending", ["status", "kind"], unique=False)

    op.create_table(
        "territories",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False, start=id_start("territories")),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=True),
        sa.Column("permission", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=250), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("archived_time", UTCDateTime(), nullable=True),
        sa.Column("created_time", UTCDateTime(), nullable=False),
        sa.Column("modified_time", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("modified_by", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["users.id"], name=op.f("fk_territories_manager_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["territories.id"], name=op.f("fk_territories_parent_id_territories")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territories")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("territories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_territories_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "record_territories",
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("territory_id", sa.BigInteger(), nullable=False),
        sa.Column("module", sa.String(length=50), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("assigned_by", sa.BigInteger(), nullable=True),
        sa.Column("assigned_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_record_territories_territory_id_territories"),
        ),
        sa.PrimaryKeyConstraint("record_id", "territory_id", name=op.f("pk_record_territories")),
    )
    with op.batch_alter_table("record_territories", schema=None) as batch_op:
        batch_op.create_index(
            "ix_record_territories_territory", ["territory_id", "module", "record_id"], unique=False
        )

    op.create_table(
        "territory_members",
        sa.Column("territory_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("added_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_territory_members_territory_id_territories"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_territory_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("territory_id", "user_id", name=op.f("pk_territory_members")),
    )
    with op.batch_alter_table("territory_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_territory_members_user_id"), ["user_id"], unique=False)

    for table in ("jobs", "territories"):
        seed_id_sequence(op.get_bind(), table)


def downgrade() -> None:
    with op.batch_alter_table("territory_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_territory_members_user_id"))

    op.drop_table("territory_members")
    with op.batch_alter_table("record_territories", schema=None) as batch_op:
        batch_op.drop_index("ix_record_territories_territory")

    op.drop_table("record_territories")
    with op.batch_alter_table("territories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_territories_parent_id"))

    op.drop_table("territories")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_pending")

    op.drop_table("jobs")
