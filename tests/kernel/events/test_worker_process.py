"""A worker killed mid-handler, and workers racing each other, still act exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from careplane.kernel import clock, events
from careplane.kernel.events import DEAD, DONE, PENDING, EventDelivery, publish
from careplane.kernel.worker import Worker
from tests.kernel.events import sample
from tests.kernel.events.sample import SampleHappened

ROOT = Path(__file__).resolve().parents[3]


def _run_worker_process(url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPLANE_")}
    return subprocess.run(
        [sys.executable, "-m", "tests.kernel.events.worker_script", url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_worker_killed_mid_handler_redelivers_and_acts_once(effects, tmp_path):
    marker = tmp_path / "killed-once"
    with effects.unit_of_work() as s:
        event_id = publish(s, SampleHappened(ref="crash", mode="kill_once", marker=str(marker)))

    first = _run_worker_process(effects.url)
    assert first.returncode == -signal.SIGKILL, first.stderr
    assert marker.exists()
    # The handler's write died with its transaction; the delivery is still owed, the attempt counted.
    assert sample.effect_count(effects, "crash") == 0
    with effects.unit_of_work() as s:
        delivery = s.scalar(select(EventDelivery).where(EventDelivery.event_id == event_id))
        assert (delivery.status, delivery.attempts) == (PENDING, 1)
        assert "did not finish" in delivery.last_error

    second = _run_worker_process(effects.url)
    assert second.returncode == 0, second.stderr
    assert int(second.stdout.strip()) == 1
    assert sample.effect_count(effects, "crash") == 1
    with effects.unit_of_work() as s:
        delivery = s.scalar(select(EventDelivery).where(EventDelivery.event_id == event_id))
        assert (delivery.status, delivery.attempts, delivery.last_error) == (DONE, 2, None)


def test_two_workers_never_process_one_delivery_twice(effects, worker_settings):
    refs = [f"race-{n}" for n in range(50)]
    with effects.unit_of_work() as s:
        for ref in refs:
            publish(s, SampleHappened(ref=ref, mode="slow"))
    workers = [Worker(effects, worker_settings, name=f"w{n}") for n in range(2)]
    done_by: dict[str, int] = {}
    start = threading.Barrier(len(workers))

    def drain(worker: Worker) -> None:
        start.wait()
        count = 0
        while worker.deliver_one():
            count += 1
        done_by[worker.name] = count

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sum(done_by.values()) == 50
    if effects.is_postgres:
        assert all(done_by.values()), f"both workers should have shared the work: {done_by}"
    # No handler call happened twice, not even one whose transaction was later rolled back.
    calls = [ref for _, ref in sample.CALLS]
    assert sorted(calls) == sorted(refs)
    for ref in refs:
        assert sample.effect_count(effects, ref) == 1
    with effects.unit_of_work() as s:
        assert events.delivery_counts(s)[DONE] == 50
        assert s.scalar(select(EventDelivery).where(EventDelivery.attempts != 1)) is None


def test_handler_that_keeps_killing_its_worker_is_dead_lettered(effects, worker_settings):
    """Simulates workers dying mid-handler: each started attempt is committed, its outcome never is."""
    with effects.unit_of_work() as s:
        event_id = publish(s, SampleHappened(ref="poison-pill"))
    for n in range(worker_settings.worker_max_attempts):
        clock.travel(clock.now() + timedelta(hours=2))  # past any lease / backoff
        with effects.unit_of_work() as s:
            delivery = events.claim_due_delivery(s)
            assert delivery is not None and events.start_attempt(
                delivery, f"doomed-{n}", worker_settings.worker_max_attempts
            )
        # ... and here the worker process died.
        with effects.unit_of_work() as s:
            assert events.claim_due_delivery(s) is None  # leased: nobody retries at once
    clock.travel(clock.now() + timedelta(hours=2))
    assert Worker(effects, worker_settings).run_once() == 1
    with effects.unit_of_work() as s:
        delivery = s.scalar(select(EventDelivery).where(EventDelivery.event_id == event_id))
        assert delivery.status == DEAD and delivery.attempts == worker_settings.worker_max_attempts
        assert "started by worker doomed-2" in delivery.last_error and "did not finish" in delivery.last_error
    assert sample.CALLS == []  # the handler never ran a fourth time
