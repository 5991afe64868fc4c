"""Event handlers with a time limit, so that a hanging one cannot hold its transaction (and its
locks: on SQLite, the one write lock of the whole embedded server) or its worker for ever.

Python cannot stop a thread, so the handler runs in a thread of its own while the worker waits for
it. When time is up the worker ends the handler's transaction from outside: on PostgreSQL it ends
the server process of the connection (``pg_terminate_backend``), on SQLite it interrupts and closes
the connection; either way the transaction rolls back and its locks go at once. The handler wrote
through a session bound to that one connection, so anything it does later fails instead of
reconnecting, and nothing of it is committed. The abandoned thread is left to finish or fail on
its own (it is a daemon, and counted in the log): work outside the database that it does after its
time is up (a hung HTTP call that returns) is not undone, which is why such handlers must be
idempotent and hold no transaction (``events.handles(transaction=False)``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

log = logging.getLogger("careplane.worker")


class HandlerTimedOut(Exception):
    """The handler did not finish in its time; its transaction (if any) was rolled back."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the handler did not finish within {seconds:g} s (CAREPLANE_WORKER_HANDLER_TIMEOUT_SECONDS); "
            "it was stopped and its transaction rolled back"
        )


def _finished(work: Callable[[], Any], seconds: float, name: str) -> bool:
    """Run ``work`` in a thread of its own and wait up to ``seconds``: True when it finished in time
    (re-raising what it raised), False when it is still running."""
    done = threading.Event()
    failure: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting worker
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=target, name=f"careplane-handler-{name}", daemon=True).start()
    if not done.wait(seconds):
        return False
    if failure:
        raise failure[0]
    return True


def run_alone(work: Callable[[], Any], seconds: float, name: str) -> None:
    """Run ``work`` (which holds no transaction of the caller's) for at most ``seconds``."""
    if not _finished(work, seconds, name):
        log.error("event handler timed out and was abandoned", extra={"fields": {"handler": name, "seconds": seconds}})
        raise HandlerTimedOut(seconds)


def run_in_transaction(
    engine: Engine, session: Session, work: Callable[[Session], Any], seconds: float, name: str
) -> None:
    """Run ``work(handler_session)`` inside ``session``'s transaction, in a savepoint, for at most
    ``seconds``. Its writes stay in the transaction when it returns, are rolled back to the savepoint
    when it raises (the exception is re-raised), and on time-out the whole transaction is ended from
    outside and :class:`HandlerTimedOut` raised: the caller's session is then unusable (leave it)."""
    connection = session.connection()
    handler_session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    abandoned = threading.Event()

    def work_then_keep() -> None:
        try:
            work(handler_session)
            if abandoned.is_set():
                raise HandlerTimedOut(seconds)
            handler_session.commit()  # releases the savepoint; the caller's transaction goes on
        except BaseException:
            if not abandoned.is_set():
                handler_session.close()  # back to the savepoint
            raise

    if _finished(work_then_keep, seconds, name):
        return
    abandoned.set()
    _end_from_outside(engine, connection)
    log.error(
        "event handler timed out: its transaction was ended and the handler abandoned",
        extra={"fields": {"handler": name, "seconds": seconds}},
    )
    raise HandlerTimedOut(seconds)


def _end_from_outside(engine: Engine, connection: Connection) -> None:
    """End the transaction of ``connection``, which another thread is using, and its locks."""
    dbapi = connection.connection.dbapi_connection
    try:
        assert dbapi is not None, "the connection is in use by the handler, so still open"
        if engine.dialect.name == "postgresql":
            pid = dbapi.info.backend_pid  # psycopg
            with engine.connect() as other:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
                other.commit()
        else:
            dbapi.interrupt()  # a statement in progress stops now
    finally:
        connection.invalidate()  # closes the DB-API connection: SQLite rolls back and unlocks
