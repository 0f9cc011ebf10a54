"""Alerts (issue 5): the alerts table and the image crops of their evidence.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

Written out column by column, like 0001; a test checks the result against the models and
that a database at 0001 with missions in it upgrades without losing any.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXED = ("key", "severity_rank", "hazard", "robot", "raised_at")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("severity_rank", sa.Integer(), nullable=False),
        sa.Column("hazard", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("x_m", sa.Float(), nullable=True),
        sa.Column("y_m", sa.Float(), nullable=True),
        sa.Column("map_id", sa.String(), nullable=True),
        sa.Column("robot", sa.String(), nullable=True),
        sa.Column("mission", sa.String(), nullable=True),
        sa.Column("readings", sa.JSON(), nullable=False),
        sa.Column("raised_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=False),
        sa.Column("cleared_at", _utc(), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("peak", sa.Float(), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("acknowledged_at", _utc(), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    for column in _INDEXED:
        op.create_index(f"ix_alerts_{column}", "alerts", [column])

    op.create_table(
        "alert_images",
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("bbox_x", sa.Integer(), nullable=False),
        sa.Column("bbox_y", sa.Integer(), nullable=False),
        sa.Column("bbox_w", sa.Integer(), nullable=False),
        sa.Column("bbox_h", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name="pk_alert_images"),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name="fk_alert_images_alert_id_alerts",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("alert_images")
    for column in _INDEXED:
        op.drop_index(f"ix_alerts_{column}", table_name="alerts")
    op.drop_table("alerts")
