"""Engine, sessions, the unit of work, the declarative Base and the column types every table uses.

One database, two engines: embedded SQLite by default, PostgreSQL in production. Anything
dialect-specific lives here so services never branch on the engine.
"""

from __future__ import annotations

import asyncio
import shlex
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from anyio import CapacityLimiter, to_thread
from sqlalchemy import DateTime, MetaData, Table, Uuid, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import greenlet_spawn

from careplane.kernel import clock
from careplane.kernel.group_commit import GroupCommit, Write
from careplane.kernel.money import Money, MoneyType
from careplane.kernel.prepared import Prepared
from careplane.kernel.sqlite_checkpoint import Checkpointer
from careplane.kernel.sqlite_writer import SQLiteWriter

if TYPE_CHECKING:
    from careplane.settings import Settings

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC (timestamptz on PostgreSQL) and always returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use careplane.kernel.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid(), Money: MoneyType()}
    if TYPE_CHECKING:
        # Every careplane entity maps a table of its own (never a join or a select), so its
        # Core statements (insert, update) take ``Entity.__table__``.
        __table__: ClassVar[Table]


def columns(entity: Base) -> dict[str, Any]:
    """An entity's column values by column name, as a read through :class:`Reader` returns them."""
    return {column.key: getattr(entity, column.key) for column in entity.__table__.columns}


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class IdMixin:
    """An opaque UUID primary key: the only id that appears in URLs and APIs."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


def _configure_sqlite(engine: Engine, *, read_only: bool, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite: the read engine begins below, the write
        # engine when it first writes (careplane.kernel.sqlite_writer).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # the Checkpointer's thread does it (sqlite_checkpoint)
        if read_only:
            cursor.execute("PRAGMA query_only=ON")  # a stray write fails, as on a read-only PostgreSQL transaction
        cursor.close()

    if read_only:

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            # A read's statements share one snapshot; in WAL mode it never waits for a writer.
            connection.exec_driver_sql("BEGIN")


#: ``Session.info`` key of the writes a read's ORM session hands to the group commit.
DEFERRED_WRITES = "careplane_deferred_writes"


def _create_engine(
    url: str, *, echo: bool, pool_size: int, read_only: bool = False, writer: SQLiteWriter | None = None
) -> Engine:
    """An engine of the driver the URL names; ``read_only`` applies to SQLite (on PostgreSQL, reads
    go through :func:`_create_async_engine`)."""
    engine = create_engine(url, **_engine_options(url, echo=echo, pool_size=pool_size))
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, read_only=read_only, busy_timeout_ms=writer.busy_timeout_ms if writer else 15000)
        if writer is not None:
            writer.install(engine)
    return engine


def _create_async_engine(url: str, *, echo: bool, pool_size: int, read_only: bool = False) -> AsyncEngine:
    """asyncpg connections to the PostgreSQL server ``url`` names, for work on the event loop, used
    through SQLAlchemy's synchronous API in a greenlet.

    asyncpg, not psycopg's asyncio mode: its protocol is compiled, and a small query cost a third
    of the CPU time (bench/README.md).
    """
    options = _engine_options(url, echo=echo, pool_size=pool_size)
    if read_only:
        # Each statement its own read-only transaction: no BEGIN and COMMIT round trips, and the
        # server refuses a stray write.
        options["isolation_level"] = "AUTOCOMMIT"
    connect = _asyncpg_connect(url, {"default_transaction_read_only": "on"} if read_only else {})
    return create_async_engine("postgresql+asyncpg://", async_creator=connect, **options)


def _asyncpg_connect(url: str, server_settings: dict[str, str]) -> Callable[[], Any]:
    """How asyncpg connects to the database ``url`` names, read as libpq (and so psycopg) reads it:
    the host, credentials and ``PG*`` environment variables, the query string's SSL parameters and
    ``application_name``, and the two that asyncpg spells differently, ``connect_timeout`` and
    ``options`` (``-c name=value`` settings)."""
    import asyncpg  # only PostgreSQL deployments load it

    parsed = make_url(url)
    query = dict(parsed.query)
    kwargs: dict[str, Any] = {}
    if "connect_timeout" in query:
        kwargs["timeout"] = float(query.pop("connect_timeout"))  # type: ignore[arg-type]
    settings = _libpq_options(str(query.pop("options", "")))
    settings.update(server_settings)
    dsn = parsed.set(drivername="postgresql", query=query).render_as_string(hide_password=False)
    return lambda: asyncpg.connect(dsn, server_settings=settings, **kwargs)


def _libpq_options(options: str) -> dict[str, str]:
    """Settings from libpq's ``options`` parameter: ``-c name=value`` or ``--name=value``, repeated."""
    settings: dict[str, str] = {}
    words = iter(shlex.split(options))
    for word in words:
        if word == "-c":
            word = next(words, "")
        elif word.startswith("-c"):
            word = word[2:]
        elif word.startswith("--"):
            word = word[2:].replace("-", "_")
        else:
            raise ValueError(f"the database URL's options parameter: cannot read {word!r} (write -c name=value)")
        name, equals, value = word.partition("=")
        if not equals:
            raise ValueError(f"the database URL's options parameter: {word!r} has no value (write -c name=value)")
        settings[name] = value
    return settings


