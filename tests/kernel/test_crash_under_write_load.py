"""``careplane serve`` killed with SIGKILL in the middle of write load, then started again.

Every registration that was answered 201 is in the database exactly once; a client that retries
its unanswered registrations with the same Idempotency-Key after the restart registers none of
them twice; and the audit chain still verifies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from careplane.kernel.db import Database
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients.models import Patient
from tests.helpers import api_token, bearer, free_port, make_user

pytestmark = pytest.mark.slow

WRITERS = 8


@contextmanager
def _serving(db: Database, data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = dict(
        os.environ,
        CAREPLANE_DATABASE_URL=db.url,
        CAREPLANE_DATA_DIR=str(data_dir),
        CAREPLANE_SECRET_KEY="crash-test-secret",
        CAREPLANE_LOG_LEVEL="WARNING",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "careplane.cli", "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/healthz", timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("careplane serve did not start")
            time.sleep(0.1)
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=15)


def _body(family: str) -> dict[str, object]:
    return {
        "given_name": "Crash",
        "family_name": family,
        "birth_date": "1980-02-03",
        "sex_at_birth": "female",
        "confirm_not_duplicate": True,
    }


def test_sigkill_under_write_load_loses_and_doubles_nothing(db, tmp_path):
    token = api_token(db, make_user(db, role=Role.CLINICIAN))
    acknowledged: list[str] = []
    unanswered: list[tuple[str, str]] = []  # (idempotency key, family name)
    lock = threading.Lock()
    stop = threading.Event()

    def write(url: str) -> None:
        with httpx.Client(base_url=url, headers=bearer(token), timeout=10) as client:
            while not stop.is_set():
                key, family = uuid.uuid4().hex, f"Crash-{uuid.uuid4().hex[:12]}"
                try:
                    response = client.post("/api/v1/patients", json=_body(family), headers={"Idempotency-Key": key})
                except httpx.HTTPError:
                    with lock:
                        unanswered.append((key, family))
                    return
                with lock:
                    (acknowledged if response.status_code == 201 else unanswered).append(
                        family if response.status_code == 201 else (key, family)
                    )

    with _serving(db, tmp_path) as (url, proc):
        writers = [threading.Thread(target=write, args=(url,)) for _ in range(WRITERS)]
        for thread in writers:
            thread.start()
        time.sleep(2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)
        stop.set()
        for thread in writers:
            thread.join(30)
    assert len(acknowledged) > 20, "the load never got going"

    with _serving(db, tmp_path) as (url, _), httpx.Client(base_url=url, headers=bearer(token), timeout=30) as client:
        retried = [
            client.post("/api/v1/patients", json=_body(family), headers={"Idempotency-Key": key})
            for key, family in unanswered
        ]
    assert all(response.status_code == 201 for response in retried), [r.text for r in retried]

    with db.unit_of_work() as session:
        counts = dict(
            session.execute(
                select(Patient.family_name, func.count())
                .where(Patient.family_name.like("Crash-%"))
                .group_by(Patient.family_name)
            ).all()
        )
    assert all(counts.get(family) == 1 for family in acknowledged), "an acknowledged write was lost"
    assert all(counts.get(family) == 1 for _, family in unanswered), "a retried write is missing or doubled"
    assert len(counts) == len(acknowledged) + len(unanswered)

    env = dict(
        os.environ,
        CAREPLANE_DATABASE_URL=db.url,
        CAREPLANE_DATA_DIR=str(tmp_path),
        CAREPLANE_SECRET_KEY="crash-test-secret",
    )
    for command in (["audit", "seal"], ["audit", "verify"]):
        result = subprocess.run(
            [sys.executable, "-m", "careplane.cli", *command], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK")
