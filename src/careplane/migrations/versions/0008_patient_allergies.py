"""patient allergies: the allergy list (patient_allergies), and "no known allergies" on the patient

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:00:00

The two columns are added to ``patients`` in place and dropped with plain DROP COLUMN (SQLite
3.35+), not in batch mode: rebuilding ``patients`` would drop it first, and with foreign keys on,
SQLite's DROP TABLE deletes every patient's consents, contacts and allergies with it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careplane.kernel.db import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_allergies",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("substance", sa.String(length=120), nullable=False),
        sa.Column("substance_key", sa.String(length=120), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("reaction", sa.String(length=200), nullable=True),
        sa.Column("criticality", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("recorded_by", sa.String(length=254), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("status_changed_by", sa.String(length=254), nullable=True),
        sa.Column("status_changed_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_allergies_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_allergies")),
    )
    op.create_index("ix_patient_allergies_patient_status", "patient_allergies", ["patient_id", "status"])
    op.add_column("patients", sa.Column("no_known_allergies_at", UTCDateTime(), nullable=True))
    op.add_column("patients", sa.Column("no_known_allergies_by", sa.String(length=254), nullable=True))


def downgrade() -> None:
    op.drop_column("patients", "no_known_allergies_by")
    op.drop_column("patients", "no_known_allergies_at")
    op.drop_index("ix_patient_allergies_patient_status", table_name="patient_allergies")
    op.drop_table("patient_allergies")
