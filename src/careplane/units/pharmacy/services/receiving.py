"""Receiving a prescription signed in Virtual Care: one row per signed prescription however often it
is delivered, checked for safety on arrival, and put into the verification queue for a pharmacist
licensed in the patient's state.

Delivery is at least once (docs/architecture.md, rule 2): the row is looked up by its source first,
and the unique (source, source_id) catches two deliveries racing, the loser finding the winner's row.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from careplane.kernel import clock, work
from careplane.units.pharmacy import safety
from careplane.units.pharmacy.models import Prescription
from careplane.units.pharmacy.prescription_states import RxStatus
from careplane.units.pharmacy.services.access import SUBJECT
from careplane.units.virtual_care.events import PrescriptionSigned

QUEUE_KEY = "pharmacy.verify"
#: The work item kind of a prescription waiting for or held by a pharmacist.
VERIFY = "rx_verify"
INTERNAL = "internal"
#: The pharmacy's own target: a received prescription is verified within this time.
VERIFY_WITHIN = timedelta(hours=4)
_RX_TRIES = 5


def rx_number() -> str:
    """A fresh human-facing number, ``RX-`` and eight digits (unique: a clash is drawn again)."""
    return f"RX-{secrets.randbelow(10**8):08d}"


def by_source(session: Session, source: str, source_id: str) -> Prescription | None:
    return session.scalar(
        select(Prescription).where(Prescription.source == source, Prescription.source_id == source_id)
    )


def receive(session: Session, signed: PrescriptionSigned) -> Prescription:
    """The pharmacy's prescription for ``signed``: made, checked and queued the first time, found again after."""
    source_id = str(signed.prescription_id)
    found = by_source(session, INTERNAL, source_id)
    if found is not None:
        return found
    for _ in range(_RX_TRIES):
        try:
            with session.begin_nested():
                prescription = _new(session, signed, source_id)
            break
        except IntegrityError:
            if (found := by_source(session, INTERNAL, source_id)) is not None:
                return found  # another delivery of the same prescription got there first
    else:
        raise RuntimeError(f"no free prescription number after {_RX_TRIES} tries")
    prescription.alerts = [a.as_json() for a in safety.check(session, prescription)]
    item = work.create_item(
        session,
        QUEUE_KEY,
        kind=VERIFY,
        title=f"Verify {prescription.drug_name} ({prescription.state})",
        patient_id=prescription.patient_id,
        subject_type=SUBJECT,
        subject_id=str(prescription.id),
        due_at=prescription.received_at + VERIFY_WITHIN,
        state=prescription.state,
    )
    prescription.work_item_id = item.id
    return prescription


def _new(session: Session, signed: PrescriptionSigned, source_id: str) -> Prescription:
    prescription = Prescription(
        rx_number=rx_number(),
        patient_id=signed.patient_id,
        drug_id=signed.drug_id,
        drug_name=signed.drug_name,
        sig=signed.sig,
        quantity=signed.quantity,
        refills=signed.refills,
        prescriber_staff_id=signed.prescriber_staff_id,
        prescriber_npi=signed.prescriber_npi,
        source=INTERNAL,
        source_id=source_id,
        state=signed.state,
        signed_at=signed.signed_at,
        received_at=clock.now(),
        status=RxStatus.RECEIVED.value,
        alerts=[],
    )
    session.add(prescription)
    session.flush()
    return prescription
