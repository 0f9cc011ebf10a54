"""Initial mission store: missions, their transitions and releases, API users.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Written out column by column (not generated from the models at run time) so that this
revision means the same thing forever; a test checks the result against the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "missions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("template", sa.String(), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("submitted_by", sa.String(), nullable=False),
        sa.Column("approved_by", sa.String(), nullable=True),
        sa.Column("idempotency_key", sa.String(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("robot", sa.String(), nullable=True),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_missions"),
        sa.UniqueConstraint("idempotency_key", name="uq_missions_idempotency_key"),
    )
    for column in ("template", "site", "priority", "state", "created_at"):
        op.create_index(f"ix_missions_{column}", "missions", [column])

    op.create_table(
        "mission_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mission_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(), nullable=True),
        sa.Column("to_state", sa.String(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mission_transitions"),
        sa.ForeignKeyConstraint(
            ["mission_id"],
            ["missions.id"],
            name="fk_mission_transitions_mission_id_missions",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("mission_id", "seq", name="uq_mission_transitions_mission_id"),
    )

    op.create_table(
        "mission_releases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mission_id", sa.String(), nullable=False),
        sa.Column("occurrence", _utc(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mission_releases"),
        sa.ForeignKeyConstraint(
            ["mission_id"],
            ["missions.id"],
            name="fk_mission_releases_mission_id_missions",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("mission_id", "occurrence", name="uq_mission_releases_mission_id"),
    )

    op.create_table(
        "users",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_users"),
        sa.UniqueConstraint("token_hash", name="uq_users_token_hash"),
    )


def downgrade() -> None:
    op.drop_table("users")
    op.drop_table("mission_releases")
    op.drop_table("mission_transitions")
    for column in ("template", "site", "priority", "state", "created_at"):
        op.drop_index(f"ix_missions_{column}", table_name="missions")
    op.drop_table("missions")
