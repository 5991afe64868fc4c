"""Pharmacy's part in platform events: a prescription signed in Virtual Care is received, checked and
queued for verification (idempotently: a redelivery finds the prescription already received); a
merged patient record's prescriptions follow it to the survivor."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from careplane.kernel.events import handles
from careplane.kernel.patients.events import PatientsMerged
from careplane.units.pharmacy.models import Prescription
from careplane.units.pharmacy.services import receiving
from careplane.units.virtual_care.events import PrescriptionSigned


@handles(PrescriptionSigned)
def receive_signed_prescription(session: Session, event: PrescriptionSigned) -> None:
    receiving.receive(session, event)


@handles(PatientsMerged)
def prescriptions_follow_merged_patient(session: Session, event: PatientsMerged) -> None:
    """The merged record's prescriptions now belong to the survivor (idempotent)."""
    session.execute(
        update(Prescription).where(Prescription.patient_id == event.merged_id).values(patient_id=event.survivor_id)
    )
