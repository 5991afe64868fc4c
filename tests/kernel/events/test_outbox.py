"""Publishing into the outbox and delivering from it, on both engines."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from careplane.kernel import clock, events
from careplane.kernel.errors import Conflict, NotFound
from careplane.kernel.events import DEAD, DONE, PENDING, EventDelivery, OutboxEvent, publish
from careplane.kernel.worker import Worker
from tests.kernel.events import sample
from tests.kernel.events.sample import Colour, FannedOut, SampleHappened


def _deliveries(db, event_id=None):
    with db.unit_of_work() as s:
        query = select(EventDelivery).order_by(EventDelivery.handler)
        if event_id is not None:
            query = query.where(EventDelivery.event_id == event_id)
        return list(s.scalars(query))


def test_publish_writes_outbox_and_a_delivery_per_handler(effects):
    with effects.unit_of_work() as s:
        event_id = publish(s, FannedOut(ref="f1"))
    with effects.unit_of_work() as s:
        row = s.get(OutboxEvent, event_id)
        assert row.name == "tests.kernel.events.sample.FannedOut"
        assert row.payload == {"ref": "f1"}
    assert [(d.handler, d.status, d.attempts) for d in _deliveries(effects, event_id)] == [
        ("fan.first", PENDING, 0),
        ("fan.second", PENDING, 0),
    ]


def test_publish_in_rolled_back_transaction_leaves_nothing(effects):
    with pytest.raises(RuntimeError), effects.unit_of_work() as s:
        publish(s, SampleHappened(ref="never"))
        raise RuntimeError("the business change failed")
    with effects.unit_of_work() as s:
        assert s.scalar(select(OutboxEvent)) is None
        assert s.scalar(select(EventDelivery)) is None


def test_payload_round_trips_typed_fields(effects, worker_settings):
    pid = uuid.uuid4()
    at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    sent = SampleHappened(
        ref="typed",
        patient_id=pid,
        at=at,
        day=date(2026, 3, 4),
        count=3,
        urgent=True,
        colour=Colour.BLUE,
        tags=("a", "b"),
    )
    with effects.unit_of_work() as s:
        event_id = publish(s, sent)
    with effects.unit_of_work() as s:
        assert s.get(OutboxEvent, event_id).payload["patient_id"] == str(pid)
    assert Worker(effects, worker_settings).run_once() == 1
    assert sample.SEEN == [sent]  # noqa: SIM300 - SEEN is the list the handler fills, not a constant


def test_publish_refuses_what_cannot_be_stored(effects):
    with pytest.raises(TypeError, match="timezone-aware"), effects.unit_of_work() as s:
        publish(s, SampleHappened(ref="naive", at=datetime(2026, 1, 1)))
    with pytest.raises(TypeError, match="not JSON-able"), effects.unit_of_work() as s:
        publish(s, SampleHappened(ref="bad", tags=(object(),)))  # type: ignore[arg-type]
    with pytest.raises(TypeError), effects.unit_of_work() as s:
        publish(s, "not an event")  # type: ignore[arg-type]


def test_handler_effect_and_done_mark_commit_together(effects, worker_settings):
    with effects.unit_of_work() as s:
        event_id = publish(s, FannedOut(ref="together"))
    worker = Worker(effects, worker_settings)
    assert worker.run_once() == 2
    assert sample.effect_count(effects, "together") == 2
    for delivery in _deliveries(effects, event_id):
        assert delivery.status == DONE and delivery.attempts == 1 and delivery.completed_at is not None
    # Nothing left: a second pass does nothing and no handler runs again.
    assert worker.run_once() == 0
    assert sorted(sample.CALLS) == [("fan.first", "together"), ("fan.second", "together")]


def test_failing_handler_backs_off_then_dead_letters_then_replays(effects, worker_settings):
    start = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    clock.travel(start)
    with effects.unit_of_work() as s:
        event_id = publish(s, SampleHappened(ref="flaky", mode="fail"))
    worker = Worker(effects, worker_settings)

    assert worker.run_once() == 1
    [delivery] = _deliveries(effects, event_id)
    assert delivery.status == PENDING and delivery.attempts == 1
    assert "downstream refused flaky" in delivery.last_error
    wait = delivery.next_attempt_at - clock.now()
    assert timedelta(seconds=1.5) <= wait <= timedelta(seconds=2.5)  # 2**1 s with jitter
    # The failed attempt's write was rolled back with it.
    assert sample.effect_count(effects, "flaky") == 0

    # Not due yet: nothing happens.
    assert worker.run_once() == 0
    clock.travel(start + timedelta(seconds=3))
    assert worker.run_once() == 1
    [delivery] = _deliveries(effects, event_id)
    assert delivery.attempts == 2 and delivery.status == PENDING
    assert timedelta(seconds=3) <= delivery.next_attempt_at - clock.now() <= timedelta(seconds=5)  # 2**2 s

    clock.travel(start + timedelta(seconds=10))
    assert worker.run_once() == 1
    [delivery] = _deliveries(effects, event_id)
    assert delivery.status == DEAD and delivery.attempts == worker_settings.worker_max_attempts

    # Dead letters are never picked up again, however long we wait.
    clock.travel(start + timedelta(days=1))
    assert worker.run_once() == 0
    with effects.unit_of_work() as s:
        assert events.delivery_counts(s) == {PENDING: 0, DONE: 0, DEAD: 1}
        assert [d.id for d, _ in events.dead_deliveries(s)] == [delivery.id]

    sample.FIXED["value"] = True
    with effects.unit_of_work() as s:
        events.replay(s, delivery.id)
    assert worker.run_once() == 1
    [delivery] = _deliveries(effects, event_id)
    assert delivery.status == DONE and delivery.last_error is None
    assert sample.effect_count(effects, "flaky") == 1


def test_replay_refuses_deliveries_that_are_not_dead(effects, worker_settings):
    with effects.unit_of_work() as s:
        event_id = publish(s, SampleHappened(ref="fine"))
    [delivery] = _deliveries(effects, event_id)
    with pytest.raises(Conflict), effects.unit_of_work() as s:
        events.replay(s, delivery.id)
    with pytest.raises(NotFound), effects.unit_of_work() as s:
        events.replay(s, uuid.uuid4())
    with effects.unit_of_work() as s:
        assert events.replay_all_dead(s) == 0


def test_replay_all_dead(effects, worker_settings):
    worker = Worker(effects, worker_settings.model_copy(update={"worker_max_attempts": 1}))
    with effects.unit_of_work() as s:
        for n in range(3):
            publish(s, SampleHappened(ref=f"d{n}", mode="fail"))
    assert worker.run_once() == 3
    sample.FIXED["value"] = True
    with effects.unit_of_work() as s:
        assert events.replay_all_dead(s) == 3
    assert worker.run_once() == 3
    with effects.unit_of_work() as s:
        assert events.delivery_counts(s) == {PENDING: 0, DONE: 3, DEAD: 0}
    assert sample.effect_count(effects) == 3


def test_redelivery_after_a_failed_attempt_acts_once(effects, worker_settings):
    clock.travel(datetime(2026, 5, 1, tzinfo=UTC))
    with effects.unit_of_work() as s:
        publish(s, SampleHappened(ref="again", mode="fail_once"))
    worker = Worker(effects, worker_settings)
    assert worker.run_once() == 1
    clock.travel(datetime(2026, 5, 1, 0, 1, tzinfo=UTC))
    assert worker.run_once() == 1
    # The handler ran twice; its write exists once.
    assert [c for c in sample.CALLS if c[1] == "again"] == [("record_effect", "again")] * 2
    assert sample.effect_count(effects, "again") == 1


def test_unknown_handler_is_recorded_not_fatal(effects, worker_settings):
    with effects.unit_of_work() as s:
        event_id = publish(s, SampleHappened(ref="orphan"))
        s.add(
            EventDelivery(
                event_id=event_id, handler="gone.handler", status=PENDING, attempts=0, next_attempt_at=clock.now()
            )
        )
    worker = Worker(effects, worker_settings.model_copy(update={"worker_max_attempts": 1}))
    assert worker.run_once() == 2
    by_handler = {d.handler: d for d in _deliveries(effects, event_id)}
    assert by_handler["gone.handler"].status == DEAD
    assert "no handler 'gone.handler'" in by_handler["gone.handler"].last_error
    assert by_handler["tests.kernel.events.sample.record_effect"].status == DONE


def test_unknown_event_type_is_recorded_not_fatal(effects, worker_settings):
    with effects.unit_of_work() as s:
        row = OutboxEvent(name="nowhere.module.Vanished", payload={}, occurred_at=clock.now())
        s.add(row)
        s.flush()
        s.add(EventDelivery(event_id=row.id, handler="x", status=PENDING, attempts=0, next_attempt_at=clock.now()))
    assert Worker(effects, worker_settings).run_once() == 1
    [delivery] = _deliveries(effects)
    assert delivery.status == PENDING and delivery.attempts == 1
    assert "unknown event type 'nowhere.module.Vanished'" in delivery.last_error


def test_handler_names_are_unique_per_event():
    with pytest.raises(ValueError, match="already taken"):

        @events.handles(FannedOut, name="fan.first")
        def impostor(session, event):  # noqa: ANN001, ANN202
            pass


def test_backoff_grows_and_is_capped():
    assert timedelta(seconds=1.6) <= events.backoff(1) <= timedelta(seconds=2.4)
    assert timedelta(seconds=204) <= events.backoff(8) <= timedelta(seconds=308)
    assert events.backoff(40) <= events.MAX_BACKOFF * 1.2


def test_prune_keeps_unfinished_and_recent_events(effects, worker_settings):
    old = datetime(2026, 1, 1, tzinfo=UTC)
    clock.travel(old)
    with effects.unit_of_work() as s:
        delivered = publish(s, FannedOut(ref="old-done"))
        stuck = publish(s, SampleHappened(ref="old-dead", mode="fail"))
        waiting = publish(s, SampleHappened(ref="old-pending"))
        s.execute(
            update(EventDelivery)
            .where(EventDelivery.event_id == waiting)
            .values(next_attempt_at=old + timedelta(days=90))
        )
    worker = Worker(effects, worker_settings.model_copy(update={"worker_max_attempts": 1}))
    assert worker.run_once() == 3
    clock.travel(old + timedelta(days=40))
    with effects.unit_of_work() as s:
        recent = publish(s, FannedOut(ref="new-done"))
    assert worker.run_once() == 2
    with effects.unit_of_work() as s:
        assert events.oldest_pending_at(s) == old + timedelta(days=90)
        assert events.prune_delivered(s) == 1
    with effects.unit_of_work() as s:
        assert set(s.scalars(select(OutboxEvent.id))) == {stuck, waiting, recent}
        assert s.scalar(select(EventDelivery).where(EventDelivery.event_id == delivered)) is None
