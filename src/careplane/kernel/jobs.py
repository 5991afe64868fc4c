"""Scheduled jobs: functions the worker runs on a cron expression or a fixed interval.

Each job has a row in ``job_schedules`` holding its next due time. A worker claims a due row
(SKIP LOCKED on PostgreSQL; the write lock on SQLite), moves ``next_run_at`` to the next tick and
commits, so however many workers poll, one tick starts once. It then locks the row again and runs
the job in that transaction, so a long run never overlaps the next tick's run on another worker.
A worker that dies mid-job leaves ``last_status`` at ``running`` and the next tick runs as usual
(no crash loop). Ticks missed while no worker ran are coalesced into one run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from croniter import croniter
from sqlalchemy import String, Text, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from careplane.kernel import clock
from careplane.kernel.db import Base

OK = "ok"
FAILED = "failed"
RUNNING = "running"


class JobSchedule(Base):
    __tablename__ = "job_schedules"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    schedule: Mapped[str] = mapped_column(String(100))
    next_run_at: Mapped[datetime] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(10))
    last_error: Mapped[str | None] = mapped_column(Text)


JobFn = Callable[[Session], None]
J = TypeVar("J", bound=JobFn)


@dataclass(frozen=True)
class Job:
    name: str
    fn: JobFn
    cron: str | None = None
    every: timedelta | None = None

    @property
    def schedule(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {int(self.every.total_seconds())}s"  # type: ignore[union-attr]

    def next_after(self, moment: datetime, anchor: datetime | None = None) -> datetime:
        """The first tick after ``moment``; interval ticks stay on the grid of ``anchor`` (a past due time)."""
        if self.cron:
            return croniter(self.cron, moment).get_next(datetime)
        every: timedelta = self.every  # type: ignore[assignment]
        if anchor is None or anchor > moment:
            return moment + every
        return anchor + every * ((moment - anchor) // every + 1)


_JOBS: dict[str, Job] = {}


def scheduled(name: str, *, cron: str | None = None, every: timedelta | None = None) -> Callable[[J], J]:
    """Register ``fn(session)`` to run on a cron expression (UTC) or every ``every``."""
    if (cron is None) == (every is None):
        raise ValueError("give exactly one of cron= or every=")
    if cron is not None and not croniter.is_valid(cron):
        raise ValueError(f"invalid cron expression {cron!r}")
    if every is not None and every <= timedelta(0):
        raise ValueError("every= must be a positive interval")

    def register(fn: J) -> J:
        existing = _JOBS.get(name)
        if existing is not None and (existing.fn.__module__, existing.fn.__qualname__) != (
            fn.__module__,
            fn.__qualname__,
        ):
            raise ValueError(f"job name {name!r} is already taken")
        _JOBS[name] = Job(name, fn, cron, every)
        return fn

    return register


def registered() -> dict[str, Job]:
    return dict(_JOBS)


def sync_schedules(session: Session) -> None:
    """Give every registered job a schedule row; a changed schedule is re-timed from now."""
    if not _JOBS:
        return
    now = clock.now()
    existing = {row.name: row for row in session.scalars(select(JobSchedule).where(JobSchedule.name.in_(_JOBS)))}
    missing = [job for name, job in _JOBS.items() if name not in existing]
    if missing:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(JobSchedule)
            .values([{"name": j.name, "schedule": j.schedule, "next_run_at": j.next_after(now)} for j in missing])
            .on_conflict_do_nothing(index_elements=["name"])
        )
    for name, row in existing.items():
        job = _JOBS[name]
        if row.schedule != job.schedule:
            row.schedule = job.schedule
            row.next_run_at = job.next_after(now)


def claim_due(session: Session) -> tuple[JobSchedule, Job] | None:
    """Lock one due schedule row of a job this process knows (other workers skip it) and start its run:
    the row moves on to the next tick. The caller commits this before running the job."""
    if not _JOBS:
        return None
    row = session.scalar(
        select(JobSchedule)
        .where(JobSchedule.name.in_(_JOBS), JobSchedule.next_run_at <= clock.now())
        .order_by(JobSchedule.next_run_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if row is None:
        return None
    job = _JOBS[row.name]
    now = clock.now()
    row.last_run_at = now
    row.last_status = RUNNING
    row.last_error = None
    row.next_run_at = job.next_after(now, anchor=row.next_run_at)
    return row, job


def lock_started(session: Session, name: str, started_at: datetime) -> JobSchedule | None:
    """Lock the row of a run this worker started (waiting out another worker's brief claim scan)."""
    return session.scalar(
        select(JobSchedule)
        .where(JobSchedule.name == name, JobSchedule.last_run_at == started_at, JobSchedule.last_status == RUNNING)
        .with_for_update()
    )


def finish(row: JobSchedule, error: str | None) -> None:
    row.last_status = FAILED if error else OK
    row.last_error = error[:4000] if error else None


def schedules(session: Session) -> list[JobSchedule]:
    return list(session.scalars(select(JobSchedule).order_by(JobSchedule.name)))
