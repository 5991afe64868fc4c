"""Cards and payments for the payment tests."""

from __future__ import annotations

import uuid

from careplane.kernel.db import Database
from careplane.kernel.money import Money
from careplane.kernel.payments import Card, Payment, authorise

VISA = "4242 4242 4242 4242"
SUBJECT = "virtual_care.visit"


def card(number: str = VISA, expiry: str = "12/40", cvc: str = "123") -> Card:
    return Card(number=number, expiry=expiry, cvc=cvc, name="Pat Example", postal_code="94110")


def key() -> str:
    return f"test-{uuid.uuid4()}"


def authorised(db: Database, cents: int = 5000, *, subject_id: str | None = None, number: str = VISA) -> Payment:
    """A payment authorised (and committed) for a new subject."""
    with db.unit_of_work() as s:
        payment = authorise(
            s,
            amount=Money(cents),
            card=card(number, cvc="1234" if number.startswith("37") else "123"),
            idempotency_key=key(),
            patient_id=None,
            subject_type=SUBJECT,
            subject_id=subject_id or str(uuid.uuid4()),
            description="Async visit: sore throat",
        )
        s.expunge(payment)
        return payment
