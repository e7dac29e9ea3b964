"""alerts: at most one open alert per (integration, code), and snoozes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 23:40:00

A unique *partial* index on open alerts (``resolved_at IS NULL``) makes a second open alert for
the same problem impossible, whatever code or how many replicas insert it: the loser of two
inserts at the same instant gets an IntegrityError (``reports/alerts.py`` claims with it).
Both SQLite and PostgreSQL support partial indexes. Open duplicates a database may already
hold (two replicas before this index) are closed first, keeping the oldest, or the index could
not be built.

``snoozed_until`` / ``snoozed_by``: a snooze silences an open alert's re-alerts for a while.
``post_lease_until``: who posts an alert whose earlier post failed is claimed too (a
conditional UPDATE taking a short lease), so two replicas never both re-post it. Plain ``ADD COLUMN``: SQLite never rebuilds the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = "resolved_at IS NULL"


def upgrade() -> None:
    op.add_column("alerts", sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("alerts", sa.Column("snoozed_by", sa.String(length=100), nullable=True))
    op.add_column("alerts", sa.Column("post_lease_until", sa.DateTime(timezone=True), nullable=True))
    # Close open duplicates (the newer ones), so the unique index can be built.
    op.execute(
        "UPDATE alerts SET resolved_at = opened_at WHERE resolved_at IS NULL AND id NOT IN "
        "(SELECT keep FROM (SELECT MIN(id) AS keep FROM alerts WHERE resolved_at IS NULL "
        "GROUP BY integration, code) AS oldest)"
    )
    op.create_index(
        "uq_alerts_open_code",
        "alerts",
        ["integration", "code"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("uq_alerts_open_code", table_name="alerts")
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_column("post_lease_until")
        batch_op.drop_column("snoozed_by")
        batch_op.drop_column("snoozed_until")
