"""Capture, void and refund: the amounts they may move, the statuses they lead to, the transitions
they refuse, and acting once per idempotency key."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from careplane.kernel.errors import Conflict, NotFound, ValidationFailed
from careplane.kernel.money import Money
from careplane.kernel.payments import PaymentStatus, capture, history, refund, void
from tests.kernel.payments.builders import authorised, key


def test_capture_part_then_refund_in_parts_up_to_what_was_captured(db) -> None:
    payment = authorised(db, 5000)
    with db.unit_of_work() as s:
        captured = capture(s, payment.id, amount=Money(3000), idempotency_key="cap-1")
        assert (captured.status, captured.captured, captured.captured_at is not None) == ("captured", Money(3000), True)
    with db.unit_of_work() as s:
        first = refund(s, payment.id, amount=Money(1000), idempotency_key="ref-1", reason="Visit was short")
        assert (first.status, first.refunded, first.refundable) == (
            PaymentStatus.PARTLY_REFUNDED,
            Money(1000),
            Money(2000),
        )
    with pytest.raises(ValidationFailed) as over, db.unit_of_work() as s:
        refund(s, payment.id, amount=Money(2001), idempotency_key="ref-2")
    assert over.value.errors["amount"] == (
        "Refund at most $20.00: $30.00 was captured and $10.00 of it has been refunded."
    )
    with db.unit_of_work() as s:
        rest = refund(s, payment.id, idempotency_key="ref-3")  # None: all that is left
        assert (rest.status, rest.refunded, rest.refunded_at is not None) == ("refunded", Money(3000), True)
    with pytest.raises(Conflict, match="refunded in full; nothing is left"), db.unit_of_work() as s:
        refund(s, payment.id, amount=Money(1), idempotency_key="ref-4")
    with db.unit_of_work() as s:
        steps = [(o.kind, o.amount, o.reason, o.processor_ref.rpartition("_")[0]) for o in history(s, payment.id)]
    assert steps == [
        ("authorise", Money(5000), "", "loc_auth"),
        ("capture", Money(3000), "", "loc_capture"),
        ("refund", Money(1000), "Visit was short", "loc_refund"),
        ("refund", Money(2000), "", "loc_refund"),
    ]


def test_capture_all_by_default_and_never_more_than_authorised(db) -> None:
    payment = authorised(db, 2500)
    with pytest.raises(ValidationFailed) as over, db.unit_of_work() as s:
        capture(s, payment.id, amount=Money(2501), idempotency_key=key())
    assert over.value.errors["amount"] == "Capture at most $25.00, the amount authorised."
    with db.unit_of_work() as s:
        assert capture(s, payment.id, idempotency_key=key()).captured == Money(2500)
    with pytest.raises(Conflict, match="already captured; it cannot be captured again"), db.unit_of_work() as s:
        capture(s, payment.id, amount=Money(1), idempotency_key=key())


def test_void_releases_an_uncaptured_payment_and_then_nothing_else_may_happen(db) -> None:
    payment = authorised(db, 4000)
    with db.unit_of_work() as s:
        voided = void(s, payment.id, idempotency_key="void-1")
        assert (voided.status, voided.captured, voided.voided_at is not None) == ("voided", Money(0), True)
    refusals = [
        (lambda s: capture(s, payment.id, idempotency_key=key()), "This payment was voided; it cannot be captured."),
        (lambda s: void(s, payment.id, idempotency_key=key()), "This payment was already voided."),
        (lambda s: refund(s, payment.id, idempotency_key=key()), "voided, so nothing was taken"),
    ]
    for act, reason in refusals:
        with pytest.raises(Conflict) as refused, db.unit_of_work() as s:
            act(s)
        assert reason in refused.value.detail
    with db.unit_of_work() as s:
        assert [(o.kind, o.amount) for o in history(s, payment.id)] == [
            ("authorise", Money(4000)),
            ("void", Money(4000)),
        ]


def test_a_captured_payment_cannot_be_voided_and_an_uncaptured_one_not_refunded(db) -> None:
    payment = authorised(db)
    not_captured = "not been captured; it cannot be refunded. Void it instead."
    with pytest.raises(Conflict, match=not_captured), db.unit_of_work() as s:
        refund(s, payment.id, idempotency_key=key())
    with db.unit_of_work() as s:
        capture(s, payment.id, idempotency_key=key())
        refund(s, payment.id, amount=Money(1), idempotency_key=key())
    with pytest.raises(Conflict, match="captured; it cannot be voided. Refund it instead."), db.unit_of_work() as s:
        void(s, payment.id, idempotency_key=key())


def test_replays_act_once_and_return_the_payment_as_it_is_now(db) -> None:
    payment = authorised(db, 5000)
    for _ in range(3):
        with db.unit_of_work() as s:
            assert capture(s, payment.id, amount=Money(4000), idempotency_key="cap").captured == Money(4000)
    for _ in range(3):
        with db.unit_of_work() as s:
            assert refund(s, payment.id, idempotency_key="ref-all").refunded == Money(4000)
    with db.unit_of_work() as s:
        assert [o.kind for o in history(s, payment.id)] == ["authorise", "capture", "refund"]
    # The replay of a capture comes back even now that the payment is refunded (no state check).
    with db.unit_of_work() as s:
        assert capture(s, payment.id, amount=Money(4000), idempotency_key="cap").status == "refunded"


def test_a_key_used_for_another_request_is_a_conflict_and_keys_are_per_kind(db) -> None:
    one, other = authorised(db, 5000), authorised(db, 5000)
    with db.unit_of_work() as s:
        capture(s, one.id, amount=Money(1000), idempotency_key="k")
    for act in [
        lambda s: capture(s, one.id, amount=Money(2000), idempotency_key="k"),
        lambda s: capture(s, one.id, idempotency_key="k"),  # "all" is not the $10.00 captured
        lambda s: capture(s, other.id, amount=Money(1000), idempotency_key="k"),
    ]:
        with pytest.raises(Conflict, match="already used for another capture request"), db.unit_of_work() as s:
            act(s)
    # The same key for a refund is another kind of operation: it acts.
    with db.unit_of_work() as s:
        assert refund(s, one.id, amount=Money(100), idempotency_key="k").refunded == Money(100)
        assert void(s, other.id, idempotency_key="k").status == "voided"


def test_amounts_and_keys_are_checked_and_an_unknown_payment_is_not_found(db) -> None:
    payment = authorised(db)
    with pytest.raises(ValidationFailed) as refused, db.unit_of_work() as s:
        capture(s, payment.id, amount=Money(0), idempotency_key="")
    assert set(refused.value.errors) == {"amount", "idempotency_key"}
    with pytest.raises(ValidationFailed) as refused, db.unit_of_work() as s:
        refund(s, payment.id, amount=Money(-5), idempotency_key=key(), reason="x" * 201)
    assert set(refused.value.errors) == {"amount", "reason"}
    with pytest.raises(NotFound), db.unit_of_work() as s:
        void(s, uuid.uuid4(), idempotency_key=key())


def test_the_table_itself_refuses_refunding_more_than_was_captured(db) -> None:
    payment = authorised(db, 1000)
    with pytest.raises(Exception, match="(?i)check"), db.engine.begin() as connection:  # noqa: PT011
        connection.execute(text("UPDATE payments SET refunded = 1 WHERE id = :id"), {"id": payment.id.hex})
