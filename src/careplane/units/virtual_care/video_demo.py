"""Video visits in ``careplane seed --demo``: every demo clinician keeps weekday hours in their zone,
and the demo patient (Avery) has a video visit booked with the demo clinician at one of the first
open times, so the booking, the agenda, the reminders and the call's room have something to show."""

from __future__ import annotations

import random
from datetime import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel import payments
from careplane.kernel.access import Actor
from careplane.kernel.org.models import StaffMember
from careplane.kernel.org.staff import licensure
from careplane.kernel.org.staff.service import CLINICIAN_LICENCE_KINDS
from careplane.kernel.patients.models import Patient
from careplane.kernel.state_zones import zone_of_state
from careplane.units.virtual_care.catalog import Answer
from careplane.units.virtual_care.services import availability, booking, slots, visits

#: Monday to Friday, 09:00-12:00 and 13:00-17:00 in the clinician's zone.
WEEKDAY_HOURS = [
    availability.Hours(day, start, end)
    for day in range(5)
    for start, end in ((time(9), time(12)), (time(13), time(17)))
]


def _staff_id(session: Session, doctor: Actor) -> StaffMember | None:
    return session.scalar(select(StaffMember).where(StaffMember.user_id == doctor.user_id))


def seed(
    session: Session,
    clinicians: list[Actor],
    patient: Actor | None,
    condition_code: str,
    answers: dict[str, Answer],
    card: payments.Card,
    rng: random.Random,
) -> None:
    """Hours for ``clinicians`` (each in the zone of their first licensed state), and a booked video
    visit for ``patient`` with the first clinician, when one of their times is open."""
    for doctor in clinicians:
        staff = _staff_id(session, doctor)
        states = sorted(licensure.licensed_states(session, staff.id, CLINICIAN_LICENCE_KINDS)) if staff else []
        zone = str(zone_of_state(states[0])) if states else "America/New_York"
        availability.set_weekly_hours(session, doctor, zone, WEEKDAY_HOURS)
    record = session.get(Patient, patient.patient_id) if patient is not None else None
    staff = _staff_id(session, clinicians[0]) if clinicians else None
    if patient is None or record is None or record.state is None or staff is None:
        return
    open_now = slots.open_slots(session, record.state, clinician_staff_id=staff.id)
    if not open_now:
        return
    visit = visits.start_visit(session, patient, condition_code=condition_code, visit_type="video")
    visits.submit(session, patient, visit.id, answers)
    booking.book(session, patient, visit.id, open_now[rng.randrange(min(3, len(open_now)))].key, card)
