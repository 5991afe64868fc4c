"""payments: card payments of a subject (payments) and what was done to each, under its
idempotency key (payment_operations)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 18:00:00

Money is stored as whole cents (BIGINT), as careplane.kernel.money.MoneyType binds it. The check
constraints keep 0 <= refunded <= captured <= amount and amount > 0 whatever writes the rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careplane.kernel.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("subject_type", sa.String(length=60), nullable=False),
        sa.Column("subject_id", sa.String(length=80), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("captured", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("processor", sa.String(length=30), nullable=False),
        sa.Column("processor_ref", sa.String(length=80), nullable=False),
        sa.Column("card_brand", sa.String(length=20), nullable=False),
        sa.Column("card_last4", sa.String(length=4), nullable=False),
        sa.Column("card_expiry", sa.String(length=7), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("authorised_at", UTCDateTime(), nullable=True),
        sa.Column("captured_at", UTCDateTime(), nullable=True),
        sa.Column("voided_at", UTCDateTime(), nullable=True),
        sa.Column("refunded_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint("captured >= 0 AND captured <= amount", name=op.f("ck_payments_captured_within_amount")),
        sa.CheckConstraint("refunded >= 0 AND refunded <= captured", name=op.f("ck_payments_refunded_within_captured")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_payments_patient_id_patients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index("ix_payments_patient_id", "payments", ["patient_id"])
    op.create_index("ix_payments_subject", "payments", ["subject_type", "subject_id", "created_at"])

    op.create_table(
        "payment_operations",
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("processor_ref", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_operations_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_operations")),
        sa.UniqueConstraint("kind", "idempotency_key", name=op.f("uq_payment_operations_kind_idempotency_key")),
    )
    op.create_index("ix_payment_operations_payment_id", "payment_operations", ["payment_id"])


def downgrade() -> None:
    op.drop_index("ix_payment_operations_payment_id", table_name="payment_operations")
    op.drop_table("payment_operations")
    op.drop_index("ix_payments_subject", table_name="payments")
    op.drop_index("ix_payments_patient_id", table_name="payments")
    op.drop_table("payments")
