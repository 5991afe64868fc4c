"""Virtual Care's tables: visits, their messages and attachments, and the prescriptions signed in them.

A visit is the unit's own record; while it waits for or is held by a clinician it also has a work
item in the unit's visit queue (``work_item_id``), which is what the hand-over, the operations pages
and the departure report see. The state machine is :mod:`careplane.units.virtual_care.visit_states`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careplane.kernel.db import Base, IdMixin, TimestampMixin
from careplane.kernel.money import Money, MoneyType
from careplane.units.virtual_care.catalog import Answer


class Visit(IdMixin, TimestampMixin, Base):
    __tablename__ = "vc_visits"
    __table_args__ = (Index("ix_vc_visits_patient_created", "patient_id", "created_at"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    condition_code: Mapped[str] = mapped_column(String(60), index=True)
    #: message or video
    visit_type: Mapped[str] = mapped_column(String(10))
    #: Two-letter code of the state the patient is in for this visit: it decides the price and who may treat.
    state: Mapped[str] = mapped_column(String(2))
    #: Where the patient is (home or elsewhere): the place of service billed (10 or 02).
    at_home: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    #: Intake answers by the questionnaire's linkId (only items enabled by the other answers).
    answers: Mapped[dict[str, Answer]] = mapped_column(JSON, default=dict)
    price: Mapped[Money | None] = mapped_column(MoneyType)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"))
    work_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("org_work_items.id"))
    clinician_staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_members.id"), index=True)

    #: The red flag's level and advice, when an answer ended the visit.
    advice_level: Mapped[str | None] = mapped_column(String(20))
    advice: Mapped[str | None] = mapped_column(Text)

    submitted_at: Mapped[datetime | None]
    queued_at: Mapped[datetime | None]
    #: The response-time promise: the first clinician reply is due by then.
    reply_due_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    first_reply_at: Mapped[datetime | None]
    #: When the unit lead was warned that 80% of the promise had passed with no reply, and when the
    #: promise was broken (escalated): each once, by the promise job.
    promise_warned_at: Mapped[datetime | None]
    promise_broken_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    #: Free follow-up messages until then (completed visits).
    follow_up_until: Mapped[datetime | None]

    # The clinician's note (SOAP) and outcome.
    subjective: Mapped[str | None] = mapped_column(Text)
    objective: Mapped[str | None] = mapped_column(Text)
    assessment: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str | None] = mapped_column(Text)
    #: ICD-10-CM codes, the first one primary.
    diagnoses: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Minutes the clinician spent over the visit (decides the CPT code of a message visit).
    clinician_minutes: Mapped[int | None]
    cpt_code: Mapped[str | None] = mapped_column(String(5))
    referral_reason: Mapped[str | None] = mapped_column(Text)

    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(String(1000))

    messages: Mapped[list[VisitMessage]] = relationship(
        back_populates="visit", order_by="VisitMessage.created_at", cascade="all, delete-orphan"
    )
    prescriptions: Mapped[list[VisitPrescription]] = relationship(
        back_populates="visit", order_by="VisitPrescription.created_at", cascade="all, delete-orphan"
    )


class VisitMessage(IdMixin, Base):
    __tablename__ = "vc_messages"

    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vc_visits.id"), index=True)
    #: patient, clinician or system (what the platform tells the patient)
    author_kind: Mapped[str] = mapped_column(String(10))
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    visit: Mapped[Visit] = relationship(back_populates="messages")
    attachments: Mapped[list[VisitAttachment]] = relationship(
        back_populates="message", order_by="VisitAttachment.filename", cascade="all, delete-orphan"
    )


class VisitAttachment(IdMixin, Base):
    """An image a patient or clinician sent with a message, kept in the database with the message."""

    __tablename__ = "vc_attachments"

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vc_messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[VisitMessage] = relationship(back_populates="attachments")


class VisitPrescription(IdMixin, Base):
    """A prescription signed in a visit: a product of the Pharmacy unit's catalog, with its directions."""

    __tablename__ = "vc_prescriptions"

    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vc_visits.id"), index=True)
    drug_id: Mapped[str] = mapped_column(String(120))
    drug_name: Mapped[str] = mapped_column(String(200))
    sig: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[str] = mapped_column(String(20))
    refills: Mapped[int]
    prescriber_staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_members.id"))
    created_at: Mapped[datetime]

    visit: Mapped[Visit] = relationship(back_populates="prescriptions")
