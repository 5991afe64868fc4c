"""A handler that hangs is stopped at its time limit: its transaction is rolled back (its locks,
SQLite's write lock among them, go at once), the attempt counts as failed with backoff and then
the dead letters, and the worker goes on with the next delivery."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.db import Database
from careplane.kernel.events import DEAD, DONE, PENDING, DomainEvent, EventDelivery, handles, publish
from careplane.kernel.worker import Worker
from tests.kernel.events import sample
from tests.kernel.events.sample import Effect, SampleHappened

#: Set to let the hung handlers go (at the end of each test).
RELEASE = threading.Event()
#: Set by a hung handler that got past its hang, with what its late write met.
LATE: list[str] = []


@dataclass(frozen=True)
class HangsInTransaction(DomainEvent):
    ref: str


@dataclass(frozen=True)
class HangsOutside(DomainEvent):
    ref: str


@handles(HangsInTransaction)
def write_then_hang(session: Session, event: HangsInTransaction) -> None:
    session.add(Effect(ref=event.ref, note="before the hang"))
    session.flush()
    RELEASE.wait(60)
    try:
        session.add(Effect(ref=event.ref, note="after the hang"))
        session.flush()
        LATE.append("wrote")
    except Exception as exc:  # noqa: BLE001 - what the test wants to see
        LATE.append(type(exc).__name__)


#: What a handler outside a transaction saw of its own delivery's lease, and when.
LEASES: list[tuple[datetime, datetime]] = []


@handles(HangsOutside, transaction=False)
def hang_outside(db: Database, event: HangsOutside) -> None:
    # No transaction is open: on SQLite this unit of work would wait for the write lock otherwise.
    with db.unit_of_work() as s:
        lease = s.scalar(select(EventDelivery.next_attempt_at).where(EventDelivery.handler.endswith("hang_outside")))
    LEASES.append((clock.now(), lease))
    RELEASE.wait(60)


@pytest.fixture
def limited(worker_settings):  # noqa: ANN001, ANN201
    RELEASE.clear()
    LATE.clear()
    LEASES.clear()
    yield worker_settings.model_copy(update={"worker_handler_timeout_seconds": 0.5})
    RELEASE.set()


def _delivery(db: Database, handler: str) -> EventDelivery:
    with db.unit_of_work() as s:
        return s.scalar(select(EventDelivery).where(EventDelivery.handler.endswith(handler)))


def test_a_hanging_handler_is_stopped_counted_as_failed_and_the_worker_goes_on(effects, limited):
    start = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    clock.travel(start)
    with effects.unit_of_work() as s:
        publish(s, HangsInTransaction(ref="hung"))
    clock.travel(start + timedelta(seconds=1))
    with effects.unit_of_work() as s:
        publish(s, SampleHappened(ref="after"))
    worker = Worker(effects, limited)

    began = time.monotonic()
    assert worker.run_once() == 2  # the hung one, then the next
    assert time.monotonic() - began < 10
    hung = _delivery(effects, "write_then_hang")
    assert (hung.status, hung.attempts) == (PENDING, 1)
    assert "did not finish within 0.5 s" in hung.last_error
    assert hung.next_attempt_at > clock.now()  # backoff, as for any failure
    assert _delivery(effects, "record_effect").status == DONE
    assert sample.effect_count(effects, "after") == 1
    assert sample.effect_count(effects, "hung") == 0  # its write was rolled back

    # Its locks are gone although its thread still hangs: a write gets through at once.
    began = time.monotonic()
    with effects.unit_of_work() as s:
        s.add(Effect(ref="meanwhile", note="x"))
    assert time.monotonic() - began < 2

    # The attempts run out like any failure's: then it is a dead letter.
    for step in (10, 60):
        clock.travel(start + timedelta(seconds=step))
        assert worker.run_once() == 1
    assert _delivery(effects, "write_then_hang").status == DEAD

    # Let the hung handlers go: what they write late fails, and nothing of them is ever committed.
    RELEASE.set()
    deadline = time.monotonic() + 10
    while len(LATE) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(LATE) == 3 and "wrote" not in LATE, LATE
    assert sample.effect_count(effects, "hung") == 0


def test_a_handler_outside_a_transaction_is_bounded_too(effects, limited):
    with effects.unit_of_work() as s:
        publish(s, HangsOutside(ref="away"))
        publish(s, SampleHappened(ref="next"))
    began = time.monotonic()
    assert Worker(effects, limited).run_once() == 2
    assert time.monotonic() - began < 10
    away = _delivery(effects, "hang_outside")
    assert (away.status, away.attempts) == (PENDING, 1) and "did not finish within" in away.last_error
    # while it ran it was leased for its time limit and more, so no other worker started it meanwhile
    [(seen_at, lease)] = LEASES
    assert lease >= seen_at + timedelta(seconds=limited.worker_handler_timeout_seconds)
    assert sample.effect_count(effects, "next") == 1
