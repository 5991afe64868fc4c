"""The background worker: delivers outbox events to their handlers and runs scheduled jobs.

Run as many as you like against PostgreSQL (``careplane worker`` on several machines); each item
is claimed with SKIP LOCKED so no two workers run it at once. Embedded mode runs one inside
``careplane serve``. Each item takes two transactions: a short one that claims it and counts the
attempt (or moves the schedule on), then one that holds its row lock while the handler or job runs
and records the outcome with the handler's own writes.
"""

from __future__ import annotations

import logging
import threading
import traceback
import uuid
from datetime import datetime

from prometheus_client import Counter

from careplane import wiring
from careplane.kernel import events, jobs
from careplane.kernel.db import Database
from careplane.settings import Settings

log = logging.getLogger("careplane.worker")

DELIVERIES = Counter("careplane_event_deliveries_total", "Event deliveries processed", ["outcome"])
JOB_RUNS = Counter("careplane_job_runs_total", "Scheduled job runs", ["job", "outcome"])

#: Most deliveries one run_once handles before it looks at the schedules again.
BATCH = 100


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class Worker:
    def __init__(self, db: Database, settings: Settings, name: str = "worker") -> None:
        self.db = db
        self.settings = settings
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        wiring.load_all()

    # ------------------------------------------------------------ one pass

    def run_once(self, max_deliveries: int = BATCH) -> int:
        """Run every due job and up to ``max_deliveries`` due deliveries; returns how many items ran."""
        done = self._run_due_jobs()
        for _ in range(max_deliveries):
            if self._stop.is_set() or not self.deliver_one():
                break
            done += 1
        return done

    def deliver_one(self) -> bool:
        """Claim, run and settle one due delivery. False when none was due."""
        max_attempts = self.settings.worker_max_attempts
        with self.db.unit_of_work() as session:
            delivery = events.claim_due_delivery(session)
            if delivery is None:
                return False
            started = events.start_attempt(delivery, self.name, max_attempts)
            delivery_id, attempt, handler_name = delivery.id, delivery.attempts, delivery.handler
        if not started:
            log.error(
                "event delivery dead: its worker stopped mid-handler on every attempt",
                extra={"fields": {"worker": self.name, "delivery_id": str(delivery_id), "handler": handler_name}},
            )
            DELIVERIES.labels("dead").inc()
            return True
        try:
            with self.db.unit_of_work() as session:
                delivery = events.lock_started(session, delivery_id, attempt)
                if delivery is None:  # replayed or otherwise moved on since we started it
                    return True
                try:
                    with session.begin_nested():
                        events.run_delivery(session, delivery)
                except Exception as exc:  # noqa: BLE001 - any handler failure is recorded, never fatal
                    events.record_failure(delivery, _error_text(exc), max_attempts)
                    self._log_failure(delivery_id, handler_name, attempt, delivery.status, exc)
                    DELIVERIES.labels("dead" if delivery.status == events.DEAD else "retry").inc()
                else:
                    DELIVERIES.labels("done").inc()
        except Exception as exc:  # noqa: BLE001 - the transaction itself broke (lost connection, ...)
            log.exception("delivery transaction failed", extra={"fields": {"worker": self.name, "delivery_id": str(delivery_id)}})
            with self.db.unit_of_work() as session:
                events.record_failure_by_id(session, delivery_id, attempt, _error_text(exc), max_attempts)
        return True

    def _log_failure(self, delivery_id: uuid.UUID, handler: str, attempts: int, status: str, exc: BaseException) -> None:
        log.warning(
            "event handler failed",
            exc_info=exc,
            extra={
                "fields": {
                    "worker": self.name,
                    "delivery_id": str(delivery_id),
                    "handler": handler,
                    "attempts": attempts,
                    "status": status,
                }
            },
        )

    def _run_due_jobs(self) -> int:
        if not jobs.registered():
            return 0
        with self.db.unit_of_work() as session:
            jobs.sync_schedules(session)
        ran = 0
        # At most one run per registered job each pass, so a job due every second cannot starve the events.
        for _ in range(len(jobs.registered())):
            if self._stop.is_set():
                break
            with self.db.unit_of_work() as session:
                claimed = jobs.claim_due(session)
                if claimed is None:
                    break
                row, job = claimed
                started_at = row.last_run_at
            self._run_job(job, started_at)  # type: ignore[arg-type]
            ran += 1
        return ran

    def _run_job(self, job: jobs.Job, started_at: datetime) -> None:
        with self.db.unit_of_work() as session:
            row = jobs.lock_started(session, job.name, started_at)
            if row is None:
                return
            error = None
            try:
                with session.begin_nested():
                    job.fn(session)
            except Exception as exc:  # noqa: BLE001 - a failing job is recorded and runs again next tick
                error = _error_text(exc)
                log.warning("scheduled job failed", exc_info=exc, extra={"fields": {"worker": self.name, "job": job.name}})
            jobs.finish(row, error)
            JOB_RUNS.labels(job.name, "failed" if error else "ok").inc()

    # ------------------------------------------------------------ running

    def run_forever(self, stop: threading.Event | None = None) -> None:
        """Poll until ``stop`` (or :meth:`stop`) is set; the item in hand is always finished."""
        if stop is not None:
            self._stop = stop
        log.info("worker started", extra={"fields": {"worker": self.name}})
        while not self._stop.is_set():
            try:
                done = self.run_once()
            except Exception:  # noqa: BLE001 - e.g. the database is briefly away: wait and try again
                log.exception("worker pass failed", extra={"fields": {"worker": self.name}})
                done = 0
            if done == 0:
                self._stop.wait(self.settings.worker_poll_seconds)
        log.info("worker stopped", extra={"fields": {"worker": self.name}})

    def start_in_thread(self) -> threading.Thread:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_forever, name=f"careplane-worker-{self.name}", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the worker to stop after the item in hand, and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
