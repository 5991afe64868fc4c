"""audit key id: the audit chain is sealed with an HMAC key, and each sealed row names its key

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:50:00

Rows sealed before this revision keep an empty key_id: they were sealed with plain SHA-256 and
still verify that way, reported as legacy rows; the first keyed row links onto the last of them.
They cannot be re-sealed under a key, because the append-only triggers of 0004 refuse any change
to a sealed row, and should not be: re-sealing would vouch for rows nobody can vouch for now.

The triggers need no change: key_id is part of the seal, not of what a row says, so the sealer's
UPDATE may set it together with seq and hash on a waiting row, and a sealed row's key_id is as
frozen as its hash.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("key_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), not batch mode: rebuilding audit_log would delete its rows,
    # which the append-only triggers refuse.
    op.drop_column("audit_log", "key_id")
