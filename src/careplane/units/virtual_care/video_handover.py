"""A departing clinician's video visits (booked, or started and not completed): the named successor
takes each one when they may (licensed in the visit's state) and have no other visit booked at that
time; otherwise the visit is cancelled, the authorisation voided, and the patient asked to book
another time. Counted for the departure report as ``video visit to successor`` and ``video visit
cancelled``. A redelivery finds nothing left to move."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from careplane.kernel import clock, work
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.org.events import StaffDeparted
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services.notices import tell_patient
from careplane.units.virtual_care.services.visits import SYSTEM, release_money_and_work
from careplane.units.virtual_care.video_models import Booking
from careplane.units.virtual_care.visit_states import VisitStatus


def hand_over_video_visits(session: Session, event: StaffDeparted) -> Counter[str]:
    moved: Counter[str] = Counter()
    held = session.execute(
        select(Visit, Booking)
        .join(Booking, Booking.visit_id == Visit.id)
        .where(
            Visit.clinician_staff_id == event.staff_id,
            Visit.visit_type == "video",
            Visit.status.in_([VisitStatus.BOOKED.value, VisitStatus.IN_PROGRESS.value]),
            Booking.cancelled_at.is_(None),
        )
        .order_by(Booking.starts_at, Visit.id)
        .with_for_update(of=Visit)
    ).all()
    for visit, booking in held:
        assert visit.work_item_id is not None
        if event.successor_staff_id is not None:
            try:
                with session.begin_nested():
                    work.assign(session, SYSTEM, visit.work_item_id, event.successor_staff_id, owner=True)
                    booking.clinician_staff_id = event.successor_staff_id
                    session.flush()
                visit.clinician_staff_id = event.successor_staff_id
                tell_patient(
                    session,
                    visit,
                    "Your video visit has a new clinician",
                    "Your clinician has left careplane; another clinician will see you at the same time.",
                )
                moved["video visit to successor"] += 1
                continue
            except (ValidationFailed, IntegrityError):
                session.refresh(booking)  # the successor may not take it, or is booked then
        now = clock.now()
        booking.cancelled_at, visit.status, visit.closed_at = now, VisitStatus.CANCELLED.value, now
        release_money_and_work(session, visit, f"departure-{visit.id}")
        tell_patient(
            session,
            visit,
            "Your video visit was cancelled",
            "Your clinician has left careplane and nobody could take your visit at its time. You have not been "
            "charged; please book another time.",
        )
        moved["video visit cancelled"] += 1
    return moved
