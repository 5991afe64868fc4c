"""pharmacy prescriptions: what Pharmacy receives from Virtual Care and its pharmacists verify
(one row per signed prescription: unique source and source id; a unique human-facing rx number)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careplane.kernel.db import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rx_prescriptions",
        sa.Column("rx_number", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("drug_id", sa.String(length=120), nullable=False),
        sa.Column("drug_name", sa.String(length=200), nullable=False),
        sa.Column("sig", sa.String(length=500), nullable=False),
        sa.Column("quantity", sa.String(length=20), nullable=False),
        sa.Column("refills", sa.Integer(), nullable=False),
        sa.Column("prescriber_staff_id", sa.Uuid(), nullable=False),
        sa.Column("prescriber_npi", sa.String(length=10), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("alerts", sa.JSON(), nullable=False),
        sa.Column("work_item_id", sa.Uuid(), nullable=True),
        sa.Column("verified_by", sa.Uuid(), nullable=True),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_rx_prescriptions_patient_id_patients")),
        sa.ForeignKeyConstraint(
            ["prescriber_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_rx_prescriptions_prescriber_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["work_item_id"], ["org_work_items.id"], name=op.f("fk_rx_prescriptions_work_item_id_org_work_items")
        ),
        sa.ForeignKeyConstraint(
            ["verified_by"], ["staff_members.id"], name=op.f("fk_rx_prescriptions_verified_by_staff_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rx_prescriptions")),
        sa.UniqueConstraint("rx_number", name=op.f("uq_rx_prescriptions_rx_number")),
        sa.UniqueConstraint("source", "source_id", name=op.f("uq_rx_prescriptions_source_source_id")),
    )
    op.create_index(op.f("ix_rx_prescriptions_status"), "rx_prescriptions", ["status"])
    op.create_index("ix_rx_prescriptions_patient_status", "rx_prescriptions", ["patient_id", "status"])


def downgrade() -> None:
    op.drop_table("rx_prescriptions")