def _engine_options(url: str, *, echo: bool, pool_size: int) -> dict[str, Any]:
    options: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        options["connect_args"] = {"check_same_thread": False, "timeout": 15}
        return options
    # No pre-ping (a round trip on every checkout): a connection the server dropped fails
    # one request, SQLAlchemy then discards the whole pool, and recycling keeps them fresh.
    options.update(pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)
    return options


class Reader:
    """What a read (:meth:`Database.read`) works with: a connection of the read-only engine for
    :class:`~careplane.kernel.prepared.Prepared` statements, the writes it leaves for the group
    commit, and an ORM session on the same engine for the few reads that need entities."""

    def __init__(
        self, dbapi_connection: Any, dialect: Dialect, deferred: list[Write], session_factory: sessionmaker[Session]
    ) -> None:
        self.dbapi_connection = dbapi_connection
        self.dialect = dialect
        self.deferred = deferred
        self._session_factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """An ORM session of the read-only engine, opened on first use."""
        if self._session is None:
            self._session = self._session_factory()
            self._session.info[DEFERRED_WRITES] = self.deferred
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


#: Where service code reads: a unit of work's session, or a read (:meth:`Database.read`).
SessionOrReader = Session | Reader


def apply_writes(target: Session | Connection, writes: Sequence[Write]) -> None:
    """Execute ``writes`` in the caller's transaction: each distinct statement once, with all its
    parameter sets (an executemany)."""
    by_statement: dict[Executable, list[dict[str, Any]]] = {}
    for statement, params in writes:
        by_statement.setdefault(statement, []).append(params)
    for statement, rows in by_statement.items():
        target.execute(statement, rows)


def orm_session(target: SessionOrReader) -> Session:
    return target.session if isinstance(target, Reader) else target


def fetch(target: SessionOrReader, statement: Prepared, **params: Any) -> list[tuple[Any, ...]]:
    """Run a prepared statement in the caller's transaction (a session) or read (a reader)."""
    if isinstance(target, Reader):
        return statement.rows(target.dbapi_connection, target.dialect, params)
    connection = target.connection()
    return statement.rows(connection.connection.dbapi_connection, connection.dialect, params)


def write_soon(target: SessionOrReader, statement: Executable, rows: list[dict[str, Any]]) -> None:
    """Execute a write (one parameter set per row) in the session's transaction or, in a read
    (:meth:`Database.read`), with the group commit that ends the read, before its result is
    handed back."""
    deferred = target.deferred if isinstance(target, Reader) else target.info.get(DEFERRED_WRITES)
    if deferred is None:
        if rows:
            target.execute(statement, rows[0] if len(rows) == 1 else rows)  # type: ignore[union-attr]
    else:
        deferred.extend((statement, row) for row in rows)


@dataclass
class _OnLoop:
    """What one event loop's reads and group commits use (asyncio connections and futures belong
    to the loop that made them)."""

    group_commit: GroupCommit
    read_engine: Engine
    read_sessions: sessionmaker[Session]
    #: Where Database.commit_writes runs in a greenlet; None where it runs inline or on a thread.
    write_engine: Engine | None = None
    async_engines: tuple[AsyncEngine, ...] = ()
    #: Threads for the group commits that wait for the SQLite writer.
    waiting_threads: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(1))


