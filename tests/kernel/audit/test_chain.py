"""Sealing rows into the hash chain and telling when a sealed row was edited or deleted.

The database refuses such edits (test_append_only.py); the tampering here goes around it, as
someone with the database owner's rights could."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update

from careplane.kernel.access import Actor
from careplane.kernel.audit.chain import GENESIS_HASH, link_hash, seal, seal_all
from careplane.kernel.audit.models import AuditChainHead, AuditEntry
from careplane.kernel.audit.record import entry_for
from careplane.kernel.audit.verify import verify
from careplane.kernel.identity.roles import Role
from tests.helpers import triggers_off
from tests.kernel.audit.helpers import KEYRING

ACTOR = Actor(
    user_id=uuid.uuid4(),
    label="doc@example.org",
    roles=frozenset({Role.CLINICIAN}),
    unit="virtual_care",
    unit_function="virtual_care",
    ip="10.1.1.1",
)
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def add_entries(db, count, start=T0, reason="care"):
    """``count`` rows, occurred_at one second apart, inserted newest first (so insert order != chain order)."""
    ids = []
    with db.unit_of_work() as s:
        for i in reversed(range(count)):
            entry = entry_for(ACTOR, "patient.read", outcome="allowed", patient_id=uuid.uuid4(), reason=f"{reason} {i}")
            entry.occurred_at = start + timedelta(seconds=i)
            s.add(entry)
            s.flush()
            ids.append(entry.id)
    return ids


def sealed_rows(db):
    with db.unit_of_work() as s:
        return s.execute(select(AuditEntry.seq, AuditEntry.reason, AuditEntry.id).order_by(AuditEntry.seq)).all()


def do_verify(db, keyring=KEYRING, **kwargs):
    with db.session_factory() as s:
        return verify(s, keyring, **kwargs)


def test_seal_numbers_rows_by_time_and_continues_across_calls(db):
    add_entries(db, 5)
    with db.unit_of_work() as s:
        assert seal(s, limit=3) == 3
    with db.unit_of_work() as s:
        assert seal(s, limit=3) == 2
        assert seal(s) == 0
    rows = sealed_rows(db)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert [r.reason for r in rows] == [f"care {i}" for i in range(5)]

    add_entries(db, 2, start=T0 + timedelta(hours=1), reason="later")
    with db.unit_of_work() as s:
        assert seal_all(s, batch=1) == 2
        head = s.get(AuditChainHead, 1)
        last = s.scalar(select(AuditEntry).where(AuditEntry.seq == 7))
        first = s.scalar(select(AuditEntry).where(AuditEntry.seq == 1))
        second = s.scalar(select(AuditEntry).where(AuditEntry.seq == 2))
        assert last.reason == "later 1" and last.sealed_at is not None
        assert (head.last_seq, head.last_hash) == (7, last.hash)
        assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
        assert len({r.hash for r in s.scalars(select(AuditEntry))}) == 7


def test_hash_covers_every_audited_column():
    row = {
        "seq": 1,
        "id": uuid.uuid4(),
        "occurred_at": T0,
        "actor_user_id": None,
        "actor_label": "a",
        "actor_roles": "",
        "action": "patient.read",
        "patient_id": None,
        "resource_type": None,
        "resource_id": None,
        "outcome": "allowed",
        "reason": None,
        "ip": None,
        "via": "web",
        "request_id": None,
    }
    base = link_hash(GENESIS_HASH, row)
    for name, other in [
        ("seq", 2),
        ("actor_label", "b"),
        ("outcome", "denied"),
        ("ip", "1.2.3.4"),
        ("occurred_at", T0 + timedelta(microseconds=1)),
        ("patient_id", uuid.uuid4()),
    ]:
        assert link_hash(GENESIS_HASH, {**row, name: other}) != base, name
    assert link_hash("1" * 64, row) != base


def test_verify_ok_reports_counts_and_reads_in_batches(db):
    add_entries(db, 11)
    with db.unit_of_work() as s:
        seal(s, limit=8)
    report = do_verify(db, batch=3)
    assert report.ok, report.problems
    assert (report.sealed, report.unsealed, report.last_seq) == (8, 3, 8)


def test_empty_log_verifies(db):
    report = do_verify(db)
    assert report.ok and report.sealed == 0


def test_edited_row_is_named_by_seq_and_id(db):
    add_entries(db, 6)
    with db.unit_of_work() as s:
        seal_all(s)
    target = sealed_rows(db)[3]
    with triggers_off(db) as conn:
        conn.execute(text("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 4"))
    report = do_verify(db, batch=2)
    assert not report.ok
    assert [(p.kind, p.seq, p.entry_id) for p in report.problems] == [("edited", 4, target.id)]
    assert f"seq 4 (id {target.id})" in report.problems[0].message


def test_rewritten_row_with_recomputed_hash_breaks_the_next_link(db):
    """Even with the audit key, rewriting one row's hash leaves the next row's link pointing at the old one."""
    add_entries(db, 4)
    with db.unit_of_work() as s:
        seal_all(s)
        row = s.scalar(select(AuditEntry).where(AuditEntry.seq == 2))
        values = {c.key: getattr(row, c.key) for c in AuditEntry.__table__.columns}
    values["outcome"] = "denied"
    with triggers_off(db) as conn:
        conn.execute(
            update(AuditEntry)
            .where(AuditEntry.seq == 2)
            .values(outcome="denied", hash=link_hash(row.prev_hash, values, KEYRING.current))
        )
    report = do_verify(db)
    assert [(p.kind, p.seq) for p in report.problems] == [("relinked", 3)]


def test_deleted_middle_row_is_reported_missing(db):
    add_entries(db, 6)
    with db.unit_of_work() as s:
        seal_all(s)
    with triggers_off(db) as conn:
        conn.execute(delete(AuditEntry).where(AuditEntry.seq.in_([3, 4])))
    report = do_verify(db, batch=2)
    assert [(p.kind, p.seq) for p in report.problems] == [("missing", 3)]
    assert "seq 3-4: 2 rows are missing" in report.problems[0].message


def test_deleted_first_row_is_reported(db):
    add_entries(db, 3)
    with db.unit_of_work() as s:
        seal_all(s)
    with triggers_off(db) as conn:
        conn.execute(delete(AuditEntry).where(AuditEntry.seq == 1))
    assert [(p.kind, p.seq) for p in do_verify(db).problems] == [("missing", 1)]


def test_deleted_newest_rows_show_as_head_mismatch(db):
    add_entries(db, 5)
    with db.unit_of_work() as s:
        seal_all(s)
    with triggers_off(db) as conn:
        conn.execute(delete(AuditEntry).where(AuditEntry.seq == 5))
    report = do_verify(db)
    kinds = [(p.kind, p.seq) for p in report.problems]
    assert kinds == [("missing", 5), ("head", 4)]
    assert "head mismatch" in report.problems[1].message


def test_deleting_every_row_or_the_head_is_detected(db):
    add_entries(db, 2)
    with db.unit_of_work() as s:
        seal_all(s)
    with triggers_off(db) as conn:
        conn.execute(delete(AuditChainHead))
    assert [p.kind for p in do_verify(db).problems] == ["head"]
    with triggers_off(db) as conn:
        conn.execute(delete(AuditEntry))
    with db.unit_of_work() as s:
        s.add(AuditChainHead(id=1, last_seq=2, last_hash="f" * 64, sealed_at=T0))
    assert [p.kind for p in do_verify(db).problems] == ["missing", "head"]


def test_unnumbering_a_sealed_row_is_detected(db):
    add_entries(db, 3)
    with db.unit_of_work() as s:
        seal_all(s)
    with triggers_off(db) as conn:
        conn.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(seq=None))
    kinds = [(p.kind, p.seq) for p in do_verify(db).problems]
    assert ("missing", 2) in kinds and ("unsealed-hash", None) in kinds


def test_late_committed_rows_are_sealed_after_the_ones_already_sealed(db):
    add_entries(db, 2, start=T0 + timedelta(minutes=5))
    with db.unit_of_work() as s:
        seal_all(s)
    add_entries(db, 1, start=T0, reason="late")  # older occurred_at, committed after the seal
    with db.unit_of_work() as s:
        assert seal(s) == 1
    assert sealed_rows(db)[-1].reason == "late 0"
    assert do_verify(db).ok


def test_inserts_do_not_wait_for_a_running_sealer_but_a_second_sealer_does(db):
    if not db.is_postgres:
        pytest.skip("SQLite serialises every writer by design")
    add_entries(db, 3)
    with db.unit_of_work() as sealer:
        assert seal(sealer) == 3  # holds the advisory lock and the head row until commit
        with db.session_factory() as other, other.begin():
            other.execute(text("SET LOCAL lock_timeout = '1s'"))
            other.add(entry_for(ACTOR, "patient.read", outcome="allowed"))
            other.flush()  # an insert goes through while sealing is open
        with pytest.raises(Exception, match="lock timeout"), db.session_factory() as rival, rival.begin():
            rival.execute(text("SET LOCAL lock_timeout = '300ms'"))
            seal(rival)
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.seq.is_(None))) == 1
        assert seal(s) == 1
    assert do_verify(db).ok


def test_the_worker_seals_every_five_seconds(db, settings):
    from careplane.kernel import clock, jobs
    from careplane.kernel.worker import Worker

    worker = Worker(db, settings, name="test")  # loads wiring.handler_modules()
    job = jobs.registered()["audit.seal"]
    assert job.every == timedelta(seconds=5)
    add_entries(db, 3)
    worker.run_once()  # creates the schedule, first run 5 s from now
    assert [r.seq for r in sealed_rows(db)] == [None, None, None]
    clock.travel(clock.now() + timedelta(seconds=6))
    worker.run_once()
    assert [r.seq for r in sealed_rows(db)] == [1, 2, 3]
    assert do_verify(db).ok


def test_a_seal_during_verify_is_not_mistaken_for_tampering(db, monkeypatch):
    from careplane.kernel.audit import verify as verify_module

    add_entries(db, 6)
    with db.unit_of_work() as s:
        seal(s, limit=4)
    sealed_meanwhile = []

    def seal_elsewhere():
        if not sealed_meanwhile:
            sealed_meanwhile.append(0)
            with db.unit_of_work() as other:
                sealed_meanwhile[0] = seal(other)

    with db.session_factory() as s:
        if db.is_postgres:  # verify reads one snapshot; writers are never blocked
            real_link_hash = verify_module.link_hash
            monkeypatch.setattr(verify_module, "link_hash", lambda *a: (seal_elsewhere(), real_link_hash(*a))[1])
            report = verify(s, KEYRING, batch=2)
            assert report.ok and report.sealed == 4, report.problems
        else:  # the write lock is let go between batches, so the sealer gets in
            real_rollback = s.rollback
            s.rollback = lambda: (real_rollback(), seal_elsewhere())
            report = verify(s, KEYRING, batch=2)
            assert report.ok and report.sealed == 6, report.problems
    assert sealed_meanwhile == [2]


def test_one_tick_of_the_job_drains_several_batches_but_is_bounded(db, monkeypatch):
    from careplane.kernel.audit import chain

    monkeypatch.setattr(chain, "SEAL_BATCH", 2)
    add_entries(db, 25)
    with db.unit_of_work() as s:
        chain.seal_job(s)
    assert sum(r.seq is not None for r in sealed_rows(db)) == 20  # 10 batches of 2
    with db.unit_of_work() as s:
        chain.seal_job(s)
    assert sum(r.seq is not None for r in sealed_rows(db)) == 25
    assert do_verify(db).ok
