"""Whatever sequence of captures, voids and refunds is asked for, with whatever amounts, a payment
keeps 0 <= refunded <= captured <= amount, and its status says which of them it is."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careplane.kernel.errors import Conflict, ValidationFailed
from careplane.kernel.money import ZERO, Money
from careplane.kernel.payments import Payment, PaymentStatus, capture, refund, void
from tests.kernel.payments.builders import authorised, key

amounts = st.none() | st.integers(min_value=-50, max_value=12_000).map(Money)
steps = st.lists(st.tuples(st.sampled_from(["capture", "refund", "void"]), amounts), max_size=8)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(authorised_cents=st.integers(min_value=1, max_value=10_000), steps=steps)
def test_refunded_never_exceeds_captured_nor_captured_the_amount(db, authorised_cents, steps) -> None:  # noqa: ANN001
    payment_id = authorised(db, authorised_cents).id
    for kind, amount in steps:
        try:
            with db.unit_of_work() as s:
                if kind == "capture":
                    capture(s, payment_id, amount=amount, idempotency_key=key())
                elif kind == "refund":
                    refund(s, payment_id, amount=amount, idempotency_key=key())
                else:
                    void(s, payment_id, idempotency_key=key())
        except (Conflict, ValidationFailed):
            pass
        with db.unit_of_work() as s:
            payment = s.get(Payment, payment_id)
            assert payment is not None
            assert ZERO <= payment.refunded <= payment.captured <= payment.amount == Money(authorised_cents)
            expected = {
                PaymentStatus.AUTHORISED: payment.captured == ZERO and payment.voided_at is None,
                PaymentStatus.VOIDED: payment.captured == ZERO and payment.voided_at is not None,
                PaymentStatus.CAPTURED: payment.captured > ZERO and payment.refunded == ZERO,
                PaymentStatus.PARTLY_REFUNDED: ZERO < payment.refunded < payment.captured,
                PaymentStatus.REFUNDED: ZERO < payment.refunded == payment.captured,
            }
            assert expected[PaymentStatus(payment.status)], (payment.status, payment.captured, payment.refunded)
