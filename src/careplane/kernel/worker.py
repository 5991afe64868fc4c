"""The background worker: delivers outbox events to their handlers and runs scheduled jobs.

Run as many as you like against PostgreSQL (``careplane worker`` on several machines); each item
is claimed with SKIP LOCKED so no two workers run it at once. Embedded mode runs one inside
``careplane serve``. Each item takes two transactions: a short one that claims it and counts the
attempt (or moves the schedule on), then one that holds its row lock while the handler or job runs
and records the outcome with the handler's own writes. A handler has a time limit
(``CAREPLANE_WORKER_HANDLER_TIMEOUT_SECONDS``, :mod:`careplane.kernel.handler_time_limit`): one that
hangs is stopped, its transaction rolled back, and the attempt counted as failed, and the worker
goes on with the next item.
"""

from __future__ import annotations

import logging
import threading
import traceback
import uuid
from datetime import datetime, timedelta

from prometheus_client import Counter

from careplane import wiring
from careplane.kernel import events, handler_time_limit, jobs
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
        limit = self.settings.worker_handler_timeout_seconds
        with self.db.unit_of_work() as session:
            delivery = events.claim_due_delivery(session)
            if delivery is None:
                return False
            in_transaction = events.runs_in_transaction(session, delivery)
            # A handler that holds no row lock while it runs is leased for its whole time limit.
            lease = None if in_transaction else timedelta(seconds=limit + 5)
            started = events.start_attempt(delivery, self.name, max_attempts, lease=lease)
            delivery_id, attempt, handler_name = delivery.id, delivery.attempts, delivery.handler
        if not started:
            log.error(
                "event delivery dead: its worker stopped mid-handler on every attempt",
                extra={"fields": {"worker": self.name, "delivery_id": str(delivery_id), "handler": handler_name}},
            )
            DELIVERIES.labels("dead").inc()
            return True
        if not in_transaction:
            self._deliver_outside_transaction(delivery_id, attempt, handler_name)
            return True
        try:
            with self.db.unit_of_work() as session:
                delivery = events.lock_started(session, delivery_id, attempt)
                if delivery is None:  # replayed or otherwise moved on since we started it
                    return True
                event_name, event = events.event_of(session, delivery)
                fn = events.handler(event_name, handler_name)
                try:
                    handler_time_limit.run_in_transaction(
                        self.db.engine, session, lambda s: fn(s, event), limit, handler_name
                    )
                except handler_time_limit.HandlerTimedOut:
                    raise  # the transaction is gone: recorded below, in a fresh one
                except Exception as exc:  # noqa: BLE001 - any handler failure is recorded, never fatal
                    events.record_failure(delivery, _error_text(exc), max_attempts)
                    self._log_failure(delivery_id, handler_name, attempt, delivery.status, exc)
                    DELIVERIES.labels("dead" if delivery.status == events.DEAD else "retry").inc()
                else:
                    events.mark_done(delivery)
                    DELIVERIES.labels("done").inc()
        except handler_time_limit.HandlerTimedOut as exc:
            self._settle_timeout(delivery_id, handler_name, attempt, exc)
        except Exception as exc:  # noqa: BLE001 - the transaction itself broke (lost connection, ...)
            log.exception(
                "delivery transaction failed", extra={"fields": {"worker": self.name, "delivery_id": str(delivery_id)}}
            )
            with self.db.unit_of_work() as session:
                events.record_failure_by_id(session, delivery_id, attempt, _error_text(exc), max_attempts)
        return True

    def _deliver_outside_transaction(self, delivery_id: uuid.UUID, attempt: int, handler_name: str) -> None:
        """A ``transaction=False`` handler: called with the database and no transaction open, then
        its outcome recorded in a short transaction of its own."""
        max_attempts = self.settings.worker_max_attempts
        with self.db.unit_of_work() as session:
            delivery = events.lock_started(session, delivery_id, attempt)
            if delivery is None:
                return
            event_name, event = events.event_of(session, delivery)
        fn = events.outside_handler(event_name, handler_name)
        try:
            handler_time_limit.run_alone(
                lambda: fn(self.db, event), self.settings.worker_handler_timeout_seconds, handler_name
            )
        except handler_time_limit.HandlerTimedOut as exc:
            self._settle_timeout(delivery_id, handler_name, attempt, exc)
            return
        except Exception as exc:  # noqa: BLE001 - any handler failure is recorded, never fatal
            with self.db.unit_of_work() as session:
                delivery = events.lock_started(session, delivery_id, attempt)
                if delivery is not None:
                    events.record_failure(delivery, _error_text(exc), max_attempts)
                    self._log_failure(delivery_id, handler_name, attempt, delivery.status, exc)
                    DELIVERIES.labels("dead" if delivery.status == events.DEAD else "retry").inc()
            return
        with self.db.unit_of_work() as session:
            delivery = events.lock_started(session, delivery_id, attempt)
            if delivery is not None:
                events.mark_done(delivery)
                DELIVERIES.labels("done").inc()

    def _settle_timeout(
        self, delivery_id: uuid.UUID, handler_name: str, attempt: int, exc: handler_time_limit.HandlerTimedOut
    ) -> None:
        """A handler ran out of time: a failed attempt like any other (backoff, then the dead letters)."""
        with self.db.unit_of_work() as session:
            delivery = events.lock_started(session, delivery_id, attempt)
            if delivery is None:
                return
            events.record_failure(delivery, _error_text(exc), self.settings.worker_max_attempts)
            self._log_failure(delivery_id, handler_name, attempt, delivery.status, exc)
            DELIVERIES.labels("dead" if delivery.status == events.DEAD else "timeout").inc()

    def _log_failure(
        self, delivery_id: uuid.UUID, handler: str, attempts: int, status: str, exc: BaseException
    ) -> None:
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
                log.warning(
                    "scheduled job failed", exc_info=exc, extra={"fields": {"worker": self.name, "job": job.name}}
                )
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
