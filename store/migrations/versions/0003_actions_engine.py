"""actions engine: action columns, one step row per invoice / item / contact / link, audit
transitions, and an append-only audit table

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-01 09:00:00

Columns are added with plain ``ALTER TABLE ... ADD COLUMN`` and the unique request key is a
unique index, so SQLite never rebuilds ``actions`` (a rebuild drops the table, and with foreign
keys on that would null ``audit_events.action_id``). ``audit_events`` becomes append-only with
triggers: history is written once and never edited, whatever code runs against the database.
A later migration that rebuilds ``audit_events`` on SQLite (batch mode) must create the
triggers again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = "audit_events is append-only: history is written once and never edited"


def upgrade() -> None:
    for column in (
        sa.Column("label", sa.String(length=300), nullable=True),
        sa.Column("requested_via", sa.String(length=20), nullable=True),
        sa.Column("request_key", sa.String(length=128), nullable=True),
        sa.Column("finding_code", sa.String(length=60), nullable=True),
        sa.Column("finding_subject", sa.String(length=500), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("surface", sa.JSON(), nullable=True),
    ):
        op.add_column("actions", column)
    op.create_index("ix_actions_integration_state", "actions", ["integration", "state"], unique=False)
    op.create_index("uq_actions_request_key", "actions", ["request_key"], unique=True)

    op.create_table(
        "action_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.String(length=200), nullable=True),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=100), nullable=True),
        sa.Column("finding_code", sa.String(length=60), nullable=True),
        sa.Column("reply", sa.JSON(), nullable=True),
        sa.Column("verified", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["action_id"], ["actions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("action_id", "position", name="uq_action_step_position"),
        sa.UniqueConstraint("idempotency_key"),
    )

    op.add_column("audit_events", sa.Column("step_id", sa.Integer(), nullable=True))
    op.add_column("audit_events", sa.Column("before", sa.String(length=30), nullable=True))
    op.add_column("audit_events", sa.Column("after", sa.String(length=30), nullable=True))
    op.create_index("ix_audit_action", "audit_events", ["action_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{verb}")
    op.drop_index("ix_audit_action", table_name="audit_events")
    for name in ("after", "before", "step_id"):
        with op.batch_alter_table("audit_events") as batch_op:
            batch_op.drop_column(name)
    op.drop_table("action_steps")
    op.drop_index("uq_actions_request_key", table_name="actions")
    op.drop_index("ix_actions_integration_state", table_name="actions")
    with op.batch_alter_table("actions") as batch_op:
        for name in (
            "surface",
            "summary",
            "finished_at",
            "started_at",
            "lease_expires_at",
            "claimed_by",
            "decision_note",
            "decided_at",
            "expires_at",
            "plan",
            "finding_subject",
            "finding_code",
            "request_key",
            "requested_via",
            "label",
        ):
            batch_op.drop_column(name)
