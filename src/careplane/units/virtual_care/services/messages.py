"""The visit's conversation: the patient and the clinician holding the visit write to each other,
with images attached (a photo of a rash, an eye, a pill bottle).

When may one write: the patient while the visit waits for or is with a clinician, and for 14 days
after it is completed (free follow-up); the holding clinician while they hold it and in the same
follow-up window. A closed visit refuses a message with the reason; the message and its
attachments are stored together or not at all. The first clinician message keeps the promise.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor
from careplane.kernel.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from careplane.kernel.patients.models import Patient
from careplane.units.virtual_care.models import Visit, VisitAttachment, VisitMessage
from careplane.units.virtual_care.services.access import (
    Opened,
    audit_change,
    open_as_patient,
    open_as_staff,
    open_for_either,
)
from careplane.units.virtual_care.visit_states import VisitStatus

MAX_BODY = 5000
MAX_ATTACHMENTS = 4
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
#: What Pillow calls each image format we accept, and the type it is served as.
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def _image_type(upload: Upload) -> str:
    """The attachment's real type, read from its bytes (not from its name or what the sender claims)."""
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        kind = None
    if kind not in IMAGE_TYPES:
        raise ValueError("Attach a photo or image (JPEG, PNG, WebP or GIF).")
    return IMAGE_TYPES[kind]


def _attachment_errors(uploads: list[Upload]) -> tuple[list[tuple[Upload, str]], dict[str, str]]:
    checked: list[tuple[Upload, str]] = []
    errors: dict[str, str] = {}
    if len(uploads) > MAX_ATTACHMENTS:
        errors["attachments"] = f"Attach up to {MAX_ATTACHMENTS} images to one message."
        return checked, errors
    for n, upload in enumerate(uploads):
        name = upload.filename or f"image {n + 1}"
        if len(upload.data) > MAX_ATTACHMENT_BYTES:
            errors[f"attachments[{n}]"] = f"{name} is {len(upload.data) / 1048576:.1f} MB; images may be up to 5 MB."
            continue
        try:
            checked.append((upload, _image_type(upload)))
        except ValueError as bad:
            errors[f"attachments[{n}]"] = f"{name}: {bad}"
    return checked, errors


def writing_refusal(visit: Visit, *, clinician: bool) -> str | None:
    status = VisitStatus(visit.status)
    if status == VisitStatus.IN_PROGRESS or (status == VisitStatus.QUEUED and not clinician):
        return None
    if status == VisitStatus.COMPLETED and visit.follow_up_until and clock.now() <= visit.follow_up_until:
        return None
    if status == VisitStatus.COMPLETED:
        return "The free follow-up of this visit has ended; start a new visit to write to a clinician."
    if status in (VisitStatus.INTAKE, VisitStatus.AWAITING_PAYMENT):
        return "Finish your intake and payment first; then you can write to your clinician."
    return f"This visit is {status.label}; messages can no longer be sent."


def post(
    session: Session, actor: Actor, visit_id: uuid.UUID, body: str, uploads: list[Upload] | None = None
) -> VisitMessage:
    """A message from the patient, or from the clinician who holds the visit."""
    uploads = uploads or []
    opened: Opened
    if actor.is_patient_only:
        opened = Opened(open_as_patient(session, actor, visit_id, write=True, lock=True), None)
    else:
        opened = open_as_staff(session, actor, visit_id, lock=True)
        if not opened.holds:
            raise AccessDenied("Only the clinician who holds this visit writes to the patient.")
    visit = opened.visit
    clinician = opened.worker is not None
    if reason := writing_refusal(visit, clinician=clinician):
        raise Conflict(reason)
    errors: dict[str, str] = {}
    text = body.strip()
    if not text and not uploads:
        errors["body"] = "Write a message or attach an image."
    elif len(text) > MAX_BODY:
        errors["body"] = f"Keep a message under {MAX_BODY:,} characters ({len(text):,} now)."
    checked, attachment_errors = _attachment_errors(uploads)
    errors.update(attachment_errors)
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    message = VisitMessage(
        visit_id=visit.id,
        author_kind="clinician" if clinician else "patient",
        author_name=opened.worker.name if opened.worker else _patient_name(session, visit),
        body=text,
        created_at=now,
    )
    message.attachments = [
        VisitAttachment(filename=(u.filename or "image")[:200], content_type=kind, size=len(u.data), data=u.data)
        for u, kind in checked
    ]
    session.add(message)
    if clinician and visit.first_reply_at is None:
        visit.first_reply_at = now
    visit.updated_at = now
    session.flush()
    audit_change(session, actor, visit, "virtual_care.visit.message")
    return message


def _patient_name(session: Session, visit: Visit) -> str:
    patient = session.get(Patient, visit.patient_id)
    return patient.display_name if patient else "Patient"


def attachment(session: Session, actor: Actor, visit_id: uuid.UUID, attachment_id: uuid.UUID) -> VisitAttachment:
    """An attachment of the visit's conversation, for someone who may open the visit (audited)."""
    open_for_either(session, actor, visit_id)
    found = session.scalar(
        select(VisitAttachment)
        .join(VisitMessage, VisitMessage.id == VisitAttachment.message_id)
        .where(VisitAttachment.id == attachment_id, VisitMessage.visit_id == visit_id)
    )
    if found is None:
        raise NotFound("This visit has no such attachment.")
    return found
