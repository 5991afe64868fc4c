"""Reads (Database.read): no write lock, their audit rows committed together, never disclosed before."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, authorize
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.audit.record import ENTRY_INSERT
from careplane.kernel.db import Database, _libpq_options, fetch
from careplane.kernel.errors import AccessDenied
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import create_user
from careplane.kernel.prepared import Prepared
from tests.helpers import run

DOC = Actor(
    user_id=uuid.uuid4(),
    label="doc@example.org",
    roles=frozenset({Role.CLINICIAN}),
    unit="virtual_care",
    unit_function="virtual_care",
)
HT = Actor(
    user_id=uuid.uuid4(),
    label="it@example.org",
    roles=frozenset({Role.CLINICIAN}),
    unit="health_tech",
    unit_function="health_tech",
)


def _entries(db, **where) -> int:  # noqa: ANN001
    with db.unit_of_work() as s:
        query = select(func.count()).select_from(AuditEntry)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        return s.scalar(query)


def test_each_read_returns_only_after_its_audit_row_is_committed_and_reads_share_commits(db):
    patients = [uuid.uuid4() for _ in range(12)]
    commits = []

    @event.listens_for(Engine, "commit")  # every engine: on PostgreSQL reads commit on engines of the event loop
    def _count(connection):  # noqa: ANN001, ANN202
        commits.append(1)

    def reader(patient_id: uuid.UUID):  # noqa: ANN202
        def work(reader):  # noqa: ANN001, ANN202
            authorize(reader, DOC, Permission.PATIENT_READ, patient_id=patient_id, resource_type="patient")
            return patient_id

        return work

    async def one(patient_id: uuid.UUID) -> int:
        await db.read(reader(patient_id))
        # The caller may now disclose what it read: its audit row must already be visible to anyone.
        return await asyncio.to_thread(_entries, db, patient_id=patient_id, outcome="allowed")

    async def all_together() -> list[int]:
        return await asyncio.gather(*(one(p) for p in patients))

    assert run(db, all_together()) == [1] * len(patients)
    event.remove(Engine, "commit", _count)
    # twelve reads; besides the twelve checks' own transactions, fewer than twelve write transactions
    assert len(commits) - len(patients) < len(patients) // 2


def test_a_refusal_in_a_read_is_recorded_before_it_is_raised_and_nothing_allowed_before_it_is(db):
    first, second = uuid.uuid4(), uuid.uuid4()

    def work(reader):  # noqa: ANN001, ANN202
        authorize(reader, DOC, Permission.PATIENT_READ, patient_id=first)
        authorize(reader, HT, Permission.PATIENT_READ, patient_id=second)

    with pytest.raises(AccessDenied):
        run(db, db.read(work))
    assert _entries(db, patient_id=second, outcome="denied") == 1
    assert _entries(db, patient_id=first) == 0  # the unit of work failed: what it had read is not claimed


def test_a_failed_group_commit_fails_every_read_in_it(db):
    good, bad = uuid.uuid4(), uuid.uuid4()

    def row(patient_id: uuid.UUID, action: str | None) -> dict:
        return dict(
            id=uuid.uuid4(),
            occurred_at=clock.now(),
            actor_label="x",
            actor_roles="",
            action=action,
            patient_id=patient_id,
            outcome="allowed",
            via="api",
        )

    async def both() -> list[object]:
        group = db._on_loop().group_commit
        # Both wait before the flush starts, so they share one transaction.
        return await asyncio.gather(
            group.write([(ENTRY_INSERT, row(good, "patient.read"))]),
            group.write([(ENTRY_INSERT, row(bad, None))]),
            return_exceptions=True,
        )

    results = run(db, both())
    assert all(isinstance(r, IntegrityError) for r in results), results
    assert _entries(db, patient_id=good) == 0


def test_a_read_that_tries_to_write_is_refused_by_the_database(db):
    """Reads run on connections where the server refuses writes (PostgreSQL: read-only transactions;
    SQLite: query_only), whether the write comes through the ORM or the driver."""
    with db.unit_of_work() as s:
        user = create_user(s, email="ro@example.org", display_name="RO", roles=[Role.BILLER])

    def through_the_orm(reader):  # noqa: ANN001, ANN202
        reader.session.execute(update(User).where(User.id == user.id).values(display_name="changed"))
        reader.session.commit()

    def through_the_driver(reader):  # noqa: ANN001, ANN202
        reader.dbapi_connection.cursor().execute("UPDATE users SET display_name = 'changed'")

    refused = "read-only transaction" if db.is_postgres else "readonly database"
    with pytest.raises(DBAPIError, match=refused):
        run(db, db.read(through_the_orm))
    with pytest.raises(Exception, match=refused):
        run(db, db.read(through_the_driver))
    with db.unit_of_work() as s:
        assert s.get(User, user.id).display_name == "RO"


def test_each_event_loop_reads_on_connections_of_its_own_and_closes_them(db):
    """asyncio connections belong to the loop that opened them: loops in two threads each read on
    their own, and a loop that ends closes what it opened."""
    patient_id = uuid.uuid4()

    def work(reader):  # noqa: ANN001, ANN202
        authorize(reader, DOC, Permission.PATIENT_READ, patient_id=patient_id)

    before = len(db._loops)  # loops of servers other tests ran on this database may linger
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: run(db, db.read(work)), range(2)))
    assert len(db._loops) <= before
    assert _entries(db, patient_id=patient_id, outcome="allowed") == 2


def test_a_read_connection_the_server_dropped_is_not_handed_out_again(db):
    """The read that finds its connection gone fails; the pool discards that connection, and the
    reads after it get working ones."""
    if not db.is_postgres:
        pytest.skip("a SQLite connection is a file handle the server cannot drop")
    own_backend = Prepared(select(func.pg_backend_pid().label("pid")))
    dropped = Prepared(select(func.pg_terminate_backend(func.pg_backend_pid()).label("done")))

    async def reads() -> list[int]:
        await db.read(lambda reader: fetch(reader, own_backend))  # the pool now holds one connection
        with pytest.raises(Exception, match="terminat|closed"):
            await db.read(lambda reader: fetch(reader, dropped))
        return [(await db.read(lambda reader: fetch(reader, own_backend)))[0][0] for _ in range(3)]

    assert all(pid > 0 for pid in run(db, reads()))


def test_reads_on_postgresql_take_the_libpq_parameters_of_the_database_url(db):
    """The event loop's driver (asyncpg) reads the URL as libpq and psycopg do, including the
    parameters asyncpg spells differently (connect_timeout, options)."""
    if not db.is_postgres:
        pytest.skip("PostgreSQL's connection parameters")
    parameters = {
        "application_name": "careplane-reads",
        "connect_timeout": "10",
        "options": "-c statement_timeout=5s -c lock_timeout=2s",
        "sslmode": "disable",
    }
    configured = Database(make_url(db.url).update_query_dict(parameters).render_as_string(hide_password=False))
    settings = Prepared(
        select(
            func.current_setting("application_name").label("name"),
            func.current_setting("statement_timeout").label("statement"),
            func.current_setting("lock_timeout").label("lock"),
        )
    )
    try:
        with configured.unit_of_work() as s:  # psycopg, the same URL
            assert s.execute(settings.statement).one() == ("careplane-reads", "5s", "2s")
        assert run(configured, configured.read(lambda reader: fetch(reader, settings))) == [
            ("careplane-reads", "5s", "2s")
        ]
    finally:
        configured.dispose()


@pytest.mark.parametrize("options", ["statement_timeout=5s", "-c statement_timeout"])
def test_options_the_event_loop_driver_cannot_read_are_refused_with_the_reason(options):
    with pytest.raises(ValueError, match="-c name=value"):
        _libpq_options(options)
