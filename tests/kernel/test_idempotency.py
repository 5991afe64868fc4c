import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from careplane.kernel.access import Actor
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.idempotency import IdempotencyKeyReused, IdempotencyRecord, run_once

ACTOR = Actor(user_id=uuid.uuid4(), label="client@example.org")


def test_same_key_and_body_replays_without_acting(db):
    calls = []

    def action():  # noqa: ANN202
        calls.append(1)
        return 201, {"n": len(calls)}

    for _ in range(3):
        with db.unit_of_work() as s:
            outcome = run_once(s, ACTOR, "k1", method="POST", path="/things", payload={"a": 1}, action=action)
        assert (outcome.status, outcome.body) == (201, {"n": 1})
    assert len(calls) == 1
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def test_same_key_different_body_or_path_is_refused(db):
    with db.unit_of_work() as s:
        run_once(s, ACTOR, "k2", method="POST", path="/things", payload={"a": 1}, action=lambda: (201, {}))
    for path, payload in [("/things", {"a": 2}), ("/other", {"a": 1})]:
        with pytest.raises(IdempotencyKeyReused), db.unit_of_work() as s:
            run_once(s, ACTOR, "k2", method="POST", path=path, payload=payload, action=lambda: (201, {}))


def test_bad_keys_and_no_key(db):
    with pytest.raises(ValidationFailed), db.unit_of_work() as s:
        run_once(s, ACTOR, "x" * 201, method="POST", path="/t", payload={}, action=lambda: (201, {}))
    calls = []
    for _ in range(2):
        with db.unit_of_work() as s:
            run_once(
                s, ACTOR, None, method="POST", path="/t", payload={}, action=lambda: (calls.append(1), (201, {}))[1]
            )
    assert len(calls) == 2


def test_a_failed_action_leaves_the_key_free(db):
    def boom():  # noqa: ANN202
        raise RuntimeError("downstream failed")

    with pytest.raises(RuntimeError), db.unit_of_work() as s:
        run_once(s, ACTOR, "k3", method="POST", path="/t", payload={}, action=boom)
    with db.unit_of_work() as s:
        outcome = run_once(s, ACTOR, "k3", method="POST", path="/t", payload={}, action=lambda: (201, {"ok": True}))
    assert outcome.body == {"ok": True} and not outcome.replayed


def test_concurrent_duplicate_waits_for_the_first_and_replays(db):
    acted: list[str] = []
    started, release = threading.Event(), threading.Event()
    results: list[object] = []
    errors: list[BaseException] = []

    def first() -> None:
        def action():  # noqa: ANN202
            acted.append("first")
            started.set()
            release.wait(10)
            return 201, {"by": "first"}

        try:
            with db.unit_of_work() as s:
                run_once(s, ACTOR, "k4", method="POST", path="/t", payload={"x": 1}, action=action)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def second() -> None:
        def action():  # noqa: ANN202
            acted.append("second")
            return 201, {"by": "second"}

        try:
            with db.unit_of_work() as s:
                results.append(run_once(s, ACTOR, "k4", method="POST", path="/t", payload={"x": 1}, action=action))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t1 = threading.Thread(target=first)
    t1.start()
    assert started.wait(10)
    t2 = threading.Thread(target=second)
    t2.start()
    time.sleep(0.3)
    assert t2.is_alive(), "the second request must wait while the first is in flight"
    release.set()
    t1.join(10)
    t2.join(10)
    assert not errors, errors
    assert acted == ["first"]
    assert results[0].replayed and results[0].body == {"by": "first"}
