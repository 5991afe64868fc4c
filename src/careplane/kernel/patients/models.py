"""The patient registry's tables: demographics, emergency contacts, consents, possible duplicates."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careplane.kernel import clock
from careplane.kernel.db import Base, IdMixin, TimestampMixin


class SexAtBirth(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class ContactChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    PORTAL = "portal"


class ConsentKind(StrEnum):
    TREATMENT = "treatment"
    HIPAA_AUTHORIZATION = "hipaa_authorization"
    TELEHEALTH = "telehealth"

    @property
    def label(self) -> str:
        return {
            "treatment": "Consent to treatment",
            "hipaa_authorization": "HIPAA authorization",
            "telehealth": "Telehealth consent",
        }[self.value]


class Patient(IdMixin, TimestampMixin, Base):
    __tablename__ = "patients"
    __table_args__ = (
        Index("ix_patients_family_given", "family_name_norm", "given_name_norm"),
        Index("ix_patients_given_name_norm", "given_name_norm"),
        Index("ix_patients_birth_date", "birth_date"),
    )

    #: Medical record number: human-facing, printed on labels; never used in URLs.
    mrn: Mapped[str] = mapped_column(String(20), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    #: Lower-cased, accent-free copies for search and duplicate matching.
    given_name_norm: Mapped[str] = mapped_column(String(100))
    family_name_norm: Mapped[str] = mapped_column(String(100))
    preferred_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex_at_birth: Mapped[str] = mapped_column(String(10))
    gender_identity: Mapped[str | None] = mapped_column(String(60))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    #: Two-letter USPS code of the state the patient lives in.
    state: Mapped[str | None] = mapped_column(String(2), index=True)
    postal_code: Mapped[str | None] = mapped_column(String(10))
    #: E.164 form, e.g. +15555550123.
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    #: BCP 47 language tag, e.g. ``en`` or ``es``.
    language: Mapped[str] = mapped_column(String(20), default="en")
    preferred_channel: Mapped[str] = mapped_column(String(10), default=ContactChannel.EMAIL.value)
    allow_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_email: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_phone: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Set when this registration was merged into another record (the survivor, always an active
    #: record: chains are flattened). A merged record is kept, read-only, for history and old MRNs.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"), index=True)
    merged_at: Mapped[datetime | None]
    #: Someone asked and the patient has no known allergies: who said so (an actor label) and when.
    #: Both None means no one has said; recording an allergy clears them
    #: (:mod:`careplane.kernel.patients.allergies.service`, which says why this is not an allergy row).
    no_known_allergies_at: Mapped[datetime | None]
    no_known_allergies_by: Mapped[str | None] = mapped_column(String(254))

    emergency_contacts: Mapped[list[EmergencyContact]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="EmergencyContact.name"
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="Consent.granted_at"
    )

    @property
    def active(self) -> bool:
        """False once merged into another record (FHIR ``Patient.active``)."""
        return self.merged_into_id is None

    @property
    def replaced_by(self) -> uuid.UUID | None:
        """The record that replaced this one (FHIR ``Patient.link`` of type ``replaced-by``)."""
        return self.merged_into_id

    @property
    def display_name(self) -> str:
        first = self.preferred_name or self.given_name
        return f"{first} {self.family_name}"

    @property
    def legal_name(self) -> str:
        parts = [self.given_name, self.middle_name, self.family_name]
        return " ".join(p for p in parts if p)


class EmergencyContact(IdMixin, Base):
    __tablename__ = "patient_emergency_contacts"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    relationship_to_patient: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20))

    patient: Mapped[Patient] = relationship(back_populates="emergency_contacts")


class Consent(IdMixin, Base):
    __tablename__ = "patient_consents"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    #: The version of the consent text the patient agreed to.
    version: Mapped[str] = mapped_column(String(20), default="2026-01")
    granted_at: Mapped[datetime] = mapped_column(default=clock.now)
    revoked_at: Mapped[datetime | None]
    recorded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    patient: Mapped[Patient] = relationship(back_populates="consents")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class PossibleDuplicate(IdMixin, Base):
    """A pair of registrations that may be the same person, waiting for a person to decide."""

    __tablename__ = "patient_possible_duplicates"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    other_patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text)
    found_at: Mapped[datetime] = mapped_column(default=clock.now)
    #: ``open`` until someone decides: ``not_duplicate`` or ``merged``; ``superseded`` when one of the
    #: two was merged into a third record that already had a pair with the other.
    status: Mapped[str] = mapped_column(String(20), default="open")
