"""video visits: clinicians' weekly hours and one-off changes, and the bookings of video visits
(one clinician, one start: unique among bookings not cancelled)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careplane.kernel.db import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ACTIVE = sa.text("cancelled_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "vc_weekly_hours",
        sa.Column("clinician_staff_id", sa.Uuid(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.Column("zone", sa.String(length=60), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinician_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_vc_weekly_hours_clinician_staff_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vc_weekly_hours")),
    )
    op.create_index(op.f("ix_vc_weekly_hours_clinician_staff_id"), "vc_weekly_hours", ["clinician_staff_id"])
    op.create_table(
        "vc_hours_changes",
        sa.Column("clinician_staff_id", sa.Uuid(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=True),
        sa.Column("ends", sa.Time(), nullable=True),
        sa.Column("zone", sa.String(length=60), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinician_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_vc_hours_changes_clinician_staff_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vc_hours_changes")),
        sa.UniqueConstraint("clinician_staff_id", "on", name="uq_vc_hours_changes_day"),
    )
    op.create_table(
        "vc_bookings",
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("clinician_staff_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("reminded_day_before_at", UTCDateTime(), nullable=True),
        sa.Column("reminded_hour_before_at", UTCDateTime(), nullable=True),
        sa.Column("checked_in_at", UTCDateTime(), nullable=True),
        sa.Column("patient_joined_at", UTCDateTime(), nullable=True),
        sa.Column("clinician_joined_at", UTCDateTime(), nullable=True),
        sa.Column("no_show_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinician_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_vc_bookings_clinician_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["vc_visits.id"], name=op.f("fk_vc_bookings_visit_id_vc_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vc_bookings")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_vc_bookings_visit_id")),
    )
    op.create_index("ix_vc_bookings_starts_at", "vc_bookings", ["starts_at"])
    op.create_index(
        "uq_vc_bookings_active_slot",
        "vc_bookings",
        ["clinician_staff_id", "starts_at"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_vc_bookings_active_slot", table_name="vc_bookings")
    op.drop_index("ix_vc_bookings_starts_at", table_name="vc_bookings")
    op.drop_table("vc_bookings")
    op.drop_table("vc_hours_changes")
    op.drop_index(op.f("ix_vc_weekly_hours_clinician_staff_id"), table_name="vc_weekly_hours")
    op.drop_table("vc_weekly_hours")
