"""The allergy list's table and its code values (FHIR R4 AllergyIntolerance value sets)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from careplane.kernel import clock
from careplane.kernel.db import Base, IdMixin

SUBSTANCE_MAX = 120
REACTION_MAX = 200


class AllergyCategory(StrEnum):
    """FHIR ``allergy-intolerance-category``."""

    MEDICATION = "medication"
    FOOD = "food"
    ENVIRONMENT = "environment"
    BIOLOGIC = "biologic"


class AllergyCriticality(StrEnum):
    """FHIR ``allergy-intolerance-criticality``: the potential for a serious reaction."""

    LOW = "low"
    HIGH = "high"
    UNABLE_TO_ASSESS = "unable-to-assess"


class AllergyStatus(StrEnum):
    """Whether the entry stands. ``entered-in-error`` is final: the entry was never true, and is
    kept (not deleted) so that what someone saw and acted on can still be traced."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    ENTERED_IN_ERROR = "entered-in-error"


class AllergySource(StrEnum):
    """Who said so: the patient themself (portal, intake), or a clinician who assessed it."""

    PATIENT_REPORTED = "patient-reported"
    CLINICIAN = "clinician"


class PatientAllergy(IdMixin, Base):
    """One substance the patient reacts to, as the patient or clinician says it ("Penicillin").

    The substance is free text for now (no RxNorm or SNOMED code yet): what matters first is that
    every clinician sees what the patient said. ``substance_key`` is its case- and space-folded form,
    which the one-active-entry-per-substance rule compares."""

    __tablename__ = "patient_allergies"
    __table_args__ = (Index("ix_patient_allergies_patient_status", "patient_id", "status"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    substance: Mapped[str] = mapped_column(String(SUBSTANCE_MAX))
    substance_key: Mapped[str] = mapped_column(String(SUBSTANCE_MAX))
    category: Mapped[str] = mapped_column(String(20))
    reaction: Mapped[str | None] = mapped_column(String(REACTION_MAX))
    criticality: Mapped[str] = mapped_column(String(20), default=AllergyCriticality.UNABLE_TO_ASSESS.value)
    status: Mapped[str] = mapped_column(String(20), default=AllergyStatus.ACTIVE.value)
    source: Mapped[str] = mapped_column(String(20))
    #: The actor's label (an e-mail address, or ``system:<name>``), as the audit log names them.
    recorded_by: Mapped[str] = mapped_column(String(254))
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    #: Who last changed the status, and when (None while it is as recorded).
    status_changed_by: Mapped[str | None] = mapped_column(String(254))
    status_changed_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.status == AllergyStatus.ACTIVE.value
