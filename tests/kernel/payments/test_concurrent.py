"""Two copies of one request racing each other act once: the second waits on the key and gets the
first one's payment."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from careplane.kernel.money import Money
from careplane.kernel.payments import Payment, PaymentOperation, authorise, capture
from tests.kernel.payments.builders import SUBJECT, authorised, card


def race(*actions) -> list[object]:  # noqa: ANN002
    start = threading.Barrier(len(actions))
    results: list[object] = []

    def run(action) -> None:  # noqa: ANN001
        start.wait(5)
        try:
            results.append(action())
        except Exception as exc:  # noqa: BLE001 - the test asserts on what each copy got
            results.append(exc)

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return results


def test_two_copies_of_one_authorisation_make_one_payment(db) -> None:
    def copy() -> object:
        with db.unit_of_work() as s:
            return authorise(
                s,
                amount=Money(3000),
                card=card(),
                idempotency_key="raced",
                patient_id=None,
                subject_type=SUBJECT,
                subject_id="visit-raced",
                description="Video visit",
            ).id

    ids = race(copy, copy)
    assert len(ids) == 2 and ids[0] == ids[1], ids
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 1
        assert s.scalar(select(func.count()).select_from(PaymentOperation)) == 1


def test_two_copies_of_one_capture_capture_once(db) -> None:
    payment_id = authorised(db, 3000).id

    def copy() -> object:
        with db.unit_of_work() as s:
            return capture(s, payment_id, amount=Money(2000), idempotency_key="raced-capture").captured

    assert race(copy, copy) == [Money(2000), Money(2000)]
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(PaymentOperation)) == 2
