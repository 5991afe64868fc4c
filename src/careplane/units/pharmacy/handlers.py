"""Pharmacy's part in platform events: a prescription signed in Virtual Care is received, checked and
queued for verification (idempotently: a redelivery finds the prescription already received)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from careplane.kernel.events import handles
from careplane.units.pharmacy.services import receiving
from careplane.units.virtual_care.events import PrescriptionSigned


@handles(PrescriptionSigned)
def receive_signed_prescription(session: Session, event: PrescriptionSigned) -> None:
    receiving.receive(session, event)
