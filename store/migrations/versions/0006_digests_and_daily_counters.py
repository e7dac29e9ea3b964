"""daily counters per integration (integration_days) and quarterly digests (digests)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:00:00

Two new tables, nothing else touched. ``integration_days`` is what quarterly digests read for
two years, long after full runs are pruned; ``digests`` keeps each quarter's numbers and whether
they reached Slack.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integration_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("sweeps", sa.Integer(), nullable=False),
        sa.Column("diagnoses", sa.Integer(), nullable=False),
        sa.Column("healthy_sweeps", sa.Integer(), nullable=False),
        sa.Column("connected_sweeps", sa.Integer(), nullable=False),
        sa.Column("healthy_runs", sa.Integer(), nullable=False),
        sa.Column("connected_runs", sa.Integer(), nullable=False),
        sa.Column("checks_run", sa.Integer(), nullable=False),
        sa.Column("findings_by_code", sa.JSON(), nullable=False),
        sa.Column("new_by_code", sa.JSON(), nullable=False),
        sa.Column("invoices_blocked_max", sa.Integer(), nullable=False),
        sa.Column("invoices_blocked_last", sa.Integer(), nullable=False),
        sa.Column("blocked_amounts_last", sa.JSON(), nullable=False),
        sa.Column("blocked", sa.JSON(), nullable=False),
        sa.Column("blocked_last", sa.JSON(), nullable=False),
        sa.Column("first_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failing", sa.Boolean(), nullable=False),
        sa.Column("last_healthy_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_failing_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detections", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration", "day", name="uq_integration_day"),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=100), nullable=True),
        sa.Column("message_ts", sa.String(length=40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("quarter"),
    )


def downgrade() -> None:
    op.drop_table("digests")
    op.drop_table("integration_days")
