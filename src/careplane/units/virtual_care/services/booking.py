"""Booking a video visit: after the intake (``awaiting_payment``), the patient chooses an open slot
and pays; the card is authorised (charged when the clinician completes the visit) and the visit is
``booked``, a work item in the visit queue held by the booked clinician and due at the start.
Rescheduling moves the booking to another open slot until the cutoff; cancelling is
:func:`careplane.units.virtual_care.services.visits.cancel`.

Of two patients booking the same slot at once exactly one wins: the booking row is written first,
in a savepoint, and the unique index on the clinician and start of bookings not cancelled refuses
the second (409, *That time has just been taken*), before any card is touched.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from careplane.kernel import clock, payments, work
from careplane.kernel.access import Actor, Permission, authorize
from careplane.kernel.errors import Conflict, ValidationFailed
from careplane.kernel.patients.models import Patient
from careplane.kernel.patients.validation import US_STATES
from careplane.kernel.work import WorkItem
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services import slots
from careplane.units.virtual_care.services.access import SUBJECT, audit_change, open_as_patient
from careplane.units.virtual_care.services.notices import tell_patient
from careplane.units.virtual_care.services.visits import QUEUE_KEY, SYSTEM, condition_of, start_checks
from careplane.units.virtual_care.video_models import Booking
from careplane.units.virtual_care.visit_states import VisitStatus, move

#: The work item kind of a booked video visit.
VIDEO_VISIT = "video_visit"
TAKEN = "That time has just been taken; choose another."


def _open_slot(session: Session, visit: Visit, key: str) -> slots.Slot:
    """The open slot ``key`` names, for this visit's state, or 422 on ``slot``."""
    parsed = slots.parse_key(key)
    if parsed is None:
        raise ValidationFailed({"slot": "Choose a time from the list."})
    staff_id, starts_at = parsed
    for slot in slots.open_slots(session, visit.state, clinician_staff_id=staff_id):
        if slot.starts_at == starts_at:
            return slot
    raise ValidationFailed({"slot": "That time is no longer open; choose another."})


def _take(session: Session, booking: Booking) -> None:
    """Write the booking; another booking of the same clinician and start is 409."""
    try:
        with session.begin_nested():
            session.add(booking)
            session.flush()
    except IntegrityError as clash:
        raise Conflict(TAKEN) from clash


def when_local(visit: Visit, at: datetime) -> str:
    """A moment as the patient reads it, in their zone: ``3:00 PM EST on Tuesday Dec 03``."""
    return f"{at.astimezone(slots.zone_of_visit(visit)):%I:%M %p %Z on %A %b %d}".lstrip("0")


def book(session: Session, actor: Actor, visit_id: uuid.UUID, slot_key: str, card: payments.Card) -> Visit:
    """Book the slot and authorise the price: the visit is ``booked`` with the slot's clinician."""
    visit = open_as_patient(session, actor, visit_id, write=True, lock=True)
    target = move(visit.status, "book")
    if visit.visit_type != "video":
        raise Conflict("A message visit is not booked for a time; it goes to the queue when paid.")
    slot = _open_slot(session, visit, slot_key)
    condition = condition_of(visit)
    booking = Booking(
        visit_id=visit.id, clinician_staff_id=slot.clinician_staff_id, starts_at=slot.starts_at, ends_at=slot.ends_at
    )
    _take(session, booking)
    _skip_reminders_already_past(booking)
    assert visit.price is not None
    payment = payments.authorise(
        session,
        amount=visit.price,
        card=card,
        idempotency_key=f"visit-pay-{visit.id}",
        patient_id=visit.patient_id,
        subject_type=SUBJECT,
        subject_id=str(visit.id),
        description=f"Virtual Care video visit: {condition.name}",
    )
    item = work.create_item(
        session,
        QUEUE_KEY,
        kind=VIDEO_VISIT,
        title=f"{condition.name} ({visit.state}, video)",
        patient_id=visit.patient_id,
        subject_type=SUBJECT,
        subject_id=str(visit.id),
        due_at=slot.starts_at,
        state=visit.state,
        assignee_staff_id=slot.clinician_staff_id,
    )
    visit.payment_id, visit.work_item_id, visit.status = payment.id, item.id, target.value
    visit.clinician_staff_id, visit.claimed_at = slot.clinician_staff_id, clock.now()
    audit_change(session, actor, visit, "virtual_care.visit.book")
    tell_patient(
        session,
        visit,
        "Your video visit is booked",
        f"Your video visit with {slot.clinician_name}, a clinician licensed in {US_STATES[visit.state]}, is at "
        f"{when_local(visit, slot.starts_at)}. Check in from 15 minutes before. Your card was authorised for "
        f"{visit.price.format()}; it is charged only when the visit is completed.",
    )
    return visit


