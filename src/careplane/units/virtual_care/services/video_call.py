"""The video visit's day: the patient checks in (from 15 minutes before), the clinician starts the
visit, both join the call's room, and a patient who never joins is marked a no-show.

Only two people ever join a visit's room: its patient and the clinician it is booked with. Anyone
else is refused (403), and the refusal is audited like any refused opening of a visit; each joining
is an audited read of the patient's record.

A no-show is recorded and **not charged**: the authorisation is voided. A clinic could charge a fee
(One Medical charges missed visits), but careplane has no fee schedule and has told the patient
only of the visit's price; voiding is the honest default, and the no-show stays on the visit for
the clinic to follow up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from careplane.kernel import clock, work
from careplane.kernel.access import Actor
from careplane.kernel.errors import AccessDenied, Conflict
from careplane.kernel.work import WorkItem, policy
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services import slots
from careplane.units.virtual_care.services.access import audit_change, open_as_patient, open_as_staff
from careplane.units.virtual_care.services.notices import tell_patient
from careplane.units.virtual_care.services.visits import release_money_and_work
from careplane.units.virtual_care.video_models import Booking
from careplane.units.virtual_care.visit_states import VisitStatus, move, refusal

Side = Literal["patient", "clinician"]


@dataclass(frozen=True)
class Room:
    """A visit's call as one of its two people sees it."""

    visit: Visit
    booking: Booking
    side: Side

    @property
    def refusal(self) -> str | None:
        """Why this person may not join the call now, or None."""
        return join_refusal(self.visit, self.booking, self.side)


def _booking(session: Session, visit: Visit) -> Booking:
    booking = slots.booking_of(session, visit.id)
    if visit.visit_type != "video" or booking is None:
        raise Conflict("This is not a video visit; it has no call.")
    return booking


def join_refusal(visit: Visit, booking: Booking, side: Side, now: datetime | None = None) -> str | None:
    """Why ``side`` may not join the call now (the state, the time, the check-in), or None."""
    now = now or clock.now()
    if reason := refusal(visit.status, "join"):
        return reason
    if booking.cancelled_at is not None:
        return "This video visit was cancelled."
    if now < booking.starts_at - slots.CHECK_IN_OPENS:
        return "The call opens 15 minutes before the visit starts."
    if side == "patient" and booking.checked_in_at is None:
        return "Check in first."
    return None


def room(session: Session, actor: Actor, visit_id: uuid.UUID, *, lock: bool = False) -> Room:
    """The visit's room for its patient or its booked clinician (an audited read); anyone else 403."""
    if actor.is_patient_only:
        visit = open_as_patient(session, actor, visit_id, write=False, lock=lock)
        return Room(visit, _booking(session, visit), "patient")
    opened = open_as_staff(session, actor, visit_id, lock=lock)
    if not opened.holds or opened.visit.visit_type != "video":
        item = session.get(WorkItem, opened.visit.work_item_id) if opened.visit.work_item_id else None
        raise policy.refuse(actor, "virtual_care.visit.join", item, "only the booked clinician joins this call")
    return Room(opened.visit, _booking(session, opened.visit), "clinician")


def check_in(session: Session, actor: Actor, visit_id: uuid.UUID) -> Visit:
    """The patient says they are here, from 15 minutes before the start to its end (again: nothing changes)."""
    visit = open_as_patient(session, actor, visit_id, write=True, lock=True)
    move(visit.status, "check_in", VisitStatus(visit.status))
    booking = _booking(session, visit)
    now = clock.now()
    if now < booking.starts_at - slots.CHECK_IN_OPENS:
        raise Conflict("Check-in opens 15 minutes before your visit starts.")
    if now >= booking.ends_at and visit.status == VisitStatus.BOOKED.value and booking.checked_in_at is None:
        raise Conflict("The time of this video visit has passed.")
    if booking.checked_in_at is None:
        booking.checked_in_at = now
        audit_change(session, actor, visit, "virtual_care.visit.check_in")
    return visit


def _held(session: Session, actor: Actor, visit_id: uuid.UUID, action: str) -> tuple[Visit, Booking]:
    opened = open_as_staff(session, actor, visit_id, lock=True)
    move(opened.visit.status, action)
    if not opened.holds:
        raise AccessDenied("Only the clinician the visit is booked with may do this.")
    return opened.visit, _booking(session, opened.visit)


def start(session: Session, actor: Actor, visit_id: uuid.UUID) -> Visit:
    """The booked clinician starts the visit (from 15 minutes before): it is theirs to complete."""
    visit, booking = _held(session, actor, visit_id, "start")
    if clock.now() < booking.starts_at - slots.CHECK_IN_OPENS:
        raise Conflict("A video visit can be started from 15 minutes before its time.")
    visit.status = VisitStatus.IN_PROGRESS.value
    audit_change(session, actor, visit, "virtual_care.visit.start")
    return visit


def joined(session: Session, room: Room) -> None:
    """Record the first time each side joined the call (the no-show rule reads the patient's)."""
    booking = session.get(Booking, room.booking.id, with_for_update=True, populate_existing=True)
    assert booking is not None
    now = clock.now()
    if room.side == "patient" and booking.patient_joined_at is None:
        booking.patient_joined_at = now
    if room.side == "clinician" and booking.clinician_joined_at is None:
        booking.clinician_joined_at = now


def no_show_refusal(booking: Booking, now: datetime | None = None) -> str | None:
    """Why the patient may not (yet) be marked a no-show, or None."""
    if booking.patient_joined_at is not None:
        return "The patient joined the call; complete the visit instead."
    if (now or clock.now()) < booking.starts_at + slots.NO_SHOW_AFTER:
        return "A patient can be marked a no-show from 10 minutes after the start."
    return None


def no_show(session: Session, actor: Actor, visit_id: uuid.UUID) -> Visit:
    """The booked clinician records that the patient never joined: no charge (the authorisation is
    voided, see the module's note), the work item is done, and the patient is told."""
    visit, booking = _held(session, actor, visit_id, "no_show")
    if reason := no_show_refusal(booking):
        raise Conflict(reason)
    now = clock.now()
    visit.status, visit.closed_at, booking.no_show_at = VisitStatus.NO_SHOW.value, now, now
    assert visit.work_item_id is not None
    work.complete(session, actor, visit.work_item_id, owner=True)
    release_money_and_work(session, visit, f"no-show-{visit.id}")
    audit_change(session, actor, visit, "virtual_care.visit.no_show")
    tell_patient(
        session,
        visit,
        "You missed your video visit",
        "Your clinician waited, but you did not join the call. You have not been charged; book another time "
        "when it suits you.",
    )
    return visit
