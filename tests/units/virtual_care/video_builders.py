"""Video visits for the tests: a clinician with hours, a moment to book on their grid, and a visit
taken through the intake and booked for a slot (the platform clock moved to book it ahead)."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from sqlalchemy import select

from careplane.kernel import clock
from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.org.models import StaffMember
from careplane.units.virtual_care.services import availability, booking, visits
from tests.units.virtual_care.builders import GOOD_CARD, UTI_ANSWERS, clinician


def staff_id_of(db: Database, who: Actor) -> uuid.UUID:
    with db.unit_of_work() as s:
        found = s.scalar(select(StaffMember.id).where(StaffMember.user_id == who.user_id))
        assert found is not None
        return found


def next_slot(days: int = 3, hour: int = 15) -> datetime:
    """A moment on the clinicians' grid ``days`` ahead (UTC, on the hour)."""
    return (clock.now() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def doctor_with_hours(db: Database, *states: str, on: datetime, zone: str = "UTC") -> Actor:
    """A clinician licensed in ``states`` who works 14:00-18:00 (in ``zone``) on ``on``'s weekday."""
    doctor = clinician(db, *states)
    with db.unit_of_work() as s:
        availability.set_weekly_hours(s, doctor, zone, [availability.Hours(on.weekday(), time(14), time(18))])
    return doctor


def key(staff_id: uuid.UUID, starts_at: datetime) -> str:
    return f"{staff_id}@{starts_at.isoformat()}"


def awaiting_video_payment(db: Database, who: Actor, condition: str = "uti") -> uuid.UUID:
    with db.unit_of_work() as s:
        visit = visits.start_visit(s, who, condition_code=condition, visit_type="video")
        visits.submit(s, who, visit.id, dict(UTI_ANSWERS))
        return visit.id


def booked_video_visit(db: Database, who: Actor, staff_id: uuid.UUID, starts_at: datetime) -> uuid.UUID:
    visit_id = awaiting_video_payment(db, who)
    with db.unit_of_work() as s:
        booking.book(s, who, visit_id, key(staff_id, starts_at), GOOD_CARD)
    return visit_id
