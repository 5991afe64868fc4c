"""People and prescriptions for the Pharmacy tests: a Virtual Care visit completed with a prescription
(the way one reaches the pharmacy), the worker run, and pharmacists licensed in states."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.identity.roles import Role
from careplane.kernel.patients.allergies.service import record_allergy
from careplane.settings import Settings
from careplane.units.pharmacy.models import Prescription
from careplane.units.virtual_care.services import treatment
from tests.kernel.org.test_handover import drain
from tests.kernel.work.builders import person
from tests.units.virtual_care.builders import claimed_visit, clinician, patient


def pharmacist(db: Database, *states: str, kind: str = "RPh") -> Actor:
    return person(db, Role.PHARMACIST, unit="pharmacy", licences=states, kind=kind)


def allergic(db: Database, who: Actor, substance: str) -> None:
    with db.unit_of_work() as s:
        record_allergy(s, Actor.for_system("tests"), who.patient_id, {"substance": substance, "category": "medication"})


def signed(db: Database, drug_id: str = "amoxicillin-500mg-cap", *, allergy: str | None = None) -> Actor:
    """A patient in NY whose message visit was completed with a prescription of ``drug_id``; returns the patient."""
    doctor = clinician(db, "NY")
    who = patient(db)
    if allergy:
        allergic(db, who, allergy)
    visit_id = claimed_visit(db, who, doctor)
    order = treatment.PrescriptionOrder(drug_id, "Take 1 capsule by mouth 3 times a day for 7 days.", "21", 0)
    done = treatment.Completion(diagnoses=["N30.00"], plan="Finish the course.", minutes=15, prescriptions=[order])
    with db.unit_of_work() as s:
        treatment.complete(s, doctor, visit_id, done)
    return who


def received(db: Database, settings: Settings, drug_id: str = "amoxicillin-500mg-cap", **kw: str) -> Prescription:
    """A prescription signed in Virtual Care and received by the pharmacy (the worker has run)."""
    who = signed(db, drug_id, **kw)
    drain(db, settings)
    return prescriptions_of(db, who.patient_id)[0]


def prescriptions_of(db: Database, patient_id: uuid.UUID | None) -> list[Prescription]:
    with db.unit_of_work() as s:
        rows = list(s.scalars(select(Prescription).where(Prescription.patient_id == patient_id)))
        s.expunge_all()
        return rows
