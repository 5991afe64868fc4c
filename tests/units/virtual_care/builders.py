"""People and visits for the Virtual Care tests: the units seeded, a patient in a state with a portal
login, clinicians licensed in states, and a visit taken as far as a test needs."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from careplane.kernel import payments
from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.structure.service import ensure_units
from careplane.kernel.patients.service import register_patient
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services import treatment, visits
from tests.helpers import make_user
from tests.kernel.patients.conftest import patient_data
from tests.kernel.work.builders import person

GOOD_CARD = payments.Card(number="4242 4242 4242 4242", expiry="12/39", cvc="123")
UTI_ANSWERS: dict[str, Any] = {
    "dysuria": True,
    "frequency": True,
    "fever": False,
    "flank_pain": False,
    "vomiting": False,
    "duration_days": 2,
    "last_uti": "over_6m",
    "has_allergies": False,
}


def seed(db: Database) -> None:
    with db.unit_of_work() as s:
        ensure_units(s)


def patient(db: Database, *, state: str = "NY", sex: str = "female", born: date = date(1990, 5, 1)) -> Actor:
    """A patient registered in ``state`` with a portal account; returns them as they act on the web."""
    with db.unit_of_work() as s:
        data = patient_data(given_name=f"Pat{uuid.uuid4().hex[:6]}", sex_at_birth=sex, state=state, birth_date=born)
        record = register_patient(s, Actor.for_system("tests"), data, confirm_not_duplicate=True)
        patient_id = record.id
    user = make_user(db, role=Role.PATIENT, patient_id=patient_id)
    return patient_actor(user, patient_id)


def patient_actor(user: User, patient_id: uuid.UUID) -> Actor:
    return Actor(user_id=user.id, label=user.email, roles=frozenset({Role.PATIENT}), patient_id=patient_id)


def clinician(db: Database, *states: str) -> Actor:
    return person(db, Role.CLINICIAN, unit="virtual_care", licences=states)


def queued_visit(db: Database, who: Actor, condition: str = "uti", answers: dict[str, Any] | None = None) -> uuid.UUID:
    with db.unit_of_work() as s:
        visit = visits.start_visit(s, who, condition_code=condition)
        visits.submit(s, who, visit.id, dict(answers or UTI_ANSWERS))
        visits.pay(s, who, visit.id, GOOD_CARD)
        return visit.id


def claimed_visit(db: Database, who: Actor, doctor: Actor) -> uuid.UUID:
    visit_id = queued_visit(db, who)
    with db.unit_of_work() as s:
        treatment.claim(s, doctor, visit_id)
    return visit_id


def load(db: Database, visit_id: uuid.UUID) -> Visit:
    with db.unit_of_work() as s:
        visit = s.get(Visit, visit_id)
        assert visit is not None
        s.expunge(visit)
        return visit
