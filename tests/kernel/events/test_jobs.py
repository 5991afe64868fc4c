"""Scheduled jobs: due ticks run once, however many workers poll."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from careplane.kernel import clock, jobs
from careplane.kernel.jobs import JobSchedule, scheduled
from careplane.kernel.worker import Worker
from tests.kernel.events import sample
from tests.kernel.events.sample import Effect

START = datetime(2026, 6, 1, 9, 0, 30, tzinfo=UTC)


def _near(a: datetime, b: datetime) -> bool:
    """Equal but for the moments the test itself takes (the travelled clock keeps running)."""
    return abs(a - b) < timedelta(seconds=2)


def _schedule(db, name):
    with db.unit_of_work() as s:
        return s.get(JobSchedule, name)


def test_every_job_runs_once_per_due_tick(effects, worker_settings):
    clock.travel(START)

    @scheduled("tests.tick", every=timedelta(minutes=5))
    def tick(session):  # noqa: ANN001, ANN202
        session.add(Effect(ref="tick", note=clock.now().isoformat()))

    worker = Worker(effects, worker_settings)
    assert worker.run_once() == 0  # registered, first due in five minutes
    row = _schedule(effects, "tests.tick")
    assert (row.schedule, row.last_run_at) == ("every 300s", None)
    assert _near(row.next_run_at, START + timedelta(minutes=5))
    due = row.next_run_at

    clock.travel(START + timedelta(minutes=5, seconds=1))
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    assert sample.effect_count(effects, "tick") == 1
    row = _schedule(effects, "tests.tick")
    assert row.last_status == "ok" and _near(row.last_run_at, START + timedelta(minutes=5, seconds=1))
    assert row.next_run_at == due + timedelta(minutes=5)  # on the grid, not drifting with run times

    # An hour with no worker: the missed ticks coalesce into one run.
    clock.travel(START + timedelta(hours=1, minutes=6))
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    assert sample.effect_count(effects, "tick") == 2
    assert _schedule(effects, "tests.tick").next_run_at == due + timedelta(minutes=65)


def test_cron_job_and_a_failure_is_recorded(effects, worker_settings):
    clock.travel(START)

    @scheduled("tests.nightly", cron="0 2 * * *")
    def nightly(session):  # noqa: ANN001, ANN202
        session.add(Effect(ref="nightly", note="half-done"))
        session.flush()
        raise RuntimeError("statement printer offline")

    worker = Worker(effects, worker_settings)
    worker.run_once()
    assert _schedule(effects, "tests.nightly").next_run_at == datetime(2026, 6, 2, 2, 0, tzinfo=UTC)

    clock.travel(datetime(2026, 6, 2, 2, 0, 5, tzinfo=UTC))
    assert worker.run_once() == 1
    row = _schedule(effects, "tests.nightly")
    assert row.last_status == "failed" and "statement printer offline" in row.last_error
    assert row.next_run_at == datetime(2026, 6, 3, 2, 0, tzinfo=UTC)
    assert sample.effect_count(effects, "nightly") == 0  # the failed run's writes were undone


def test_changed_schedule_is_retimed(effects, worker_settings):
    clock.travel(START)

    @scheduled("tests.moving", every=timedelta(hours=6))
    def moving(session):  # noqa: ANN001, ANN202
        pass

    Worker(effects, worker_settings).run_once()
    assert _near(_schedule(effects, "tests.moving").next_run_at, START + timedelta(hours=6))
    scheduled("tests.moving", every=timedelta(minutes=1))(moving)
    Worker(effects, worker_settings).run_once()
    row = _schedule(effects, "tests.moving")
    assert row.schedule == "every 60s" and _near(row.next_run_at, START + timedelta(minutes=1))


def test_two_workers_run_a_due_tick_once(effects, worker_settings):
    clock.travel(START)
    calls: list[str] = []

    @scheduled("tests.shared", every=timedelta(minutes=1))
    def shared(session):  # noqa: ANN001, ANN202
        calls.append(threading.current_thread().name)
        session.add(Effect(ref="shared", note="run"))
        session.flush()
        threading.Event().wait(0.05)  # hold the claim while the other worker looks

    workers = [Worker(effects, worker_settings, name=f"w{n}") for n in range(2)]
    workers[0].run_once()  # create the schedule row
    clock.travel(START + timedelta(minutes=1, seconds=1))
    barrier = threading.Barrier(2)

    def poll(worker: Worker) -> None:
        barrier.wait()
        for _ in range(3):
            worker.run_once()

    threads = [threading.Thread(target=poll, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(calls) == 1
    assert sample.effect_count(effects, "shared") == 1


def test_schedule_arguments_are_checked():
    with pytest.raises(ValueError, match="exactly one"):
        scheduled("x")
    with pytest.raises(ValueError, match="exactly one"):
        scheduled("x", cron="* * * * *", every=timedelta(minutes=1))
    with pytest.raises(ValueError, match="invalid cron"):
        scheduled("x", cron="every tuesday")
    with pytest.raises(ValueError, match="positive"):
        scheduled("x", every=timedelta(0))

    @scheduled("taken", every=timedelta(minutes=1))
    def first(session):  # noqa: ANN001, ANN202
        pass

    with pytest.raises(ValueError, match="already taken"):

        @scheduled("taken", every=timedelta(minutes=1))
        def second(session):  # noqa: ANN001, ANN202
            pass


def test_jobs_unknown_to_this_process_are_left_alone(effects, worker_settings):
    clock.travel(START)
    with effects.unit_of_work() as s:
        s.add(JobSchedule(name="other.release.job", schedule="every 60s", next_run_at=START - timedelta(hours=1)))
    assert Worker(effects, worker_settings).run_once() == 0
    with effects.unit_of_work() as s:
        assert s.scalar(select(JobSchedule.last_run_at).where(JobSchedule.name == "other.release.job")) is None


def test_a_run_whose_worker_died_is_not_retried_in_a_loop(effects, worker_settings):
    clock.travel(START)
    calls: list[str] = []

    @scheduled("tests.crashy", every=timedelta(minutes=10))
    def crashy(session):  # noqa: ANN001, ANN202
        calls.append("ran")

    worker = Worker(effects, worker_settings)
    worker.run_once()
    clock.travel(START + timedelta(minutes=10, seconds=1))
    with effects.unit_of_work() as s:
        assert jobs.claim_due(s) is not None
    # ... the worker died here, before the job could finish.
    row = _schedule(effects, "tests.crashy")
    assert row.last_status == "running" and row.next_run_at > clock.now()
    assert worker.run_once() == 0 and calls == []  # the tick it started is not run again at once

    clock.travel(START + timedelta(minutes=20, seconds=2))
    assert worker.run_once() == 1 and calls == ["ran"]
    assert _schedule(effects, "tests.crashy").last_status == "ok"
