"""Fixtures every test shares: a real database on each engine, the app, and a web client.

Tests that take ``db`` (or anything built on it) run twice: on SQLite and on PostgreSQL.
``CAREPLANE_TEST_ENGINES=sqlite`` (or ``postgresql``) narrows that for a quick local run.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from careplane.app import create_app
from careplane.kernel import clock, schema
from careplane.kernel.db import Base, Database
from careplane.settings import Settings
from tests import pg_server
from tests.helpers import TEST_AUDIT_KEY, free_port, triggers_off

# Jobs and CLI commands read their settings from the environment: without a key there they
# would generate one into ./var.
os.environ["CAREPLANE_AUDIT_KEY"] = TEST_AUDIT_KEY

ENGINES = [e for e in os.environ.get("CAREPLANE_TEST_ENGINES", "sqlite,postgresql").split(",") if e]


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Database]]:
    made: dict[str, Database] = {}
    pg_urls: list[tuple[str, str]] = []

    def get(engine: str) -> Database:
        if engine not in made:
            if engine == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'careplane.db'}"
            else:
                server = pg_server.server_url()
                url = pg_server.create_database(server)
                pg_urls.append((server, url))
            database = Database(url)
            schema.upgrade(database)
            made[engine] = database
        return made[engine]

    yield get  # type: ignore[misc]
    for database in made.values():
        database.dispose()
    for server, url in pg_urls:
        pg_server.drop_database(server, url)
    pg_server.stop_embedded()


def _empty_all_tables(database: Database) -> None:
    with triggers_off(database) as conn:  # the audit log refuses deletes
        # References that close a cycle (use_alter, e.g. a unit's lead) are cleared first.
        for table in Base.metadata.sorted_tables:
            cyclic = [
                fk.parent.name
                for fk in table.foreign_keys
                if fk.use_alter or (fk.constraint is not None and fk.constraint.use_alter)
            ]
            if cyclic:
                conn.execute(update(table).values(dict.fromkeys(cyclic)))
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture(params=ENGINES)
def db(request: pytest.FixtureRequest, _databases) -> Iterator[Database]:  # noqa: ANN001
    """A real, empty database: SQLite, then PostgreSQL."""
    database: Database = _databases(request.param)
    _empty_all_tables(database)
    clock.travel(None)
    yield database
    clock.travel(None)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret-key-not-for-production",
        audit_key=TEST_AUDIT_KEY,
        environment="development",
        log_json=False,
        _env_file=None,
    )


@pytest.fixture
def app(db: Database, settings: Settings):  # noqa: ANN201
    return create_app(settings, db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@dataclass
class LiveServer:
    url: str
    db: Database
    settings: Settings


@pytest.fixture
def live_server(db: Database, settings: Settings) -> Iterator[LiveServer]:
    """The whole app (and, when it exists, the embedded worker) on http://127.0.0.1:<free port>."""
    port = free_port()
    settings.base_url = f"http://127.0.0.1:{port}"
    settings.worker_poll_seconds = 0.2
    settings.demo_mailbox = True  # the browser tests follow mailed links, as in `careplane demo`
    run_worker = importlib.util.find_spec("careplane.kernel.worker") is not None
    app = create_app(settings, db, run_worker=run_worker)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"the app did not start on port {port}")
        time.sleep(0.05)
    yield LiveServer(settings.base_url, db, settings)
    server.should_exit = True
    thread.join(timeout=15)