class Database:
    """One configured database: its engines and session factory."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10, write_wait_seconds: float = 10) -> None:
        self.url = url
        self._echo, self._pool_size = echo, pool_size
        sqlite = make_url(url).get_backend_name() == "sqlite"
        #: SQLite has one writer at a time: this process's connections queue for it on a lock
        #: when they first write (careplane.kernel.sqlite_writer). None on PostgreSQL.
        self._sqlite_writer = SQLiteWriter(write_wait_seconds) if sqlite else None
        self.engine = _create_engine(url, echo=echo, pool_size=pool_size, writer=self._sqlite_writer)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        #: SQLite reads (Database.read) run on connections of their own, where a write is refused.
        #: PostgreSQL ones, like all the work started from an event loop, wait for the server in a
        #: greenlet on that loop, through asyncpg (see _make_on_loop), not on worker threads.
        self._read_engine = _create_engine(url, echo=echo, pool_size=pool_size, read_only=True) if sqlite else None
        self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False) if self._read_engine else None
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _OnLoop] = weakref.WeakKeyDictionary()
        path = self.engine.url.database if sqlite else None
        self._checkpointer = Checkpointer(path) if path and path != ":memory:" else None

    @classmethod
    def configured(cls, settings: Settings) -> Database:
        """The database the settings name, with their tuning."""
        return cls(settings.resolved_database_url(), write_wait_seconds=settings.write_wait_seconds)

    @property
    def loop_write_connections(self) -> int:
        """Connections the event loop's writes keep (PostgreSQL; see _make_on_loop)."""
        return self._pool_size

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back on error.

        On SQLite it reads without a lock and takes the writer lock at its first write
        (:mod:`careplane.kernel.sqlite_writer`); a unit of work inside another one in the same
        thread that also writes waits for the outer one and fails with ``WriterBusy``.
        """
        with self._transaction() as session:
            yield session

    async def read(self, work: Callable[[Reader], T]) -> T:
        """``work(reader)`` on a read-only connection, called from the event loop; returns once the
        writes it deferred (its audit rows, see :func:`write_soon`) are committed.

        A read takes no write lock and runs no transaction of its own: each statement reads
        committed data (PostgreSQL connections are in autocommit and read-only, SQLite ones
        ``query_only``). The deferred writes of many concurrent reads share one commit
        (:mod:`careplane.kernel.group_commit`). A refusal's audit row is committed the same way
        before the refusal is raised. SQLite reads run right here on the event loop: the database
        is a local file that answers in microseconds, less than a trip to a worker thread costs
        (threads contend for the GIL). PostgreSQL reads run in a greenlet on the loop, each
        statement awaited through asyncpg. Meant for short reads at high rates
        (bench/patient_read.py measures them).
        """
        on_loop = self._on_loop()
        engine = on_loop.read_engine
        deferred: list[Write] = []

        def on_connection() -> T:
            connection = engine.raw_connection()
            reader = Reader(connection.dbapi_connection, engine.dialect, deferred, on_loop.read_sessions)
            try:
                return work(reader)
            except Exception as exc:
                if _is_disconnect(engine.dialect, exc, connection.dbapi_connection):
                    connection.invalidate(exc)
                raise
            finally:
                reader.close()
                connection.close()

        try:
            result = on_connection() if self._sqlite_writer is not None else await greenlet_spawn(on_connection)
        except Exception as exc:
            keep = getattr(exc, "keep_after_rollback", None)
            if keep:
                await on_loop.group_commit.write(keep)
            raise
        await on_loop.group_commit.write(deferred)
        return result

    async def probe(self) -> dict[str, str]:
        """``SELECT 1`` through every engine that serves requests, from the running event loop: the
        one units of work use (psycopg on PostgreSQL; run on a worker thread), and this loop's read
        engine and group-commit engine (asyncpg on PostgreSQL). Each name maps to "ok" or the error."""

        def select_one(engine: Engine) -> None:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")

        on_loop = self._on_loop()
        engines = {"units_of_work": self.engine, "reads": on_loop.read_engine, "group_commit": on_loop.write_engine}
        results: dict[str, str] = {}
        for name, engine in engines.items():
            if engine is None:
                continue
            try:
                if engine is self.engine:
                    await to_thread.run_sync(select_one, engine)
                elif self._sqlite_writer is not None:
                    select_one(engine)  # a local file, as Database.read does on the loop
                else:
                    await greenlet_spawn(select_one, engine)
                results[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - any failure is the answer
                results[name] = f"{engine.dialect.driver}: {str(exc)[:200]}"
        return results

    def _on_loop(self) -> _OnLoop:
        loop = asyncio.get_running_loop()
        on_loop = self._loops.get(loop)
        if on_loop is None:
            on_loop = self._loops[loop] = self._make_on_loop()
        return on_loop

    def _make_on_loop(self) -> _OnLoop:
        if self._read_engine is not None and self._read_sessions is not None:
            return _OnLoop(GroupCommit(self), self._read_engine, self._read_sessions)
        # Twice the pool for reads: nothing but the requests in flight bounds how many wait at
        # once, and a connection beyond the pool's size is opened and closed for a single read.
        reads = _create_async_engine(self.url, echo=self._echo, pool_size=2 * self._pool_size, read_only=True)
        writes = _create_async_engine(self.url, echo=self._echo, pool_size=self._pool_size)
        return _OnLoop(
            GroupCommit(self),
            reads.sync_engine,
            sessionmaker(reads.sync_engine, expire_on_commit=False),
            writes.sync_engine,
            (reads, writes),
        )

    async def close_loop(self) -> None:
        """Close what the running event loop opened (its asyncio connections); call before it ends."""
        on_loop = self._loops.pop(asyncio.get_running_loop(), None)
        for engine in on_loop.async_engines if on_loop else ():
            await engine.dispose()

    async def commit_writes(self, writes: Sequence[Write]) -> None:
        """Execute ``writes`` (:func:`apply_writes`) in one transaction, called from the event loop:
        the group commit's flush.

        On SQLite, when no other thread holds the write lock, right here (see :meth:`read` for why),
        otherwise on a worker thread. On PostgreSQL in a greenlet on this loop, each statement
        awaited through asyncpg.
        """
        writer = self._sqlite_writer
        if writer is not None and writer.try_acquire():
            self._commit_on(self.engine, writes, holding_writer=True)
            return
        write_engine = self._on_loop().write_engine
        if write_engine is not None:
            await greenlet_spawn(self._commit_on, write_engine, writes)
            return
        # One thread at a time waits for the SQLite writer, outside the request threads' limiter.
        await to_thread.run_sync(self._commit_on, self.engine, writes, limiter=self._on_loop().waiting_threads)

    async def write(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in a unit of work, called from the event loop: committed when it
        returns, rolled back if it raises (writing a refusal's ``keep_after_rollback`` after), as
        :meth:`unit_of_work` does, without a trip to a request thread.

        On SQLite, when no other thread holds the writer, right here: the lock is taken before the
        work starts and held only while it runs, uninterrupted, on the loop (a thread holding it
        would wait for the GIL after every statement while the loop serves reads). Otherwise on a
        request thread, as :meth:`unit_of_work`. On PostgreSQL in a greenlet on this loop, each
        statement awaited through asyncpg. Meant for short API writes at high rates
        (bench/mixed_load.py).
        """
        writer = self._sqlite_writer
        try:
            if writer is None:
                write_engine = self._on_loop().write_engine
                assert write_engine is not None
                return await greenlet_spawn(self._work_on, write_engine, work)
            if writer.try_acquire():
                return self._work_on(self.engine, work, holding_writer=True)
        except Exception as exc:
            keep = getattr(exc, "keep_after_rollback", None)
            if keep:
                await self.commit_writes(keep)
            raise
        return await to_thread.run_sync(self._in_unit_of_work, work)

    def _in_unit_of_work(self, work: Callable[[Session], T]) -> T:
        with self.unit_of_work() as session:
            return work(session)

    def _work_on(self, engine: Engine, work: Callable[[Session], T], *, holding_writer: bool = False) -> T:
        """``work(session)`` in one transaction on a connection of ``engine`` (see :meth:`_writing_on`)."""
        with (
            self._writing_on(engine, holding_writer=holding_writer) as connection,
            Session(bind=connection, expire_on_commit=False) as session,
            session.begin(),
        ):
            return work(session)

    def _commit_on(self, engine: Engine, writes: Sequence[Write], *, holding_writer: bool = False) -> None:
        """``writes`` in one transaction on a connection of ``engine`` (see :meth:`_writing_on`)."""
        with self._writing_on(engine, holding_writer=holding_writer) as connection, connection.begin():
            apply_writes(connection, writes)

    @contextmanager
    def _writing_on(self, engine: Engine, *, holding_writer: bool) -> Iterator[Connection]:
        """A connection of ``engine`` for one write; ``holding_writer``: the caller took the SQLite
        writer lock, which the connection lets go of when it goes back to the pool."""
        if self._checkpointer is not None:
            self._checkpointer.ensure_running()  # SQLite commits leave the checkpoint to it
        try:
            connection = engine.connect()
        except BaseException:
            if holding_writer and self._sqlite_writer is not None:
                self._sqlite_writer.release()
            raise
        with connection:
            if holding_writer and self._sqlite_writer is not None:
                self._sqlite_writer.hold_for(connection.info)
            yield connection

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        if self._checkpointer is not None:
            self._checkpointer.ensure_running()  # SQLite commits leave the checkpoint to it
        try:
            with self.session_factory() as session, session.begin():
                yield session
        except Exception as exc:
            # Some refusals must leave a trace (an audit row) even though the work is undone.
            keep = getattr(exc, "keep_after_rollback", None)
            if keep:
                self._commit_on(self.engine, keep)
            raise

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()
        if self._read_engine is not None:
            self._read_engine.dispose()


def _is_disconnect(dialect: Dialect, exc: Exception, dbapi_connection: Any) -> bool:
    """Whether ``exc`` means the connection is gone (the pool must not hand it out again)."""
    # Prepared statements reach asyncpg directly, so its errors arrive untranslated; its dialect
    # asks the connection itself whether it is closed.
    if dialect.driver == "asyncpg" or isinstance(exc, dialect.loaded_dbapi.Error):
        # The typing asks for a DB-API error, but asyncpg's dialect takes any exception: it asks
        # the connection whether it is closed.
        return bool(dialect.is_disconnect(exc, dbapi_connection, None))  # type: ignore[arg-type]
    return False
