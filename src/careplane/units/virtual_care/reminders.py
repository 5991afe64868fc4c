"""Reminders of booked video visits: an e-mail to the patient a day before and an hour before the
start, each once (the booking records when each went; a booking made closer than that skips it).

The e-mail says when and where to check in, never what the visit is about: no health details leave
the platform by e-mail.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.jobs import scheduled
from careplane.kernel.mail import send_mail
from careplane.kernel.patients.models import Patient
from careplane.settings import get_settings
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services import slots
from careplane.units.virtual_care.services.booking import when_local
from careplane.units.virtual_care.video_models import Booking
from careplane.units.virtual_care.visit_states import VisitStatus


def remind(session: Session) -> int:
    """Send the reminders due now; returns how many went."""
    now = clock.now()
    sent = 0
    due = (
        select(Booking, Visit)
        .join(Visit, Visit.id == Booking.visit_id)
        .where(
            Booking.cancelled_at.is_(None),
            Visit.status == VisitStatus.BOOKED.value,
            Booking.starts_at > now,
            Booking.starts_at <= now + slots.REMIND_DAY_BEFORE,
        )
        .with_for_update(of=Booking)
    )
    for booking, visit in session.execute(due).all():
        hour = booking.starts_at - now <= slots.REMIND_HOUR_BEFORE
        if hour and booking.reminded_hour_before_at is None:
            booking.reminded_hour_before_at = now
            booking.reminded_day_before_at = booking.reminded_day_before_at or now
        elif not hour and booking.reminded_day_before_at is None:
            booking.reminded_day_before_at = now
        else:
            continue
        patient = session.get(Patient, visit.patient_id)
        if patient is None or not patient.email or not patient.allow_email:
            continue
        link = f"{get_settings().base_url.rstrip('/')}/virtual-care/visits/{visit.id}"
        send_mail(
            session,
            patient.email,
            "careplane: your video visit " + ("starts within the hour" if hour else "is in a day"),
            f"Hello {patient.display_name},\n\n"
            f"Your careplane video visit is at {when_local(visit, booking.starts_at)}.\n"
            f"Check in from 15 minutes before, on a device with a camera and a microphone: {link}\n\n"
            "careplane Virtual Care",
        )
        sent += 1
    session.flush()
    return sent


@scheduled("virtual_care.video_reminders", every=timedelta(minutes=1))
def video_reminders(session: Session) -> None:
    remind(session)
