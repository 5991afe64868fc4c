"""The database itself keeps the audit log append-only: it refuses to delete a row, or to change
one except to seal it, whoever asks (migration 0004)."""

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from careplane.kernel.audit.chain import seal_all
from careplane.kernel.audit.models import AuditEntry
from tests.kernel.audit.test_chain import add_entries, do_verify


def _refused(db, statement, operation: str) -> None:  # noqa: ANN001
    with pytest.raises(DBAPIError, match=f"audit_log is append-only: {operation} refused"), db.unit_of_work() as s:
        s.execute(statement)


def test_rows_cannot_be_deleted_sealed_or_not(db):
    add_entries(db, 3)
    with db.unit_of_work() as s:
        seal_all(s)
    add_entries(db, 1)  # one waiting to be sealed
    _refused(db, delete(AuditEntry).where(AuditEntry.seq == 2), "DELETE")
    _refused(db, delete(AuditEntry).where(AuditEntry.seq.is_(None)), "DELETE")
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 4


def test_a_sealed_row_cannot_be_changed_and_an_unsealed_one_only_sealed(db):
    add_entries(db, 2)
    with db.unit_of_work() as s:
        seal_all(s)
    add_entries(db, 1)
    _refused(db, update(AuditEntry).where(AuditEntry.seq == 1).values(reason="nothing to see"), "UPDATE")
    _refused(db, update(AuditEntry).where(AuditEntry.seq == 1).values(seq=None, hash=None), "UPDATE")
    _refused(db, update(AuditEntry).where(AuditEntry.seq.is_(None)).values(outcome="denied"), "UPDATE")
    # sealing that also changes what the row says is refused too
    _refused(db, update(AuditEntry).where(AuditEntry.seq.is_(None)).values(seq=99, hash="f" * 64, action="x"), "UPDATE")
    with db.unit_of_work() as s:
        assert seal_all(s) == 1  # the sealer's own update is what the database lets through
    assert do_verify(db).ok


def test_truncate_is_refused_on_postgresql(db):
    if not db.is_postgres:
        pytest.skip("SQLite has no TRUNCATE; its DELETE is refused")
    add_entries(db, 1)
    _refused(db, text("TRUNCATE audit_log"), "TRUNCATE")
