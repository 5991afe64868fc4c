"""Telling a patient what happened to their visit: a note in the visit's conversation, and an
e-mail (through the kernel's mail outbox) that says only that there is news and where to read it:
no health details leave the platform by e-mail."""

from __future__ import annotations

from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.mail import send_mail
from careplane.kernel.patients.models import Patient
from careplane.settings import get_settings
from careplane.units.virtual_care.models import Visit, VisitMessage

SYSTEM_AUTHOR = "careplane Virtual Care"


def tell_patient(session: Session, visit: Visit, subject: str, body: str) -> VisitMessage:
    message = VisitMessage(
        visit_id=visit.id,
        author_kind="system",
        author_name=SYSTEM_AUTHOR,
        body=f"{subject}. {body}",
        created_at=clock.now(),
    )
    session.add(message)
    patient = session.get(Patient, visit.patient_id)
    if patient is not None and patient.email and patient.allow_email:
        link = f"{get_settings().base_url.rstrip('/')}/virtual-care/visits/{visit.id}"
        send_mail(
            session,
            patient.email,
            f"careplane: {subject}",
            f"Hello {patient.display_name},\n\nThere is news about your online visit: {subject.lower()}.\n"
            f"Log in to read it: {link}\n\ncareplane Virtual Care",
        )
    session.flush()
    return message
