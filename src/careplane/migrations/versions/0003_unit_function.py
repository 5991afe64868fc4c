"""unit function: the kind of work each business unit does, which decides its staff's access

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:05:00

The six seeded units are given their own code as their function. Any other unit existing before
this revision is left without one (its staff then hold no patient permissions) until an
operations lead recreates it with a function; there were none outside development.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SIX = ("virtual_care", "primary_care", "pharmacy", "revenue_cycle", "benefits", "health_tech")


def upgrade() -> None:
    op.add_column("org_units", sa.Column("function", sa.String(length=40), nullable=True))
    units = sa.table("org_units", sa.column("code", sa.String), sa.column("function", sa.String))
    op.execute(units.update().where(units.c.code.in_(_SIX)).values(function=units.c.code))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), not batch mode: rebuilding org_units would delete its rows first.
    op.drop_column("org_units", "function")
