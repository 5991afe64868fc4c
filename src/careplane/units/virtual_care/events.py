"""What Virtual Care tells the rest of careplane: a visit completed (billing needs it) and a
prescription signed (the pharmacy fills it). Published in the transaction of the change."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime

from careplane.kernel.events import DomainEvent


@dataclasses.dataclass(frozen=True)
class VisitCompleted(DomainEvent):
    """Everything a charge needs (Revenue Cycle): who, by whom, what for, where, and the code."""

    visit_id: uuid.UUID
    patient_id: uuid.UUID
    clinician_staff_id: uuid.UUID
    clinician_npi: str | None
    condition_code: str
    visit_type: str
    date_of_service: date
    #: CMS place of service: 10 (telehealth in the patient's home) or 02 (elsewhere)
    place_of_service: str
    #: ICD-10-CM codes, the first one primary
    diagnoses: tuple[str, ...]
    price_paid_cents: int
    cpt_code: str
    modifiers: tuple[str, ...]
    state: str
    completed_at: datetime


@dataclasses.dataclass(frozen=True)
class PrescriptionSigned(DomainEvent):
    """A clinician signed a prescription in a visit: the Pharmacy unit receives it."""

    prescription_id: uuid.UUID
    visit_id: uuid.UUID
    patient_id: uuid.UUID
    prescriber_staff_id: uuid.UUID
    prescriber_npi: str | None
    drug_id: str
    drug_name: str
    sig: str
    quantity: str
    refills: int
    state: str
    signed_at: datetime