def reschedule(session: Session, actor: Actor, visit_id: uuid.UUID, slot_key: str) -> Visit:
    """Move the booking to another open slot (any clinician licensed in the state), until the cutoff."""
    visit = open_as_patient(session, actor, visit_id, write=True, lock=True)
    move(visit.status, "reschedule")
    booking = slots.booking_of(session, visit.id, lock=True)
    assert booking is not None and visit.work_item_id is not None
    if reason := slots.change_refusal(booking, "rescheduled"):
        raise Conflict(reason)
    slot = _open_slot(session, visit, slot_key)
    moved_from = booking.starts_at
    try:
        with session.begin_nested():
            booking.clinician_staff_id, booking.starts_at, booking.ends_at = (
                slot.clinician_staff_id,
                slot.starts_at,
                slot.ends_at,
            )
            session.flush()
    except IntegrityError as clash:
        session.refresh(booking)
        raise Conflict(TAKEN) from clash
    booking.reminded_day_before_at = booking.reminded_hour_before_at = None
    _skip_reminders_already_past(booking)
    if visit.clinician_staff_id != slot.clinician_staff_id:
        work.assign(session, SYSTEM, visit.work_item_id, slot.clinician_staff_id, owner=True)
        visit.clinician_staff_id = slot.clinician_staff_id
    item = session.get(WorkItem, visit.work_item_id)
    assert item is not None
    item.due_at = slot.starts_at
    audit_change(session, actor, visit, "virtual_care.visit.reschedule")
    tell_patient(
        session,
        visit,
        "Your video visit has a new time",
        f"Your video visit moved from {when_local(visit, moved_from)} to {when_local(visit, slot.starts_at)}, "
        f"with {slot.clinician_name}.",
    )
    return visit


def _skip_reminders_already_past(booking: Booking) -> None:
    """A booking made less than a day (an hour) ahead needs no day-before (hour-before) reminder:
    the booking's own notice says when it is."""
    now = clock.now()
    if booking.starts_at - now <= slots.REMIND_DAY_BEFORE:
        booking.reminded_day_before_at = now
    if booking.starts_at - now <= slots.REMIND_HOUR_BEFORE:
        booking.reminded_hour_before_at = now


def offered_slots(session: Session, actor: Actor, state: str, condition_code: str) -> list[slots.Slot]:
    """Open slots for a video visit for ``condition_code`` in ``state``, on the terms a visit starts
    on (:func:`visits.start_checks`: for a patient, their eligibility too)."""
    patient = None
    if actor.is_patient_only and actor.patient_id is not None:
        authorize(session, actor, Permission.PATIENT_READ, patient_id=actor.patient_id, resource_type=SUBJECT)
        patient = session.get(Patient, actor.patient_id)
    _, code = start_checks(session, patient, condition_code, "video", state)
    return slots.open_slots(session, code)


def upcoming_of_patient(session: Session, actor: Actor, patient_id: uuid.UUID) -> list[tuple[Visit, Booking]]:
    """A patient's booked and started video visits with their bookings, soonest first."""
    authorize(session, actor, Permission.PATIENT_READ, patient_id=patient_id, resource_type=SUBJECT)
    rows = session.execute(
        select(Visit, Booking)
        .join(Booking, Booking.visit_id == Visit.id)
        .where(
            Visit.patient_id == patient_id,
            Visit.status.in_([VisitStatus.BOOKED.value, VisitStatus.IN_PROGRESS.value]),
            Booking.cancelled_at.is_(None),
        )
        .order_by(Booking.starts_at)
    ).all()
    return [(v, b) for v, b in rows]
