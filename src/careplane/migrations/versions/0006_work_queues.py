"""work queues: declared queues (a stable key, who works them), items needing licensure in a state,
when an item was claimed and closed, and a queue's open items listed by deadline

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 13:40:00

The tables keep their names (org_work_queues, org_work_items) now that their models live in
careplane.kernel.work. Existing queues get no key and are open to their unit's staff in any role,
as they were; existing items need no licence.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careplane.kernel.db import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("org_work_queues", sa.Column("key", sa.String(length=80), nullable=True))
    op.add_column("org_work_queues", sa.Column("open_to", sa.String(length=10), nullable=False, server_default="unit"))
    op.add_column("org_work_queues", sa.Column("roles", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column("org_work_queues", sa.Column("licence_kinds", sa.JSON(), nullable=False, server_default="[]"))
    op.create_index("ix_org_work_queues_key", "org_work_queues", ["key"], unique=True)

    op.add_column("org_work_items", sa.Column("state", sa.String(length=2), nullable=True))
    op.add_column("org_work_items", sa.Column("claimed_at", UTCDateTime(), nullable=True))
    op.add_column("org_work_items", sa.Column("closed_at", UTCDateTime(), nullable=True))
    op.add_column("org_work_items", sa.Column("closed_by", sa.String(length=254), nullable=True))
    op.drop_index("ix_org_work_items_queue_status", table_name="org_work_items")
    op.create_index("ix_org_work_items_queue_status_due", "org_work_items", ["queue_id", "status", "due_at"])


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), not batch mode: rebuilding a table others reference would
    # delete its rows first.
    op.drop_index("ix_org_work_items_queue_status_due", table_name="org_work_items")
    op.create_index("ix_org_work_items_queue_status", "org_work_items", ["queue_id", "status"])
    for column in ("closed_by", "closed_at", "claimed_at", "state"):
        op.drop_column("org_work_items", column)
    op.drop_index("ix_org_work_queues_key", table_name="org_work_queues")
    for column in ("licence_kinds", "roles", "open_to", "key"):
        op.drop_column("org_work_queues", column)
