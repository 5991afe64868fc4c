"""/readyz probes every engine that serves requests: on PostgreSQL the psycopg one of units of work
and the asyncpg ones of reads and group commits; on SQLite the pooled and the read-only one."""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine

from tests.helpers import free_port


def _dead_engine(db, tmp_path):  # noqa: ANN001, ANN202
    """An engine of the same driver that cannot connect."""
    if db.is_postgres:
        return create_async_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/nowhere").sync_engine
    return create_engine(f"sqlite:///{tmp_path}/no/such/folder/x.db")


def test_readyz_names_each_engine_it_probed(db, client):
    body = client.get("/readyz").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    expected = {"units_of_work", "reads", "group_commit"} if db.is_postgres else {"units_of_work", "reads"}
    assert set(body["engines"]) == expected and set(body["engines"].values()) == {"ok"}


def test_readyz_fails_when_the_read_engine_is_down(db, client, tmp_path):
    client.get("/readyz")  # the client's event loop now has its engines
    loops = list(db._loops.values())
    healthy = [on_loop.read_engine for on_loop in loops]
    dead = _dead_engine(db, tmp_path)
    for on_loop in loops:
        on_loop.read_engine = dead
    try:
        response = client.get("/readyz")
    finally:
        for on_loop, engine in zip(loops, healthy, strict=True):
            on_loop.read_engine = engine
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["engines"]["units_of_work"] == "ok"
    assert body["engines"]["reads"].startswith("asyncpg" if db.is_postgres else "pysqlite")
    assert client.get("/readyz").status_code == 200


def test_readyz_fails_when_the_unit_of_work_engine_is_down(db, client, tmp_path, monkeypatch):
    dead = (
        create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nowhere")
        if db.is_postgres
        else create_engine(f"sqlite:///{tmp_path}/no/such/folder/x.db")
    )
    monkeypatch.setattr(db, "engine", dead)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["engines"]["reads"] == "ok"
    assert response.json()["engines"]["units_of_work"].startswith("psycopg" if db.is_postgres else "pysqlite")
