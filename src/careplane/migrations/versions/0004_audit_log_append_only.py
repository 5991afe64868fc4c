"""audit log append-only in the database: rows cannot be deleted, and may be updated only to seal them

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 08:40:00

Until now only the application kept the audit log append-only, and `careplane audit verify`
found an edited or deleted row afterwards. These triggers make the database refuse it at once:
an UPDATE may only give an unsealed row its place in the chain (seq, prev_hash, hash,
sealed_at), leaving every audited column as it was; DELETE (and TRUNCATE on PostgreSQL) is
refused. Someone with the database owner's rights can still drop the triggers; verify remains
the check for that.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The audited columns as they are at this revision (a later column needs a new revision).
_AUDITED = (
    "id",
    "occurred_at",
    "actor_user_id",
    "actor_label",
    "actor_roles",
    "action",
    "patient_id",
    "resource_type",
    "resource_id",
    "outcome",
    "reason",
    "ip",
    "via",
    "request_id",
)

_PG_FUNCTION = f"""
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.seq IS NULL AND NEW.seq IS NOT NULL
           AND ({", ".join("NEW." + c for c in _AUDITED)})
               IS NOT DISTINCT FROM ({", ".join("OLD." + c for c in _AUDITED)}) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""

_SQLITE_CHANGED = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _AUDITED)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
        return
    op.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END"
    )
    op.execute(
        f"CREATE TRIGGER audit_log_seal_only BEFORE UPDATE ON audit_log "
        f"WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR {_SQLITE_CHANGED} "
        f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
        return
    op.execute("DROP TRIGGER audit_log_seal_only")
    op.execute("DROP TRIGGER audit_log_no_delete")
