"""careplane worker / events dead / events replay against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from careplane.cli import app
from careplane.kernel import events
from careplane.kernel.events import DEAD, DONE, PENDING, EventDelivery, publish
from careplane.kernel.worker import Worker
from careplane.settings import get_settings
from tests.kernel.events import sample
from tests.kernel.events.sample import FannedOut, SampleHappened

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def cli(effects, monkeypatch):
    monkeypatch.setenv("CAREPLANE_DATABASE_URL", effects.url)
    monkeypatch.setenv("CAREPLANE_LOG_JSON", "false")
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()


def _make_dead(db, settings, ref):
    with db.unit_of_work() as s:
        publish(s, SampleHappened(ref=ref, mode="fail"))
    Worker(db, settings.model_copy(update={"worker_max_attempts": 1})).run_once()
    with db.unit_of_work() as s:
        return s.scalar(
            select(EventDelivery).join(events.OutboxEvent).where(events.OutboxEvent.payload["ref"].as_string() == ref)
        )


def test_worker_once_delivers_everything_due(cli, effects):
    with effects.unit_of_work() as s:
        publish(s, FannedOut(ref="cli"))
    result = cli("worker", "--once", "--name", "cli-test")
    assert result.exit_code == 0, result.output
    assert "2 item(s) done" in result.output
    assert sample.effect_count(effects, "cli") == 2


def test_dead_lists_and_replay_requeues(cli, effects, settings):
    assert "No dead deliveries" in cli("events", "dead").output
    one = _make_dead(effects, settings, "cli-dead-1")
    two = _make_dead(effects, settings, "cli-dead-2")
    listing = cli("events", "dead")
    assert listing.exit_code == 0
    assert str(one.id) in listing.output and str(two.id) in listing.output
    assert "downstream refused cli-dead-1" in listing.output

    assert "No pending deliveries" in cli("events", "pending").output
    result = cli("events", "replay", str(one.id))
    assert result.exit_code == 0 and "1 delivery sent back" in result.output
    with effects.unit_of_work() as s:
        assert s.get(EventDelivery, one.id).status == PENDING
        assert s.get(EventDelivery, two.id).status == DEAD
    pending = cli("events", "pending")
    assert pending.exit_code == 0 and str(one.id) in pending.output and str(two.id) not in pending.output

    again = cli("events", "replay", str(one.id))
    assert again.exit_code == 1 and "Only dead deliveries" in again.output
    assert cli("events", "replay", str(uuid.uuid4())).exit_code == 1
    assert cli("events", "replay", "not-a-uuid").exit_code == 2
    assert cli("events", "replay").exit_code == 2
    assert cli("events", "replay", str(two.id), "--all-dead").exit_code == 2

    result = cli("events", "replay", "--all-dead")
    assert result.exit_code == 0 and "1 delivery sent back" in result.output
    with effects.unit_of_work() as s:
        assert s.get(EventDelivery, two.id).status == PENDING


@pytest.mark.slow
def test_worker_process_stops_gracefully_on_sigterm(effects):
    """``careplane worker`` keeps polling, picks up new events, and exits cleanly on SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPLANE_")}
    env.update(CAREPLANE_DATABASE_URL=effects.url, CAREPLANE_WORKER_POLL_SECONDS="0.1", CAREPLANE_LOG_JSON="true")
    code = (
        "from careplane import wiring; wiring.KERNEL_HANDLER_MODULES.append('tests.kernel.events.sample'); "
        "from careplane.cli import main; main()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "worker", "--name", "sigterm-test"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with effects.unit_of_work() as s:
            event_id = publish(s, SampleHappened(ref="polled"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with effects.unit_of_work() as s:
                if s.scalar(select(EventDelivery.status).where(EventDelivery.event_id == event_id)) == DONE:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("the worker process did not deliver the event")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert '"worker stopped"' in stderr and "sigterm-test" in stderr
    assert sample.effect_count(effects, "polled") == 1
