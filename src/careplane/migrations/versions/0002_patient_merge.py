"""patient merge: a merged registration points at the record that replaced it

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:46:40.366642

On SQLite the new column is added in place (``ALTER TABLE ... ADD COLUMN ... REFERENCES``), not with
batch mode: batch mode rebuilds ``patients`` by dropping it, and with foreign keys on, SQLite's
``DROP TABLE`` first deletes every row, cascading to each patient's consents, contacts and
duplicate pairs. Removing the column again needs that rebuild, so the SQLite downgrade refuses
while any row refers to a patient.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import careplane.kernel.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_FK = "fk_patients_merged_into_id_patients"
#: Tables (and columns) whose rows refer to a patient when this revision is applied.
_REFERRING = (
    ("patient_consents", "patient_id"),
    ("patient_emergency_contacts", "patient_id"),
    ("patient_possible_duplicates", "patient_id"),
    ("users", "patient_id"),
    ("org_work_items", "patient_id"),
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    merged_into = sa.Column("merged_into_id", sa.Uuid(), sa.ForeignKey("patients.id", name=_FK), nullable=True)
    op.add_column("patients", merged_into, inline_references=_sqlite())
    op.add_column("patients", sa.Column("merged_at", careplane.kernel.db.UTCDateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_patients_merged_into_id"), "patients", ["merged_into_id"], unique=False)


def downgrade() -> None:
    if _sqlite():
        bind = op.get_bind()
        for table, column in _REFERRING:
            if bind.execute(sa.text(f"SELECT 1 FROM {table} WHERE {column} IS NOT NULL LIMIT 1")).first():
                raise RuntimeError(
                    "Downgrading 0002 on SQLite rebuilds the patients table, which would delete every "
                    f"patient's consents, contacts and duplicate pairs ({table} refers to patients). "
                    "Restore a backup taken before the upgrade instead."
                )
    op.drop_index(op.f("ix_patients_merged_into_id"), table_name="patients")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        if not _sqlite():  # SQLite's inline REFERENCES has no name; the rebuild leaves it out with the column
            batch_op.drop_constraint(batch_op.f(_FK), type_="foreignkey")
        batch_op.drop_column("merged_at")
        batch_op.drop_column("merged_into_id")
