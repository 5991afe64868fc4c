"""SQLite: one writer at a time, taken when a transaction first writes and let go when its
connection goes back to the pool.

SQLite allows one writing transaction per database. A transaction that begins as a read and
later writes fails with SQLITE_BUSY if another writer committed in between, so a writing
transaction must hold the lock from its first statement (``BEGIN IMMEDIATE``). Taking it when a
unit of work *begins* made every request a writer, GETs included, and a request that took it in
one thread-pool task and let go of it in another could be starved of a thread by the writers
queued behind it.

So a connection of the write engine runs its statements in autocommit (each one reads the
latest committed data, as PostgreSQL's READ COMMITTED does) until the first statement that
writes. Before that statement runs, the connection waits its turn on this process's lock, which
is fairer than SQLite's busy handler (it sleeps in growing steps), and then issues
``BEGIN IMMEDIATE``; from there on it is one transaction, committed or rolled back as a whole.
The lock is let go when the connection is checked back into the pool, after its COMMIT or
ROLLBACK, whichever thread does that. A wait longer than ``wait_seconds`` raises
:class:`WriterBusy` (503 with ``Retry-After`` on the web) instead of blocking on.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from careplane.kernel.errors import Overloaded

#: Key in a pooled connection's ``info``: this connection holds the writer lock.
HOLDS_WRITER = "careplane_holds_sqlite_writer"
#: Statements that read: anything else takes the writer lock first (a savepoint too, since on
#: an autocommit connection it would open a deferred transaction that may later write), and so
#: does a read that locks rows (``starts_write``).
_READS = ("SELECT", "PRAGMA", "EXPLAIN")


class WriterBusy(Overloaded):
    title = "Busy: too many changes at once"
    type_slug = "writer-busy"


def starts_write(statement: str, context: Any) -> bool:
    """Whether the statement writes, or is a SELECT ... FOR UPDATE: SQLite has no row locks and
    drops the clause, so such a read takes the writer, as the row lock would hold off other
    writers of that row on PostgreSQL (e.g. two workers claiming the same job)."""
    if not statement.lstrip().upper().startswith(_READS):
        return True
    compiled = getattr(context, "compiled", None)
    return getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None


class SQLiteWriter:
    """The write lock of one SQLite database in this process."""

    def __init__(self, wait_seconds: float) -> None:
        self.wait_seconds = wait_seconds
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        return self._lock.acquire(blocking=False)

    @property
    def busy_timeout_ms(self) -> int:
        """SQLite's own wait for a writer of another process (``PRAGMA busy_timeout``)."""
        return int(self.wait_seconds * 1000)

    def acquire(self) -> None:
        if not self._lock.acquire(timeout=self.wait_seconds):
            raise self._busy()

    def _busy(self) -> WriterBusy:
        return WriterBusy(
            f"The database is busy with other changes (waited {self.wait_seconds:g} s). Nothing was changed; "
            "try again in a moment.",
            retry_after=1,
        )

    def release(self) -> None:
        self._lock.release()

    def hold_for(self, dbapi_connection_info: dict[str, Any]) -> None:
        """Mark a connection as holding the lock its caller already acquired (``try_acquire``)."""
        dbapi_connection_info[HOLDS_WRITER] = True

    def install(self, engine: Engine) -> None:
        """Make ``engine``'s connections take the lock before their first write (see the module)."""

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
            info = conn.info
            if info.get(_IN_TRANSACTION) or not starts_write(statement, context):
                return
            if not info.get(HOLDS_WRITER):
                self.acquire()
                info[HOLDS_WRITER] = True
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                # Another process (a CLI command, another server) writes, and its transaction
                # outlasted the busy timeout.
                if "locked" in str(exc) or "busy" in str(exc):
                    raise self._busy() from exc
                raise
            info[_IN_TRANSACTION] = True

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _ending(conn: Any) -> None:
            # Fired just before the COMMIT or ROLLBACK: the next statement starts afresh. (An
            # invalidated connection has no info to reach; the invalidate event below let go.)
            if not conn.invalidated:
                conn.info.pop(_IN_TRANSACTION, None)

        @event.listens_for(engine.pool, "checkin")
        def _checked_in(_dbapi_connection: Any, record: Any) -> None:
            self._let_go(record.info)

        @event.listens_for(engine.pool, "invalidate")
        def _invalidated(_dbapi_connection: Any, record: Any, _exc: Any) -> None:
            self._let_go(record.info)  # its connection is closed, and so its transaction undone

    def _let_go(self, info: dict[str, Any]) -> None:
        info.pop(_IN_TRANSACTION, None)
        if info.pop(HOLDS_WRITER, False):
            self._lock.release()


#: Key in a pooled connection's ``info``: ``BEGIN IMMEDIATE`` was issued and not yet ended.
_IN_TRANSACTION = "careplane_sqlite_write_transaction"
