"""virtual care visits: the visit (intake answers, price, payment, work item, clinician, note,
outcome, rating), its messages with image attachments, and the prescriptions signed in it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careplane.kernel.db import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vc_visits",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("condition_code", sa.String(length=60), nullable=False),
        sa.Column("visit_type", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("at_home", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("work_item_id", sa.Uuid(), nullable=True),
        sa.Column("clinician_staff_id", sa.Uuid(), nullable=True),
        sa.Column("advice_level", sa.String(length=20), nullable=True),
        sa.Column("advice", sa.Text(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("queued_at", UTCDateTime(), nullable=True),
        sa.Column("reply_due_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("first_reply_at", UTCDateTime(), nullable=True),
        sa.Column("promise_warned_at", UTCDateTime(), nullable=True),
        sa.Column("promise_broken_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("follow_up_until", UTCDateTime(), nullable=True),
        sa.Column("subjective", sa.Text(), nullable=True),
        sa.Column("objective", sa.Text(), nullable=True),
        sa.Column("assessment", sa.Text(), nullable=True),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("clinician_minutes", sa.Integer(), nullable=True),
        sa.Column("cpt_code", sa.String(length=5), nullable=True),
        sa.Column("referral_reason", sa.Text(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_vc_visits_patient_id_patients")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_vc_visits_payment_id_payments")),
        sa.ForeignKeyConstraint(
            ["work_item_id"], ["org_work_items.id"], name=op.f("fk_vc_visits_work_item_id_org_work_items")
        ),
        sa.ForeignKeyConstraint(
            ["clinician_staff_id"], ["staff_members.id"], name=op.f("fk_vc_visits_clinician_staff_id_staff_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vc_visits")),
    )
    op.create_index("ix_vc_visits_patient_created", "vc_visits", ["patient_id", "created_at"])
    op.create_index(op.f("ix_vc_visits_condition_code"), "vc_visits", ["condition_code"])
    op.create_index(op.f("ix_vc_visits_status"), "vc_visits", ["status"])
    op.create_index(op.f("ix_vc_visits_clinician_staff_id"), "vc_visits", ["clinician_staff_id"])

    op.create_table(
        "vc_messages",
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("author_kind", sa.String(length=10), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["vc_visits.id"], name=op.f("fk_vc_messages_visit_id_vc_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vc_messages")),
    )
    op.create_index(op.f("ix_vc_messages_visit_id"), "vc_messages", ["visit_id"])

    op.create_table(
        "vc_attachments",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["vc_messages.id"], name=op.f("fk_vc_attachments_message_id_vc_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vc_attachments")),
    )
    op.create_index(op.f("ix_vc_attachments_message_id"), "vc_attachments", ["message_id"])

    op.create_table(
        "vc_prescriptions",
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("drug_id", sa.String(length=120), nullable=False),
        sa.Column("drug_name", sa.String(length=200), nullable=False),
        sa.Column("sig", sa.String(length=500), nullable=False),
        sa.Column("quantity", sa.String(length=20), nullable=False),
        sa.Column("refills", sa.Integer(), nullable=False),
        sa.Column("prescriber_staff_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["vc_visits.id"], name=op.f("fk_vc_prescriptions_visit_id_vc_visits")),
        sa.ForeignKeyConstraint(
            ["prescriber_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_vc_prescriptions_prescriber_staff_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vc_prescriptions")),
    )
    op.create_index(op.f("ix_vc_prescriptions_visit_id"), "vc_prescriptions", ["visit_id"])


def downgrade() -> None:
    for table in ("vc_prescriptions", "vc_attachments", "vc_messages", "vc_visits"):
        op.drop_table(table)
